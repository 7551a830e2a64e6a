import { EventBridgeClient, PutEventsCommand, PutEventsCommandInput } from '@aws-sdk/client-eventbridge';
import { AwsClientStub, mockClient } from 'aws-sdk-client-mock';
import { DEFAULT_EVENT_SOURCE, UsageEventDetail } from '../../contracts/usage-event';
import { UsagePublisher, UsagePublisherOptions } from '../../sdk/usage-publisher';

/** A publisher whose client is mocked to accept everything, a way to read what it sent, and its teardown. */
export interface CapturingPublisher {
  readonly publisher: UsagePublisher;
  /** The usage events sent so far, in order. */
  readonly sent: () => UsageEventDetail[];
  readonly mock: AwsClientStub<EventBridgeClient>;
  /** Closes the publisher and restores the EventBridge client. */
  readonly dispose: () => Promise<void>;
}

/** A capturing publisher; only one may exist at a time (the client mock is global): dispose of it after each test. */
export function capturingPublisher(options: Partial<UsagePublisherOptions> = {}): CapturingPublisher {
  const mock = mockClient(EventBridgeClient);
  mock.on(PutEventsCommand).callsFake((input: PutEventsCommandInput) => ({ FailedEntryCount: 0, Entries: input.Entries!.map(() => ({ EventId: 'ok' })) }));
  const publisher = new UsagePublisher({
    eventBusName: 'usage-bus',
    source: DEFAULT_EVENT_SOURCE,
    client: new EventBridgeClient({ region: 'us-east-1', credentials: { accessKeyId: 't', secretAccessKey: 't' } }),
    flushOnExitSignals: false,
    defaults: { service: 'orders' },
    ...options,
  });
  const sent = () =>
    mock
      .commandCalls(PutEventsCommand)
      .flatMap((call) => call.args[0].input.Entries!.map((e) => JSON.parse(e.Detail!) as UsageEventDetail));
  const dispose = async () => {
    await publisher.close();
    mock.restore();
  };
  return { publisher, sent, mock, dispose };
}

/**
 * Waits, on real timers, until `condition` holds: for work done on real sockets or files, which
 * fake timers cannot drive. Fails after `timeoutMs` with `what` and the last value it saw.
 */
export async function waitUntil(condition: () => boolean, what: string, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}
