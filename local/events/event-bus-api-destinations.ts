import { randomUUID } from 'node:crypto';
import { AwsJsonError, NAME_PATTERN, RequestBody, isRecord, optionalInteger, optionalObject, optionalString, requiredString, validationError } from './event-bus-requests';

/**
 * Connections and API destinations, the AWS way of sending a rule's events to an HTTP endpoint
 * (https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_CreateConnection.html,
 * https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_CreateApiDestination.html).
 * A connection's auth parameters are kept (with their secrets) but never answered back: Describe
 * returns only their non-secret parts, as the service does. Locally an API destination's endpoint
 * must be plain HTTP on a loopback address, so the local bus cannot be used to reach the network.
 */

export const AUTHORIZATION_TYPES = ['BASIC', 'OAUTH_CLIENT_CREDENTIALS', 'API_KEY'] as const;
export type AuthorizationType = (typeof AUTHORIZATION_TYPES)[number];

/** "Valid Values: POST | GET | HEAD | OPTIONS | PUT | PATCH | DELETE" (CreateApiDestination). */
export const API_DESTINATION_METHODS = ['POST', 'GET', 'HEAD', 'OPTIONS', 'PUT', 'PATCH', 'DELETE'] as const;

export interface StoredConnection {
  readonly name: string;
  readonly arn: string;
  readonly description?: string;
  readonly authorizationType: AuthorizationType;
  /** The auth parameters as given, secrets included: only ever sent to the connection's own endpoints. */
  readonly authParameters: RequestBody;
  /** Epoch seconds. */
  readonly creationTime: number;
}

export interface StoredApiDestination {
  readonly name: string;
  readonly arn: string;
  readonly description?: string;
  readonly connectionArn: string;
  readonly invocationEndpoint: string;
  readonly httpMethod: string;
  readonly invocationRateLimitPerSecond?: number;
  readonly creationTime: number;
}

/** Where ARNs are minted: the bus's region and account. */
export interface ArnScope {
  readonly region: string;
  readonly account: string;
}

const nameRule = { field: 'name', max: 64, pattern: NAME_PATTERN } as const;
const descriptionRule = { field: 'description', max: 512, min: 0 } as const;
const nowSeconds = () => Math.floor(Date.now() / 1000);

/** The parameters an authorization type needs, named as in CreateConnection's AuthParameters. */
const REQUIRED_AUTH: Record<AuthorizationType, { readonly member: string; readonly fields: readonly string[] }> = {
  API_KEY: { member: 'ApiKeyAuthParameters', fields: ['ApiKeyName', 'ApiKeyValue'] },
  BASIC: { member: 'BasicAuthParameters', fields: ['Username', 'Password'] },
  OAUTH_CLIENT_CREDENTIALS: { member: 'OAuthParameters', fields: ['AuthorizationEndpoint', 'HttpMethod', 'ClientParameters'] },
};

/** A connection from a CreateConnection request, or the service's error for it. */
export function connectionFrom(body: RequestBody, scope: ArnScope): StoredConnection {
  const name = requiredString(body, 'Name', nameRule);
  const description = optionalString(body, 'Description', descriptionRule);
  const authorizationType = requiredString(body, 'AuthorizationType', { field: 'authorizationType', max: 64, values: AUTHORIZATION_TYPES }) as AuthorizationType;
  const authParameters = optionalObject(body, 'AuthParameters');
  if (!authParameters) throw validationError("1 validation error detected: Value null at 'authParameters' failed to satisfy constraint: Member must not be null");
  const { member, fields } = REQUIRED_AUTH[authorizationType];
  const given = authParameters[member];
  const missing = isRecord(given) ? fields.filter((f) => given[f] === undefined || given[f] === null) : fields;
  if (missing.length > 0) throw validationError(`AuthorizationType ${authorizationType} needs AuthParameters.${member} with ${missing.join(', ')}.`);
  const arn = `arn:aws:events:${scope.region}:${scope.account}:connection/${name}/${randomUUID()}`;
  return { name, arn, authorizationType, authParameters, creationTime: nowSeconds(), ...(description === undefined ? {} : { description }) };
}

/**
 * An API destination from a CreateApiDestination request. The service requires HTTPS; locally the
 * endpoint must instead be HTTP on 127.0.0.1, localhost or [::1], and nothing else is accepted.
 */
export function apiDestinationFrom(body: RequestBody, scope: ArnScope, connections: ReadonlyMap<string, StoredConnection>): StoredApiDestination {
  const name = requiredString(body, 'Name', nameRule);
  const description = optionalString(body, 'Description', descriptionRule);
  const connectionArn = requiredString(body, 'ConnectionArn', { field: 'connectionArn', max: 1600 });
  const invocationEndpoint = requiredString(body, 'InvocationEndpoint', { field: 'invocationEndpoint', max: 2048 });
  const httpMethod = requiredString(body, 'HttpMethod', { field: 'httpMethod', max: 16, values: API_DESTINATION_METHODS });
  const invocationRateLimitPerSecond = optionalInteger(body, 'InvocationRateLimitPerSecond', 'invocationRateLimitPerSecond', 1, 300);
  if (![...connections.values()].some((c) => c.arn === connectionArn)) throw new AwsJsonError('ResourceNotFoundException', `Connection '${connectionArn}' does not exist.`);
  checkLoopbackEndpoint(invocationEndpoint);
  return {
    name,
    arn: `arn:aws:events:${scope.region}:${scope.account}:api-destination/${name}/${randomUUID()}`,
    connectionArn,
    invocationEndpoint,
    httpMethod,
    creationTime: nowSeconds(),
    ...(description === undefined ? {} : { description }),
    ...(invocationRateLimitPerSecond === undefined ? {} : { invocationRateLimitPerSecond }),
  };
}

