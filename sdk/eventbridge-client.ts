import { EventBridgeClient, EventBridgeClientConfig } from '@aws-sdk/client-eventbridge';
import { defaultProvider } from '@aws-sdk/credential-provider-node';

/**
 * Time limits on each call: without them a bus that accepts connections but never answers would
 * hold the publisher's requests for ever. A PutEvents call normally answers in tens of ms.
 */
export const PUT_EVENTS_TIMEOUTS = { connectionTimeout: 2000, requestTimeout: 5000, throwOnRequestTimeout: true } as const;

/** Credentials the local bus accepts; it does not check signatures. */
const LOCAL_CREDENTIALS = { accessKeyId: 'local', secretAccessKey: 'local' } as const;

/** The EventBridge endpoint the SDK will use from the environment, if one is configured. */
export function configuredEventBridgeEndpoint(env: NodeJS.ProcessEnv = process.env): string | undefined {
  return env.AWS_ENDPOINT_URL_EVENTBRIDGE ?? env.AWS_ENDPOINT_URL;
}

/** Whether a URL points at this machine (127.0.0.0/8, ::1 or localhost). */
export function isLoopbackUrl(url: string): boolean {
  try {
    const host = new URL(url).hostname.replace(/^\[|\]$/g, '');
    return host === 'localhost' || host === '::1' || /^127(\.\d{1,3}){3}$/.test(host);
  } catch {
    return false;
  }
}

/**
 * The configuration of the publisher's EventBridge client: one attempt per call (the publisher
 * retries per entry) with connection and request timeouts. When `AWS_ENDPOINT_URL_EVENTBRIDGE`
 * points at the local stack, a developer without AWS credentials or region still gets a working
 * client: the real SDK, signing with placeholder credentials that the local bus ignores. Against
 * AWS nothing is relaxed.
 */
export function eventBridgeClientConfig(config: EventBridgeClientConfig = {}, env: NodeJS.ProcessEnv = process.env): EventBridgeClientConfig {
  const endpoint = config.endpoint === undefined ? configuredEventBridgeEndpoint(env) : undefined;
  const local = endpoint !== undefined && isLoopbackUrl(endpoint);
  const localDefaults: EventBridgeClientConfig = local
    ? {
        endpoint,
        region: env.AWS_REGION ?? env.AWS_DEFAULT_REGION ?? 'us-east-1',
        credentials: async () => {
          try {
            return await defaultProvider()();
          } catch {
            return LOCAL_CREDENTIALS;
          }
        },
      }
    : {};
  return { maxAttempts: 1, requestHandler: { ...PUT_EVENTS_TIMEOUTS }, ...localDefaults, ...config };
}

/** An EventBridge client configured by {@link eventBridgeClientConfig}. */
export function createEventBridgeClient(config: EventBridgeClientConfig = {}, env: NodeJS.ProcessEnv = process.env): EventBridgeClient {
  return new EventBridgeClient(eventBridgeClientConfig(config, env));
}
