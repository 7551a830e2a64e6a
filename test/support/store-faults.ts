import { AddressInfo, Server, Socket, createServer } from 'node:net';
import { DynamoDBClient, ProvisionedThroughputExceededException } from '@aws-sdk/client-dynamodb';
import { RequestPathSdkPolicy, requestPathClientConfig } from '../../lambdas/runtime/runtime-config';

/** What happens to a call the fault picks. */
export type StoreFault = 'throttle' | 'timeout';

/** Which calls a fault applies to: a command on a table. */
export interface FaultTarget {
  readonly table: string;
  readonly command: 'UpdateItemCommand' | 'GetItemCommand';
}

/**
 * A TCP server that accepts connections and never answers: a DynamoDB endpoint that hangs, so the
 * SDK's own request timeout is what ends the call.
 */
export class BlackHole {
  private readonly server: Server = createServer((socket) => this.sockets.add(socket));
  private readonly sockets = new Set<Socket>();

  public async start(): Promise<number> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', () => { resolve(); }));
    return (this.server.address() as AddressInfo).port;
  }

  public async stop(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => { resolve(); }));
  }
}

/**
 * A DynamoDB client configured as on the request path (timeouts, bounded attempts), on the same
 * dynalite as `endpointClient`, whose calls can be made to fail as DynamoDB fails:
 * - `throttle` throws the SDK's ProvisionedThroughputExceededException, with DynamoDB's message
 *   for a hot partition key on an on-demand table; thrown before the SDK's retry step, so that
 *   hundreds of calls stay fast (the SDK would retry once with back-off, then throw the same);
 * - `timeout` sends the request to a {@link BlackHole}, so the SDK's request timeout fires, on
 *   every attempt.
 */
export async function faultyClient(endpointClient: DynamoDBClient, policy: RequestPathSdkPolicy, blackHolePort: number) {
  const endpoint = await endpointClient.config.endpoint!();
  const client = new DynamoDBClient({
    ...requestPathClientConfig(policy),
    endpoint: `${endpoint.protocol}//${endpoint.hostname}:${endpoint.port}${endpoint.path}`,
    region: 'us-east-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
  const faults = new Map<string, StoreFault>();
  const keyOf = (target: FaultTarget) => `${target.table}|${target.command}`;
  const counts = { throttled: 0, timedOut: 0 };
  const faultOf = (commandName: string | undefined, input: unknown) => faults.get(`${(input as { TableName?: string }).TableName}|${commandName}`);

  client.middlewareStack.add(
    (next, context) => async (args) => {
      if (faultOf(context.commandName, args.input) === 'throttle') {
        counts.throttled++;
        throw new ProvisionedThroughputExceededException({ message: 'Throughput exceeds the current capacity of your table or index.', $metadata: { httpStatusCode: 400 } });
      }
      return next(args);
    },
    { step: 'initialize', name: 'injectThrottling' },
  );
  client.middlewareStack.add(
    (next, context) => async (args) => {
      if (faultOf(context.commandName, args.input) === 'timeout') {
        counts.timedOut++;
        const request = args.request as { hostname: string; port?: number };
        request.hostname = '127.0.0.1';
        request.port = blackHolePort;
      }
      return next(args);
    },
    // Inside the SDK's retry step: every attempt goes to the black hole, and is counted.
    { step: 'deserialize', name: 'injectTimeout' },
  );
  return {
    client,
    counts,
    fail: (target: FaultTarget, fault: StoreFault) => faults.set(keyOf(target), fault),
    heal: () => { faults.clear(); },
  };
}
