import { PutEventsRequestEntry } from '@aws-sdk/client-eventbridge';
import { createEventBridgeClient, eventBridgeClientConfig } from '../../sdk/eventbridge-client';
import { HttpPutEventsTransport, SdkPutEventsTransport, WorkerPutEventsTransport } from '../../sdk/put-events-transport';
import { serviceError } from '../../sdk/signed-put-events-sender';
import { LoopbackPutEventsServer } from '../support/put-events-server';

const credentials = { accessKeyId: 'AKIDLOCALTEST', secretAccessKey: 'local-secret' };
const entries: PutEventsRequestEntry[] = [1, 2, 3].map((i) => ({
  EventBusName: 'usage-bus',
  Source: 'my-applications',
  DetailType: 'api-usage-event',
  Detail: JSON.stringify({ eventId: `evt-${i}-0000`, tenantId: 'acmé' }),
}));

describe('Class: HttpPutEventsTransport', () => {
  let server: LoopbackPutEventsServer;
  let endpoint: string;

  beforeEach(async () => {
    server = new LoopbackPutEventsServer({ verifyCredentials: credentials });
    endpoint = await server.start();
  });
  afterEach(() => server.stop());

  it('sends requests whose SigV4 signature the SDK signer verifies', async () => {
    // Prepare
    const transport = new HttpPutEventsTransport(eventBridgeClientConfig({ endpoint, region: 'eu-west-1', credentials }, {}), 2);
    // Act
    const results = await transport.putEvents(entries);
    await transport.close();
    // Assess
    expect(server.signatureFailures).toBe(0);
    expect(results).toHaveLength(3);
    expect([...server.accepted.keys()]).toEqual(['evt-1-0000', 'evt-2-0000', 'evt-3-0000']);
    expect(server.lastHeaders['x-amz-target']).toBe('AWSEvents.PutEvents');
    expect(server.lastHeaders['content-type']).toBe('application/x-amz-json-1.1');
  });

  it('sends from its own thread, signed the same way', async () => {
    const transport = new WorkerPutEventsTransport(eventBridgeClientConfig({ endpoint, region: 'eu-west-1', credentials }, {}), 2);
    const wrong = new WorkerPutEventsTransport(eventBridgeClientConfig({ endpoint, region: 'eu-west-1', credentials: { ...credentials, secretAccessKey: 'wrong' } }, {}), 1);
    const results = await transport.putEvents(entries);
    await expect(wrong.putEvents(entries)).rejects.toMatchObject({ name: 'InvalidSignatureException', $metadata: { httpStatusCode: 403 } });
    await Promise.all([transport.close(), wrong.close()]);
    expect(results).toHaveLength(3);
    expect(server.signatureFailures).toBe(1);
    expect(server.accepted.size).toBe(3);
  });

  it('is refused when its credentials are wrong, as AWS would refuse it', async () => {
    const transport = new HttpPutEventsTransport(eventBridgeClientConfig({ endpoint, region: 'eu-west-1', credentials: { ...credentials, secretAccessKey: 'wrong' } }, {}), 1);
    await expect(transport.putEvents(entries)).rejects.toMatchObject({ name: 'InvalidSignatureException', $metadata: { httpStatusCode: 403 } });
    await transport.close();
    expect(server.signatureFailures).toBe(1);
  });

  it('sends the request the SDK transport sends: same target, content type, host and accepted signature', async () => {
    // Prepare
    const config = { endpoint, region: 'eu-west-1', credentials };
    const sdk = new SdkPutEventsTransport(createEventBridgeClient(config, {}));
    const lean = new HttpPutEventsTransport(eventBridgeClientConfig(config, {}), 1);
    const headersOf = ({ host, 'content-type': contentType, 'x-amz-target': target }: typeof server.lastHeaders) => ({ host, contentType, target });
    // Act
    await sdk.putEvents(entries);
    const sdkHeaders = headersOf(server.lastHeaders);
    await lean.putEvents(entries);
    const leanHeaders = headersOf(server.lastHeaders);
    await lean.close();
    // Assess
    expect(leanHeaders).toEqual(sdkHeaders);
    expect(server.signatureFailures).toBe(0);
    expect([...server.accepted.values()]).toEqual([2, 2, 2]);
  });

  it('takes the endpoint and signing region the SDK resolves', async () => {
    const remote = new HttpPutEventsTransport(eventBridgeClientConfig({ region: 'eu-west-1', credentials }, {}), 1);
    await expect(remote.describeEndpoint()).resolves.toMatchObject({ origin: 'https://events.eu-west-1.amazonaws.com', path: '/', signingRegion: 'eu-west-1', signingService: 'events' });
    await remote.close();
    const local = new HttpPutEventsTransport(eventBridgeClientConfig({}, { AWS_ENDPOINT_URL_EVENTBRIDGE: endpoint }), 1);
    await expect(local.describeEndpoint()).resolves.toMatchObject({ origin: endpoint, signingRegion: 'us-east-1' });
    await local.close();
  });
});

describe('Function: serviceError', () => {
  it('names the error like the SDK does, from the header or the body', () => {
    expect(serviceError(400, 'ThrottlingException:http://internal', '{"message":"Rate exceeded"}')).toMatchObject({ name: 'ThrottlingException', message: 'Rate exceeded', $metadata: { httpStatusCode: 400 } });
    expect(serviceError(400, undefined, '{"__type":"com.amazon.coral.validate#ValidationException","Message":"bad"}')).toMatchObject({ name: 'ValidationException', message: 'bad' });
    expect(serviceError(502, undefined, '<html>Bad gateway</html>')).toMatchObject({ name: 'InternalFailure', message: 'HTTP 502' });
  });
});
