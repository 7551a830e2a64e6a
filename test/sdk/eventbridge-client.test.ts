import { configuredEventBridgeEndpoint, createEventBridgeClient, isLoopbackUrl } from '../../sdk/eventbridge-client';

describe('Function: isLoopbackUrl', () => {
  it.each([
    ['http://127.0.0.1:4010', true],
    ['http://localhost:4010', true],
    ['http://[::1]:4010', true],
    ['https://events.eu-west-1.amazonaws.com', false],
    ['http://10.0.0.5:4010', false],
    ['not a url', false],
  ])('%s → %s', (url, expected) => {
    expect(isLoopbackUrl(url)).toBe(expected);
  });
});

describe('Function: createEventBridgeClient', () => {
  it('reads the endpoint from AWS_ENDPOINT_URL_EVENTBRIDGE first', () => {
    expect(configuredEventBridgeEndpoint({ AWS_ENDPOINT_URL_EVENTBRIDGE: 'http://127.0.0.1:4010', AWS_ENDPOINT_URL: 'http://x' })).toBe('http://127.0.0.1:4010');
  });

  it('makes one attempt per call and, for a local endpoint, works without AWS region or credentials', async () => {
    const client = createEventBridgeClient({}, { AWS_ENDPOINT_URL_EVENTBRIDGE: 'http://127.0.0.1:4010' });
    expect(await client.config.maxAttempts()).toBe(1);
    expect(await client.config.region()).toBe('us-east-1');
    const credentials = await client.config.credentials();
    expect(credentials.accessKeyId).toBeTruthy();
  });

  it('relaxes nothing for a remote endpoint', async () => {
    const client = createEventBridgeClient({ region: 'eu-west-1' }, {});
    expect(await client.config.region()).toBe('eu-west-1');
  });
});
