import { PUT_EVENTS_TIMEOUTS, configuredEventBridgeEndpoint, createEventBridgeClient, eventBridgeClientConfig, isLoopbackUrl } from '../../sdk/eventbridge-client';

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
  it('reads the endpoint from AWS_ENDPOINT_URL_EVENTBRIDGE first, then AWS_ENDPOINT_URL', () => {
    expect(configuredEventBridgeEndpoint({ AWS_ENDPOINT_URL_EVENTBRIDGE: 'http://127.0.0.1:4010', AWS_ENDPOINT_URL: 'http://x' })).toBe('http://127.0.0.1:4010');
    expect(configuredEventBridgeEndpoint({ AWS_ENDPOINT_URL: 'http://x' })).toBe('http://x');
  });

  it('makes one attempt per call and, for a local endpoint, works without AWS region or credentials', async () => {
    const client = createEventBridgeClient({}, { AWS_ENDPOINT_URL_EVENTBRIDGE: 'http://127.0.0.1:4010' });
    expect(await client.config.maxAttempts()).toBe(1);
    expect(await client.config.region()).toBe('us-east-1');
    const credentials = await client.config.credentials();
    expect(credentials.accessKeyId).toBeTruthy();
  });

  it('adds no endpoint, region or placeholder credentials for a remote endpoint', () => {
    const onlyTheLimits = { maxAttempts: 1, requestHandler: { ...PUT_EVENTS_TIMEOUTS } };
    expect(eventBridgeClientConfig({ region: 'eu-west-1' }, {})).toEqual({ ...onlyTheLimits, region: 'eu-west-1' });
    expect(eventBridgeClientConfig({}, { AWS_ENDPOINT_URL_EVENTBRIDGE: 'https://events.example.com' })).toEqual(onlyTheLimits);
  });
});
