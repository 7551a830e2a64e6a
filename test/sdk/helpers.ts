import { EventBridgeClient, PutEventsCommand, PutEventsCommandInput } from '@aws-sdk/client-eventbridge';
import { AwsClientStub, mockClient } from 'aws-sdk-client-mock';
import { UsageEventDetail } from '../../contracts/usage-event';
import { UsagePublisher, UsagePublisherOptions } from '../../sdk/usage-publisher';

/** A publisher whose client is mocked to accept everything, and a way to read what it sent. */
export function capturingPublisher(options: Partial<UsagePublisherOptions> = {}): {
  publisher: UsagePublisher;
  sent: () => UsageEventDetail[];
  mock: AwsClientStub<EventBridgeClient>;
} {
  const mock = mockClient(EventBridgeClient);
  mock.on(PutEventsCommand).callsFake((input: PutEventsCommandInput) => ({ FailedEntryCount: 0, Entries: input.Entries!.map(() => ({ EventId: 'ok' })) }));
  const publisher = new UsagePublisher({
    eventBusName: 'usage-bus',
    source: 'my-applications',
    client: new EventBridgeClient({ region: 'us-east-1', credentials: { accessKeyId: 't', secretAccessKey: 't' } }),
    flushOnExitSignals: false,
    defaults: { service: 'orders' },
    ...options,
  });
  const sent = () =>
    mock
      .commandCalls(PutEventsCommand)
      .flatMap((call) => (call.args[0].input).Entries!.map((e) => JSON.parse(e.Detail!) as UsageEventDetail));
  return { publisher, sent, mock };
}
