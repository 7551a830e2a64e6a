/**
 * The delivery pipeline's configuration (issue 17): one typed, validated place that names the
 * source, the tools account and each environment the usage tracker is deployed to, with the
 * context overrides of each. Read from the `deliveryPipeline` context object (cdk.json or `-c`);
 * without it the app synthesizes exactly the single stack it always has.
 *
 * @example cdk.json
 * "deliveryPipeline": {
 *   "connectionArn": "arn:aws:codeconnections:eu-west-1:111111111111:connection/aEXAMPLE-8aad-4d5d-8878-dfcab0bc441f",
 *   "repository": "my-org/api-usage-tracker",
 *   "branch": "main",
 *   "account": "111111111111",
 *   "region": "eu-west-1",
 *   "environments": [
 *     { "name": "staging", "account": "222222222222", "region": "eu-west-1", "context": { "alarmEmail": "ops@example.com" } },
 *     { "name": "production", "account": "333333333333", "region": "eu-west-1", "approval": true,
 *       "context": { "alarmEmail": "oncall@example.com", "glueSchedule": "cron(10 * * * ? *)" } }
 *   ]
 * }
 */

import { Node, RootConstruct } from 'constructs';
import { CONTEXT_PARAMETERS, readUsageTrackerConfig } from './stack-config';

/** The context key holding {@link DeliveryPipelineConfig}. */
export const DELIVERY_PIPELINE_CONTEXT_KEY = 'deliveryPipeline';

/** One environment: where a stage deploys, and the usage tracker context it deploys with. */
export interface DeliveryEnvironment {
  /** The stage's name: letters, digits and dashes, unique, e.g. `staging`, `production`. */
  readonly name: string;
  /** 12 digits. */
  readonly account: string;
  /** e.g. `eu-west-1`. */
  readonly region: string;
  /** Whether a manual approval comes before this stage's deployment (production). @default false */
  readonly approval: boolean;
  /**
   * Context overrides for this environment's stack: any of the stack's own context keys (the
   * README's table, e.g. `alarmEmail`, `glueSchedule`, `tiers`), validated as the single stack
   * validates them. Keys the stack does not read are refused.
   */
  readonly context: Readonly<Record<string, unknown>>;
}

export interface DeliveryPipelineConfig {
  /** A CodeConnections (formerly CodeStar Connections) connection ARN, available in the tools account. */
  readonly connectionArn: string;
  /** `owner/name` of the repository the connection reaches. */
  readonly repository: string;
  /** The branch whose pushes run the pipeline. */
  readonly branch: string;
  /** The tools account and region the pipeline lives in. */
  readonly account: string;
  readonly region: string;
  /** In deployment order; at least one; names unique. */
  readonly environments: readonly DeliveryEnvironment[];
}

/** Thrown when the `deliveryPipeline` context cannot be used; the message names the field (and the environment). */
export class DeliveryPipelineConfigError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'DeliveryPipelineConfigError';
  }
}

const ACCOUNT = /^\d{12}$/;
/** e.g. eu-west-1, us-gov-west-1, ap-southeast-4. */
const REGION = /^[a-z]{2}(-[a-z]+)+-\d$/;
/**
 * A CodeConnections connection ARN. Connections created since the rename have the
 * `codeconnections` service prefix; older ones keep `codestar-connections`, which remains available:
 * https://docs.aws.amazon.com/dtconsole/latest/userguide/rename.html
 */
const CONNECTION_ARN = /^arn:aws[-a-z]*:(codeconnections|codestar-connections):[a-z]{2}(-[a-z]+)+-\d:\d{12}:connection\/[A-Za-z0-9-]+$/;
const REPOSITORY = /^[A-Za-z0-9_.-]+\/[A-Za-z0-9_.-]+$/;
const ENVIRONMENT_NAME = /^[A-Za-z][A-Za-z0-9-]{0,31}$/;

const TOP_LEVEL_KEYS = ['connectionArn', 'repository', 'branch', 'account', 'region', 'environments'] as const;
const ENVIRONMENT_KEYS = ['name', 'account', 'region', 'approval', 'context'] as const;

type Fields = Readonly<Record<string, unknown>>;

const isObject = (value: unknown): value is Fields => typeof value === 'object' && value !== null && !Array.isArray(value);

/** Refuses keys outside `known`, naming them and what is accepted. */
function refuseUnknownKeys(fields: Fields, known: readonly string[], where: string): void {
  const unknown = Object.keys(fields).filter((key) => !known.includes(key));
  if (unknown.length > 0) {
    throw new DeliveryPipelineConfigError(`${where} has unknown ${unknown.length === 1 ? 'key' : 'keys'} ${unknown.map((k) => `"${k}"`).join(', ')}; known: ${known.join(', ')}`);
  }
}

/** A string field matching `pattern`, trimmed. */
function matching(fields: Fields, key: string, where: string, pattern: RegExp, expected: string): string {
  const value = fields[key];
  if (typeof value !== 'string' || !pattern.test(value.trim())) throw new DeliveryPipelineConfigError(`${where}.${key} must be ${expected}; got ${JSON.stringify(value)}`);
  return value.trim();
}