const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]']);

/** Refuses an endpoint the local bus must not call: anything but plain HTTP to a loopback name. */
export function checkLoopbackEndpoint(endpoint: string): void {
  let url: URL;
  try {
    url = new URL(endpoint);
  } catch {
    throw validationError(`InvocationEndpoint '${endpoint}' is not a URL.`);
  }
  if (url.protocol !== 'http:' || !LOOPBACK_HOSTS.has(url.hostname.toLowerCase()) || url.username || url.password) {
    throw validationError(
      `InvocationEndpoint '${endpoint}' is not allowed on the local bus: it calls only http://127.0.0.1, http://localhost or http://[::1] (any port), so that it cannot reach the network. ` +
        'In AWS the endpoint must be HTTPS.',
    );
  }
}

/** DescribeConnection's answer: the auth parameters without their secrets (key values, passwords, client secrets, secret HTTP parameters). */
export function describeConnection(connection: StoredConnection): Record<string, unknown> {
  return {
    ConnectionArn: connection.arn,
    Name: connection.name,
    ...(connection.description === undefined ? {} : { Description: connection.description }),
    ConnectionState: 'AUTHORIZED',
    AuthorizationType: connection.authorizationType,
    AuthParameters: withoutSecrets(connection.authParameters),
    CreationTime: connection.creationTime,
    LastModifiedTime: connection.creationTime,
    LastAuthorizedTime: connection.creationTime,
  };
}

/** Members holding a secret, by the names CreateConnection gives them. */
const SECRET_MEMBERS = new Set(['ApiKeyValue', 'Password', 'ClientSecret']);

function withoutSecrets(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withoutSecrets);
  if (!isRecord(value)) return value;
  const secretValue = value.IsValueSecret === true;
  return Object.fromEntries(
    Object.entries(value)
      .filter(([key]) => !SECRET_MEMBERS.has(key) && !(secretValue && key === 'Value'))
      .map(([key, inner]) => [key, withoutSecrets(inner)]),
  );
}

export function describeApiDestination(destination: StoredApiDestination): Record<string, unknown> {
  return {
    ApiDestinationArn: destination.arn,
    Name: destination.name,
    ...(destination.description === undefined ? {} : { Description: destination.description }),
    ApiDestinationState: 'ACTIVE',
    ConnectionArn: destination.connectionArn,
    InvocationEndpoint: destination.invocationEndpoint,
    HttpMethod: destination.httpMethod,
    ...(destination.invocationRateLimitPerSecond === undefined ? {} : { InvocationRateLimitPerSecond: destination.invocationRateLimitPerSecond }),
    CreationTime: destination.creationTime,
    LastModifiedTime: destination.creationTime,
  };
}

/** Key/value parameters as CreateConnection and PutTargets give them (`[{Key, Value}]` or `{key: value}`). */
function parameterPairs(value: unknown): [string, string][] {
  if (Array.isArray(value)) return value.filter(isRecord).map((p) => [String(p.Key), String(p.Value)]);
  if (isRecord(value)) return Object.entries(value).map(([k, v]) => [k, String(v)]);
  return [];
}

/** The headers and query parameters a connection adds to each invocation (its auth, then its invocation HTTP parameters). */
export function connectionRequestParts(connection: StoredConnection): { headers: Record<string, string>; query: [string, string][] } {
  const auth = connection.authParameters;
  const headers: Record<string, string> = {};
  const apiKey = auth.ApiKeyAuthParameters;
  if (connection.authorizationType === 'API_KEY' && isRecord(apiKey)) headers[String(apiKey.ApiKeyName).toLowerCase()] = String(apiKey.ApiKeyValue);
  const basic = auth.BasicAuthParameters;
  if (connection.authorizationType === 'BASIC' && isRecord(basic)) {
    headers.authorization = `Basic ${Buffer.from(`${String(basic.Username)}:${String(basic.Password)}`).toString('base64')}`;
  }
  const invocation = isRecord(auth.InvocationHttpParameters) ? auth.InvocationHttpParameters : {};
  for (const [key, value] of parameterPairs(invocation.HeaderParameters)) headers[key.toLowerCase()] = value;
  return { headers, query: parameterPairs(invocation.QueryStringParameters) };
}

/** A target's own HttpParameters: header and query parameters, and the values of the endpoint's `*` path wildcards. */
export function targetRequestParts(httpParameters: unknown): { headers: Record<string, string>; query: [string, string][]; pathValues: string[] } {
  const parameters = isRecord(httpParameters) ? httpParameters : {};
  const headers = Object.fromEntries(parameterPairs(parameters.HeaderParameters).map(([k, v]) => [k.toLowerCase(), v]));
  const pathValues = Array.isArray(parameters.PathParameterValues) ? parameters.PathParameterValues.map(String) : [];
  return { headers, query: parameterPairs(parameters.QueryStringParameters), pathValues };
}