/** The context object: JSON text as `-c deliveryPipeline='{...}'` gives it, or an object from cdk.json. */
function contextObject(raw: unknown): Fields {
  let value = raw;
  if (typeof raw === 'string') {
    try {
      value = JSON.parse(raw) as unknown;
    } catch (error) {
      throw new DeliveryPipelineConfigError(`${DELIVERY_PIPELINE_CONTEXT_KEY} must be a JSON object; got text that is not JSON (${(error as Error).message})`, { cause: error });
    }
  }
  if (!isObject(value)) throw new DeliveryPipelineConfigError(`${DELIVERY_PIPELINE_CONTEXT_KEY} must be an object; got ${JSON.stringify(value)}`);
  return value;
}

/**
 * An environment's context overrides: only the stack's own context keys, each value checked by
 * the stack's own validation (readUsageTrackerConfig) on a scratch construct tree that carries the
 * app's other context with the overrides on top, so the environment deploys exactly what passed.
 */
function environmentContext(fields: Fields, where: string, appContext: Fields): Readonly<Record<string, unknown>> {
  const value = fields.context ?? {};
  if (!isObject(value)) throw new DeliveryPipelineConfigError(`${where}.context must be an object of the stack's context keys; got ${JSON.stringify(value)}`);
  const known = CONTEXT_PARAMETERS.map((parameter) => parameter.key);
  refuseUnknownKeys(value, known, `${where}.context`);
  const scratch = new RootConstruct();
  for (const [key, contextValue] of Object.entries({ ...appContext, ...value })) scratch.node.setContext(key, contextValue);
  try {
    readUsageTrackerConfig(scratch.node);
  } catch (error) {
    throw new DeliveryPipelineConfigError(`${where}.context: ${(error as Error).message}`, { cause: error });
  }
  return { ...value };
}

function readEnvironment(raw: unknown, index: number, appContext: Fields): DeliveryEnvironment {
  const at = `${DELIVERY_PIPELINE_CONTEXT_KEY}.environments[${index}]`;
  if (!isObject(raw)) throw new DeliveryPipelineConfigError(`${at} must be an object with name, account, region, approval and context; got ${JSON.stringify(raw)}`);
  const name = matching(raw, 'name', at, ENVIRONMENT_NAME, 'letters, digits and dashes, starting with a letter, at most 32 characters');
  const where = `${at} (${name})`;
  refuseUnknownKeys(raw, ENVIRONMENT_KEYS, where);
  const approval = raw.approval ?? false;
  if (typeof approval !== 'boolean') throw new DeliveryPipelineConfigError(`${where}.approval must be true or false; got ${JSON.stringify(approval)}`);
  return {
    name,
    account: matching(raw, 'account', where, ACCOUNT, '12 digits'),
    region: matching(raw, 'region', where, REGION, 'a region such as eu-west-1'),
    approval,
    context: environmentContext(raw, where, appContext),
  };
}

function readEnvironments(raw: unknown, appContext: Fields): DeliveryEnvironment[] {
  const where = `${DELIVERY_PIPELINE_CONTEXT_KEY}.environments`;
  if (!Array.isArray(raw) || raw.length === 0) throw new DeliveryPipelineConfigError(`${where} must be a list of at least one environment; got ${JSON.stringify(raw)}`);
  const environments = raw.map((environment: unknown, index) => readEnvironment(environment, index, appContext));
  const seen = new Set<string>();
  environments.forEach((environment, index) => {
    // Stage names become construct ids and stack names: two alike would collide.
    if (seen.has(environment.name.toLowerCase())) {
      throw new DeliveryPipelineConfigError(`${where}[${index}] (${environment.name}).name must be unique (names are compared ignoring case); "${environment.name}" is used twice`);
    }
    seen.add(environment.name.toLowerCase());
  });
  return environments;
}

/**
 * Reads and validates the `deliveryPipeline` context; undefined when the key is absent (the app
 * then synthesizes the single stack). Every error names the field, and the environment by index
 * and name, e.g. `deliveryPipeline.environments[1] (production).account must be 12 digits; got "123"`.
 */
export function readDeliveryPipelineConfig(node: Node): DeliveryPipelineConfig | undefined {
  const raw: unknown = node.tryGetContext(DELIVERY_PIPELINE_CONTEXT_KEY);
  if (raw === undefined) return undefined;
  const fields = contextObject(raw);
  const where = DELIVERY_PIPELINE_CONTEXT_KEY;
  refuseUnknownKeys(fields, TOP_LEVEL_KEYS, where);
  const appContext = Object.fromEntries(Object.entries(node.getAllContext() as Fields).filter(([key]) => key !== DELIVERY_PIPELINE_CONTEXT_KEY));
  return {
    connectionArn: matching(fields, 'connectionArn', where, CONNECTION_ARN, 'a CodeConnections connection ARN, arn:aws:codeconnections:<region>:<account>:connection/<id>'),
    repository: matching(fields, 'repository', where, REPOSITORY, 'owner/name of the repository, e.g. my-org/api-usage-tracker'),
    branch: matching(fields, 'branch', where, /^\S(.*\S)?$/, 'a non-empty branch name'),
    account: matching(fields, 'account', where, ACCOUNT, '12 digits (the tools account)'),
    region: matching(fields, 'region', where, REGION, 'a region such as eu-west-1 (the tools account\'s)'),
    environments: readEnvironments(fields.environments, appContext),
  };
}
