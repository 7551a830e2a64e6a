/**
 * A synthesized CloudFormation template turned into concrete IAM inputs, and an evaluator of
 * permission contracts against them with an IAM policy simulator.
 *
 * Intrinsics are resolved with a fixed fake environment: every `Ref` and `Fn::GetAtt` becomes a
 * deterministic physical name or ARN of its resource type, so the policies of the template and the
 * ARNs a contract declares (resolved with `stack.resolve` and the same resolver) agree.
 *
 * `@cloud-copilot/iam-simulate` is AGPL-3.0: it is a devDependency, imported from test/ only.
 */
import { getDenialReasons, runSimulation, type RequestAnalysis, type Simulation } from '@cloud-copilot/iam-simulate';

type StatementAnalysis = NonNullable<RequestAnalysis['resourceAnalysis']>['unmatchedStatements'][number];

/** The environment intrinsics resolve to. */
export const FAKE_ENV = {
  account: '123456789012',
  region: 'us-east-1',
  partition: 'aws',
  urlSuffix: 'amazonaws.com',
} as const;

export type Json = string | number | boolean | null | Json[] | { [key: string]: Json };

/** The parts of a CloudFormation template read here. */
export interface CfnTemplate {
  readonly Resources?: Record<string, CfnResource>;
  readonly Parameters?: Record<string, { readonly Default?: Json }>;
  readonly Mappings?: Record<string, Record<string, Record<string, Json>>>;
  readonly Conditions?: Record<string, Json>;
}

export interface CfnResource {
  readonly Type: string;
  readonly Properties?: Record<string, Json>;
}

export interface PolicyStatement {
  readonly Sid?: string;
  readonly Effect: 'Allow' | 'Deny';
  readonly [key: string]: Json | undefined;
}

export interface PolicyDocument {
  readonly Version: string;
  readonly Statement: PolicyStatement[];
}

/** A resource policy as S3, KMS, SNS, SQS or Lambda evaluate it. */
export interface ResourcePolicy {
  readonly kind: 'bucket policy' | 'key policy' | 'topic policy' | 'queue policy' | 'function policy';
  /** The template resources the statements come from. */
  readonly sources: readonly string[];
  readonly document: PolicyDocument;
}

export interface IdentityPolicy {
  /** The policy's logical ID, or the managed policy's ARN. */
  readonly name: string;
  readonly document: PolicyDocument;
}

/** AWS managed policies the template attaches, by name after `policy/`, with their documents. */
const AWS_MANAGED_POLICIES: Readonly<Record<string, PolicyDocument>> = {
  'service-role/AWSLambdaBasicExecutionRole': {
    Version: '2012-10-17',
    Statement: [{ Effect: 'Allow', Action: ['logs:CreateLogGroup', 'logs:CreateLogStream', 'logs:PutLogEvents'], Resource: '*' }],
  },
};

const NO_VALUE = Symbol('AWS::NoValue');
type Resolved = Json | typeof NO_VALUE;

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

/** A resolved value as text: a string as it is, an object or a list as JSON (never `[object Object]`). */
const textOf = (value: Json | undefined): string => (typeof value === 'object' && value !== null ? JSON.stringify(value) : String(value));

/** Resolves CloudFormation intrinsics to concrete values in {@link FAKE_ENV}. */
export class TemplateResolver {
  private readonly resources: Record<string, CfnResource>;
  private readonly resolving = new Set<string>();

  constructor(
    private readonly template: CfnTemplate,
    private readonly stackName: string,
  ) {
    this.resources = template.Resources ?? {};
  }

  /** The resource of a logical ID, or an error naming it. */
  public resource(logicalId: string): CfnResource {
    const resource = this.resources[logicalId] as CfnResource | undefined;
    if (!resource) throw new Error(`The template has no resource "${logicalId}".`);
    return resource;
  }

  /** Logical IDs of the resources of a type. */
  public logicalIdsOfType(type: string): string[] {
    return Object.entries(this.resources)
      .filter(([, resource]) => resource.Type === type)
      .map(([id]) => id);
  }

  /** A value with every intrinsic replaced (`AWS::NoValue` removes the key or element). */
  public resolve(value: unknown): Json {
    const resolved = this.resolveValue(value);
    return resolved === NO_VALUE ? null : resolved;
  }

  /** A value that must resolve to a string. */
  public resolveString(value: unknown, what = 'value'): string {
    const resolved = this.resolve(value);
    if (typeof resolved !== 'string') throw new Error(`${what} resolves to ${JSON.stringify(resolved)}, not a string (from ${JSON.stringify(value)}).`);
    return resolved;
  }

  private resolveValue(value: unknown): Resolved {
    if (value === null || typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') return value;
    if (Array.isArray(value)) return value.map((item) => this.resolveValue(item)).filter((item): item is Json => item !== NO_VALUE);
    if (!isObject(value)) throw new Error(`Cannot resolve a value of type ${typeof value}.`);
    const keys = Object.keys(value);
    if (keys.length === 1 && (keys[0] === 'Ref' || keys[0].startsWith('Fn::') || keys[0] === 'Condition')) {
      return this.intrinsic(keys[0], value[keys[0]]);
    }
    const out: Record<string, Json> = {};
    for (const [key, item] of Object.entries(value)) {
      const resolved = this.resolveValue(item);
      if (resolved !== NO_VALUE) out[key] = resolved;
    }
    return out;
  }

  private intrinsic(name: string, argument: unknown): Resolved {
    const str = (v: unknown, what: string) => this.resolveString(v, what);
    const list = (v: unknown, what: string): Json[] => {
      const resolved = this.resolve(v);
      if (!Array.isArray(resolved)) throw new Error(`${what} needs a list; got ${JSON.stringify(resolved)}.`);
      return resolved;
    };
    switch (name) {
      case 'Ref':
        return this.ref(String(argument));
      case 'Fn::GetAtt': {
        const [logicalId, attribute] = Array.isArray(argument) ? argument.map(String) : String(argument).split(/\.(.+)/);
        return this.getAtt(logicalId, attribute);
      }
      case 'Fn::Join': {
        const [delimiter, parts] = argument as [string, unknown];
        return list(parts, 'Fn::Join').map((part) => (typeof part === 'string' ? part : JSON.stringify(part))).join(delimiter);
      }
      case 'Fn::Sub':
        return this.sub(argument);
      case 'Fn::Select': {
        const [index, items] = argument as [unknown, unknown];
        const values = list(items, 'Fn::Select');
        const i = Number(this.resolve(index));
        if (!(i >= 0 && i < values.length)) throw new Error(`Fn::Select index ${i} is outside ${JSON.stringify(values)}.`);
        return values[i];
      }
      case 'Fn::Split': {
        const [delimiter, source] = argument as [string, unknown];
        return str(source, 'Fn::Split').split(delimiter);
      }
      case 'Fn::GetAZs':
        return ['a', 'b', 'c'].map((zone) => `${FAKE_ENV.region}${zone}`);
      case 'Fn::Base64':
        return Buffer.from(str(argument, 'Fn::Base64'), 'utf8').toString('base64');
      case 'Fn::FindInMap': {
        const [map, top, second] = (argument as unknown[]).map((part, i) => str(part, `Fn::FindInMap[${i}]`));
        const found = this.template.Mappings?.[map]?.[top]?.[second];
        if (found === undefined) throw new Error(`Fn::FindInMap ${map}/${top}/${second} is not in the template's Mappings.`);
        return this.resolveValue(found);
      }
      case 'Fn::If': {
        const [condition, whenTrue, whenFalse] = argument as [string, unknown, unknown];
        return this.condition(condition) ? this.resolveValue(whenTrue) : this.resolveValue(whenFalse);
      }
      case 'Condition':
        return this.condition(String(argument));
      case 'Fn::Equals': {
        const [a, b] = argument as [unknown, unknown];
        return JSON.stringify(this.resolve(a)) === JSON.stringify(this.resolve(b));
      }
      case 'Fn::And':
        return (argument as unknown[]).every((item) => this.resolve(item) === true);
      case 'Fn::Or':
        return (argument as unknown[]).some((item) => this.resolve(item) === true);
      case 'Fn::Not':
        return this.resolve((argument as unknown[])[0]) !== true;
      default:
        throw new Error(`Unsupported intrinsic ${name} (${JSON.stringify(argument)}).`);
    }
  }

  private condition(name: string): boolean {
    const definition = this.template.Conditions?.[name];
    if (definition === undefined) throw new Error(`The template has no condition "${name}".`);
    return this.resolve(definition) === true;
  }

  private sub(argument: unknown): string {
    const [text, variables] = typeof argument === 'string' ? [argument, {}] : (argument as [string, Record<string, unknown>]);
    return text.replace(/\$\{([^}]+)\}/g, (whole, expression: string) => {
      if (expression.startsWith('!')) return `\${${expression.slice(1)}}`;
      if (expression in variables) return this.resolveString(variables[expression], `Fn::Sub variable ${expression}`);
      const [logicalId, attribute] = expression.split(/\.(.+)/);
      const value = attribute ? this.getAtt(logicalId, attribute) : this.ref(logicalId);
      if (typeof value !== 'string') throw new Error(`Fn::Sub ${whole} resolves to ${JSON.stringify(value)}.`);
      return value;
    });
  }

  /** `Ref` of a pseudo parameter, parameter or resource. */
  public ref(logicalId: string): Resolved {
    switch (logicalId) {
      case 'AWS::Partition':
        return FAKE_ENV.partition;
      case 'AWS::Region':
        return FAKE_ENV.region;
      case 'AWS::AccountId':
        return FAKE_ENV.account;
      case 'AWS::URLSuffix':
        return FAKE_ENV.urlSuffix;
      case 'AWS::StackName':
        return this.stackName;
      case 'AWS::StackId':
        return `arn:aws:cloudformation:${FAKE_ENV.region}:${FAKE_ENV.account}:stack/${this.stackName}/00000000-0000-0000-0000-000000000000`;
      case 'AWS::NoValue':
        return NO_VALUE;
      case 'AWS::NotificationARNs':
        return [];
    }
    const parameter = this.template.Parameters?.[logicalId];
    if (parameter) {
      if (parameter.Default === undefined) throw new Error(`Parameter ${logicalId} has no default to resolve to.`);
      return parameter.Default;
    }
    return this.physical(logicalId).ref;
  }

  /** `Fn::GetAtt` of a resource. */
  public getAtt(logicalId: string, attribute: string): Json {
    const attributes = this.physical(logicalId).attributes;
    const value = attributes[attribute] as Json | undefined;
    if (value === undefined) {
      throw new Error(`Fn::GetAtt ${logicalId}.${attribute}: the resolver knows no attribute "${attribute}" of ${this.resource(logicalId).Type} (knows ${Object.keys(attributes).join(', ') || 'none'}).`);
    }
    return value;
  }

  /** The physical name of a resource: its explicit name property, or one derived from its logical ID. */
  private nameOf(logicalId: string, property?: string, lowerCase = false): string {
    const properties = this.resource(logicalId).Properties ?? {};
    if (property) {
      const explicit = property.split('.').reduce<unknown>((value, key) => (isObject(value) ? value[key] : undefined), properties);
      if (explicit !== undefined) return this.resolveString(explicit, `${logicalId}.${property}`);
    }
    return lowerCase ? logicalId.toLowerCase() : logicalId;
  }

  private physical(logicalId: string): { ref: Json; attributes: Record<string, Json> } {
    if (this.resolving.has(logicalId)) throw new Error(`Circular reference while resolving ${logicalId}.`);
    this.resolving.add(logicalId);
    try {
      return this.physicalOf(logicalId);
    } finally {
      this.resolving.delete(logicalId);
    }
  }

  private physicalOf(logicalId: string): { ref: Json; attributes: Record<string, Json> } {
    const { Type: type, Properties: defined = {} } = this.resource(logicalId);
    const properties: Partial<Record<string, Json>> = defined;
    const { account, region, partition } = FAKE_ENV;
    const arn = (service: string, resource: string, inRegion = true, inAccount = true) =>
      `arn:${partition}:${service}:${inRegion ? region : ''}:${inAccount ? account : ''}:${resource}`;
    switch (type) {
      case 'AWS::S3::Bucket': {
        const name = this.nameOf(logicalId, 'BucketName', true);
        return {
          ref: name,
          attributes: {
            Arn: `arn:${partition}:s3:::${name}`,
            DomainName: `${name}.s3.${FAKE_ENV.urlSuffix}`,
            RegionalDomainName: `${name}.s3.${region}.${FAKE_ENV.urlSuffix}`,
            DualStackDomainName: `${name}.s3.dualstack.${region}.${FAKE_ENV.urlSuffix}`,
            WebsiteURL: `http://${name}.s3-website-${region}.${FAKE_ENV.urlSuffix}`,
          },
        };
      }
      case 'AWS::KMS::Key': {
        const keyId = `key-${logicalId.toLowerCase()}`;
        return { ref: keyId, attributes: { Arn: arn('kms', `key/${keyId}`), KeyId: keyId } };
      }
      case 'AWS::KMS::Alias': {
        const name = this.nameOf(logicalId, 'AliasName');
        return { ref: name, attributes: {} };
      }
      case 'AWS::SNS::Topic': {
        const name = this.nameOf(logicalId, 'TopicName');
        const topicArn = arn('sns', name);
        return { ref: topicArn, attributes: { TopicArn: topicArn, TopicName: name } };
      }
      case 'AWS::SQS::Queue': {
        const name = this.nameOf(logicalId, 'QueueName');
        const url = `https://sqs.${region}.${FAKE_ENV.urlSuffix}/${account}/${name}`;
        return { ref: url, attributes: { Arn: arn('sqs', name), QueueName: name, QueueUrl: url } };
      }
      case 'AWS::IAM::Role': {
        const name = this.nameOf(logicalId, 'RoleName');
        return { ref: name, attributes: { Arn: arn('iam', `role/${name}`, false), RoleId: `AROA${logicalId.toUpperCase()}` } };
      }
      case 'AWS::IAM::ManagedPolicy': {
        const name = this.nameOf(logicalId, 'ManagedPolicyName');
        const policyArn = arn('iam', `policy/${name}`, false);
        return { ref: policyArn, attributes: { PolicyArn: policyArn } };
      }
      case 'AWS::DynamoDB::Table':
      case 'AWS::DynamoDB::GlobalTable': {
        const name = this.nameOf(logicalId, 'TableName');
        const tableArn = arn('dynamodb', `table/${name}`);
        return { ref: name, attributes: { Arn: tableArn, StreamArn: `${tableArn}/stream/2024-01-01T00:00:00.000`, TableId: `id-${name}` } };
      }
      case 'AWS::Lambda::Function': {
        const name = this.nameOf(logicalId, 'FunctionName');
        return { ref: name, attributes: { Arn: arn('lambda', `function:${name}`) } };
      }
      case 'AWS::Lambda::Alias': {
        // Ref and Arn: the function's ARN qualified with the alias name.
        const functionName = this.resolveString(properties.FunctionName, `${logicalId}.FunctionName`);
        const name = this.resolveString(properties.Name, `${logicalId}.Name`);
        const aliasArn = `${functionName.startsWith('arn:') ? functionName : arn('lambda', `function:${functionName}`)}:${name}`;
        return { ref: aliasArn, attributes: {} };
      }
      case 'AWS::Logs::LogGroup': {
        const name = this.nameOf(logicalId, 'LogGroupName');
        return { ref: name, attributes: { Arn: arn('logs', `log-group:${name}:*`) } };
      }
      case 'AWS::Logs::LogStream':
        return { ref: this.nameOf(logicalId, 'LogStreamName'), attributes: {} };
      case 'AWS::StepFunctions::StateMachine': {
        const name = this.nameOf(logicalId, 'StateMachineName');
        const machineArn = arn('states', `stateMachine:${name}`);
        return { ref: machineArn, attributes: { Arn: machineArn, Name: name } };
      }
      case 'AWS::Events::EventBus': {
        const name = this.nameOf(logicalId, 'Name');
        return { ref: name, attributes: { Arn: arn('events', `event-bus/${name}`), Name: name } };
      }
      case 'AWS::Events::Rule': {
        const name = this.nameOf(logicalId, 'Name');
        const bus = properties.EventBusName === undefined ? 'default' : this.resolveString(properties.EventBusName, `${logicalId}.EventBusName`);
        const busName = bus.startsWith('arn:') ? bus.split('/').pop()! : bus;
        const ruleArn = arn('events', busName === 'default' ? `rule/${name}` : `rule/${busName}/${name}`);
        return { ref: busName === 'default' ? name : `${busName}|${name}`, attributes: { Arn: ruleArn } };
      }
      case 'AWS::Events::Archive': {
        const name = this.nameOf(logicalId, 'ArchiveName');
        return { ref: name, attributes: { Arn: arn('events', `archive/${name}`) } };
      }
      case 'AWS::KinesisFirehose::DeliveryStream': {
        const name = this.nameOf(logicalId, 'DeliveryStreamName');
        return { ref: name, attributes: { Arn: arn('firehose', `deliverystream/${name}`) } };
      }
      case 'AWS::SecretsManager::Secret': {
        const secretArn = arn('secretsmanager', `secret:${this.nameOf(logicalId, 'Name')}-AbCdEf`);
        return { ref: secretArn, attributes: { Id: secretArn } };
      }
      case 'AWS::Athena::WorkGroup':
        return { ref: this.nameOf(logicalId, 'Name'), attributes: {} };
      case 'AWS::Glue::Database':
        return { ref: this.nameOf(logicalId, 'DatabaseInput.Name'), attributes: {} };
      case 'AWS::Glue::Table':
        return { ref: this.nameOf(logicalId, 'TableInput.Name'), attributes: {} };
      case 'AWS::Glue::Job':
      case 'AWS::Glue::Crawler':
      case 'AWS::Glue::Workflow':
      case 'AWS::Glue::Trigger':
      case 'AWS::Glue::SecurityConfiguration':
        return { ref: this.nameOf(logicalId, 'Name'), attributes: {} };
      case 'AWS::CloudWatch::Alarm': {
        const name = this.nameOf(logicalId, 'AlarmName');
        return { ref: name, attributes: { Arn: arn('cloudwatch', `alarm:${name}`) } };
      }
      case 'AWS::ApiGatewayV2::Api': {
        const id = logicalId.toLowerCase().slice(0, 10);
        return { ref: id, attributes: { ApiId: id, ApiEndpoint: `https://${id}.execute-api.${region}.${FAKE_ENV.urlSuffix}` } };
      }
      case 'AWS::ApiGatewayV2::Authorizer':
        return { ref: `auth-${logicalId.toLowerCase().slice(-8)}`, attributes: {} };
      case 'AWS::EventSchemas::Registry': {
        const name = this.nameOf(logicalId, 'RegistryName');
        return { ref: arn('schemas', `registry/${name}`), attributes: { RegistryName: name, RegistryArn: arn('schemas', `registry/${name}`) } };
      }
      default:
        // Policies, permissions, routes and the like: their Ref is an opaque identifier.
        return { ref: logicalId, attributes: {} };
    }
  }
}

const statementsOf = (document: Json, source: string): PolicyStatement[] => {
  if (!isObject(document)) throw new Error(`${source}: policy document is not an object.`);
  const statements = document.Statement;
  const list = Array.isArray(statements) ? statements : [statements];
  return list.map((statement, i) => {
    if (!isObject(statement)) throw new Error(`${source}: statement ${i + 1} is not an object.`);
    return statement as unknown as PolicyStatement;
  });
};

const asList = (value: Json | undefined): Json[] => (value === undefined || value === null ? [] : Array.isArray(value) ? value : [value]);

/**
 * The IAM policies of a synthesized template: identity policies per role (inline, attached
 * `AWS::IAM::Policy`/`ManagedPolicy`, AWS managed policies), and the resource policies of
 * buckets, keys, topics, queues and functions, all resolved in {@link FAKE_ENV}.
 */
export class TemplatePolicies {
  public readonly resolver: TemplateResolver;
  private readonly identity = new Map<string, IdentityPolicy[]>();
  private readonly roleNames = new Map<string, string>();
  private readonly resourcePolicies = new Map<string, { kind: ResourcePolicy['kind']; sources: string[]; statements: PolicyStatement[] }>();

  constructor(template: CfnTemplate, options: { readonly stackName: string }) {
    this.resolver = new TemplateResolver(template, options.stackName);
    this.collectIdentityPolicies();
    this.collectResourcePolicies();
  }

  /** ARNs of the roles of the template. */
  public roleArns(): string[] {
    return [...this.identity.keys()];
  }

  /** The role's logical ID, for messages. */
  public roleLogicalId(roleArn: string): string | undefined {
    return this.roleNames.get(roleArn);
  }

  /** The identity policies of a role of the template, by ARN. */
  public identityPolicies(roleArn: string): IdentityPolicy[] {
    const policies = this.identity.get(roleArn);
    if (!policies) throw new Error(`No role of the template has the ARN ${roleArn}; roles: ${this.roleArns().join(', ')}.`);
    return policies;
  }

  /** The resource policy governing a resource ARN, if the template defines one. */
  public resourcePolicy(resourceArn: string): ResourcePolicy | undefined {
    const key = this.policyKey(resourceArn);
    const entry = key ? this.resourcePolicies.get(key) : undefined;
    return entry ? { kind: entry.kind, sources: entry.sources, document: { Version: '2012-10-17', Statement: entry.statements } } : undefined;
  }

  /** Which resource policy kind would govern the ARN (whether or not the template defines one). */
  public resourcePolicyKind(resourceArn: string): ResourcePolicy['kind'] | undefined {
    const service = resourceArn.split(':')[2];
    return ({ s3: 'bucket policy', kms: 'key policy', sns: 'topic policy', sqs: 'queue policy', lambda: 'function policy' } as const)[service as 's3'];
  }

  private policyKey(resourceArn: string): string | undefined {
    const [, , service, , , ...rest] = resourceArn.split(':');
    const resource = rest.join(':');
    switch (service) {
      case 's3':
        return `s3:${resource.split('/')[0]}`;
      case 'kms':
      case 'sns':
      case 'sqs':
        return resourceArn;
      case 'lambda':
        // arn:aws:lambda:region:account:function:name[:qualifier]. An alias has a policy of its own,
        // which governs invocations through it, apart from the function's.
        return resourceArn;
      default:
        return undefined;
    }
  }

  private addResourceStatements(key: string, kind: ResourcePolicy['kind'], source: string, statements: PolicyStatement[]): void {
    const entry = this.resourcePolicies.get(key) ?? { kind, sources: [], statements: [] };
    entry.sources.push(source);
    entry.statements.push(...statements);
    this.resourcePolicies.set(key, entry);
  }

  private collectIdentityPolicies(): void {
    const r = this.resolver;
    const roleArnByName = new Map<string, string>();
    for (const id of r.logicalIdsOfType('AWS::IAM::Role')) {
      const roleArn = r.resolveString({ 'Fn::GetAtt': [id, 'Arn'] });
      const policies: IdentityPolicy[] = [];
      const properties = r.resource(id).Properties ?? {};
      for (const inline of asList(r.resolve(properties.Policies ?? []))) {
        if (!isObject(inline)) continue;
        policies.push({ name: `${id}/${textOf(inline.PolicyName)}`, document: { Version: '2012-10-17', Statement: statementsOf(inline.PolicyDocument, id) } });
      }
      for (const managed of asList(r.resolve(properties.ManagedPolicyArns ?? []))) {
        policies.push(this.managedPolicy(textOf(managed), id));
      }
      this.identity.set(roleArn, policies);
      this.roleNames.set(roleArn, id);
      roleArnByName.set(r.resolveString({ Ref: id }), roleArn);
    }
    for (const type of ['AWS::IAM::Policy', 'AWS::IAM::ManagedPolicy']) {
      for (const id of r.logicalIdsOfType(type)) {
        const properties = r.resource(id).Properties ?? {};
        const document: PolicyDocument = { Version: '2012-10-17', Statement: statementsOf(r.resolve(properties.PolicyDocument), id) };
        for (const roleName of asList(r.resolve(properties.Roles ?? []))) {
          const roleArn = roleArnByName.get(textOf(roleName));
          // A role outside the template (imported): nothing to evaluate it with here.
          if (roleArn) this.identity.get(roleArn)!.push({ name: id, document });
        }
      }
    }
    // Managed policies of the template referenced by ARN from roles.
    for (const id of r.logicalIdsOfType('AWS::IAM::ManagedPolicy')) {
      const policyArn = r.resolveString({ Ref: id });
      for (const policies of this.identity.values()) {
        const index = policies.findIndex((policy) => policy.name === policyArn);
        if (index >= 0) policies.splice(index, 1);
      }
    }
  }

  private managedPolicy(policyArn: string, roleId: string): IdentityPolicy {
    const match = /^arn:aws:iam::aws:policy\/(.+)$/.exec(policyArn);
    const document = match ? AWS_MANAGED_POLICIES[match[1]] : undefined;
    if (document) return { name: policyArn, document };
    if (policyArn.startsWith(`arn:aws:iam::${FAKE_ENV.account}:policy/`)) return { name: policyArn, document: { Version: '2012-10-17', Statement: [] } };
    throw new Error(`Role ${roleId} attaches ${policyArn}, whose document this harness does not know: add it to AWS_MANAGED_POLICIES.`);
  }

  private collectResourcePolicies(): void {
    const r = this.resolver;
    const document = (id: string, property: string) => statementsOf(r.resolve(r.resource(id).Properties?.[property]), id);

    for (const id of r.logicalIdsOfType('AWS::S3::BucketPolicy')) {
      const bucket = r.resolveString(r.resource(id).Properties?.Bucket, `${id}.Bucket`);
      this.addResourceStatements(`s3:${bucket}`, 'bucket policy', id, document(id, 'PolicyDocument'));
    }
    for (const id of r.logicalIdsOfType('AWS::KMS::Key')) {
      const keyArn = r.resolveString({ 'Fn::GetAtt': [id, 'Arn'] });
      const properties = r.resource(id).Properties ?? {};
      // Without a KeyPolicy, KMS applies its default policy: the account root, i.e. IAM policies decide.
      const statements = properties.KeyPolicy
        ? document(id, 'KeyPolicy')
        : [{ Effect: 'Allow' as const, Principal: { AWS: `arn:aws:iam::${FAKE_ENV.account}:root` }, Action: 'kms:*', Resource: '*' }];
      this.addResourceStatements(keyArn, 'key policy', id, statements);
    }
    for (const id of r.logicalIdsOfType('AWS::SNS::TopicPolicy')) {
      for (const topic of asList(r.resolve(r.resource(id).Properties?.Topics))) {
        this.addResourceStatements(textOf(topic), 'topic policy', id, document(id, 'PolicyDocument'));
      }
    }
    for (const id of r.logicalIdsOfType('AWS::SNS::TopicInlinePolicy')) {
      const topic = r.resolveString(r.resource(id).Properties?.TopicArn, `${id}.TopicArn`);
      this.addResourceStatements(topic, 'topic policy', id, document(id, 'PolicyDocument'));
    }
    const queueArnByUrl = new Map<string, string>();
    for (const id of r.logicalIdsOfType('AWS::SQS::Queue')) {
      queueArnByUrl.set(r.resolveString({ Ref: id }), r.resolveString({ 'Fn::GetAtt': [id, 'Arn'] }));
    }
    const queueArn = (url: string, source: string) => {
      const found = queueArnByUrl.get(url);
      if (!found) throw new Error(`${source} names queue ${url}, which is not in the template.`);
      return found;
    };
    for (const id of r.logicalIdsOfType('AWS::SQS::QueuePolicy')) {
      for (const url of asList(r.resolve(r.resource(id).Properties?.Queues))) {
        this.addResourceStatements(queueArn(textOf(url), id), 'queue policy', id, document(id, 'PolicyDocument'));
      }
    }
    for (const id of r.logicalIdsOfType('AWS::SQS::QueueInlinePolicy')) {
      const url = r.resolveString(r.resource(id).Properties?.Queue, `${id}.Queue`);
      this.addResourceStatements(queueArn(url, id), 'queue policy', id, document(id, 'PolicyDocument'));
    }
    const functionArnByName = new Map<string, string>();
    for (const id of r.logicalIdsOfType('AWS::Lambda::Function')) {
      const functionArn = r.resolveString({ 'Fn::GetAtt': [id, 'Arn'] });
      functionArnByName.set(r.resolveString({ Ref: id }), functionArn);
      functionArnByName.set(functionArn, functionArn);
    }
    for (const id of r.logicalIdsOfType('AWS::Lambda::Alias')) {
      const aliasArn = r.resolveString({ Ref: id });
      functionArnByName.set(aliasArn, aliasArn);
    }
    for (const id of r.logicalIdsOfType('AWS::Lambda::Permission')) {
      const properties = r.resolve(r.resource(id).Properties) as Partial<Record<string, Json>>;
      const functionArn = functionArnByName.get(textOf(properties.FunctionName));
      if (!functionArn) continue;
      const principal = textOf(properties.Principal);
      const condition: Record<string, Record<string, Json>> = {};
      if (properties.SourceArn !== undefined) condition.ArnLike = { 'AWS:SourceArn': properties.SourceArn };
      if (properties.SourceAccount !== undefined) condition.StringEquals = { 'AWS:SourceAccount': properties.SourceAccount };
      if (properties.PrincipalOrgID !== undefined) condition.StringEquals = { ...condition.StringEquals, 'aws:PrincipalOrgID': properties.PrincipalOrgID };
      if (properties.FunctionUrlAuthType !== undefined) condition.StringEquals = { ...condition.StringEquals, 'lambda:FunctionUrlAuthType': properties.FunctionUrlAuthType };
      const statement: PolicyStatement = {
        Sid: id,
        Effect: 'Allow',
        Principal: principal.endsWith('.amazonaws.com') ? { Service: principal } : principal === '*' ? '*' : { AWS: principal },
        Action: properties.Action,
        Resource: functionArn,
        ...(Object.keys(condition).length > 0 ? { Condition: condition } : {}),
      };
      this.addResourceStatements(functionArn, 'function policy', id, [statement]);
    }
  }
}

/** A contract's call with every token resolved. */
export interface ResolvedCall {
  readonly component: string;
  readonly principal: { readonly kind: 'role'; readonly arn: string } | { readonly kind: 'service'; readonly service: string };
  readonly action: string;
  readonly resource: string;
  readonly context: Readonly<Record<string, string | readonly string[]>>;
  readonly why: string;
}

/** What the simulator answered for a call: allowed, or why not. */
export interface CallVerdict {
  readonly allowed: boolean;
  /** Present when not allowed: what is missing, in words. */
  readonly problem?: string;
  /** Context keys the simulator does not know for the action, so did not evaluate. */
  readonly ignoredContextKeys: readonly string[];
}


const statementName = (analysis: StatementAnalysis) => {
  const sid = analysis.statement.sid();
  return `${analysis.policyId ? `${analysis.policyId} ` : ''}${sid ? `"${sid}"` : `#${analysis.statement.index()}`}`;
};

/**
 * Evaluates one call: for a role, its identity policies and the resource's policy; for a service
 * principal, the resource's policy alone. The request is made over TLS from the stack's account.
 */
export async function evaluateCall(policies: TemplatePolicies, call: ResolvedCall): Promise<CallVerdict> {
  const resourcePolicy = call.resource === '*' ? undefined : policies.resourcePolicy(call.resource);
  const identityPolicies = call.principal.kind === 'role' ? policies.identityPolicies(call.principal.arn) : [];
  const baseContext: Record<string, string | string[]> = { 'aws:SecureTransport': 'true', 'aws:CurrentTime': '2025-01-01T00:00:00Z' };
  if (call.principal.kind === 'role') {
    Object.assign(baseContext, { 'aws:PrincipalArn': call.principal.arn, 'aws:PrincipalAccount': FAKE_ENV.account, 'aws:PrincipalType': 'AssumedRole' });
  } else {
    Object.assign(baseContext, { 'aws:PrincipalServiceName': call.principal.service, 'aws:PrincipalIsAWSService': 'true' });
  }
  const contextVariables: Record<string, string | string[]> = { ...baseContext };
  for (const [key, value] of Object.entries(call.context)) contextVariables[key] = typeof value === 'string' ? value : [...value];

  const simulation: Simulation = {
    request: {
      principal: call.principal.kind === 'role' ? call.principal.arn : call.principal.service,
      action: call.action,
      resource: { resource: call.resource, accountId: FAKE_ENV.account },
      contextVariables,
    },
    identityPolicies: identityPolicies.map((policy) => ({ name: policy.name, policy: policy.document })),
    serviceControlPolicies: [],
    resourceControlPolicies: [],
    resourcePolicy: resourcePolicy?.document,
  };
  const response = await runSimulation(simulation, {});
  if (response.resultType === 'error') {
    return { allowed: false, problem: `the simulator refused the request: ${response.errors.message} ${JSON.stringify(response.errors)}`, ignoredContextKeys: [] };
  }
  const results = response.resultType === 'single' ? [response.result] : response.results;
  const ignoredContextKeys = [...new Set(results.flatMap((result) => result.ignoredContextKeys ?? []))];
  if (response.overallResult === 'Allowed') return { allowed: true, ignoredContextKeys };
  const analysis = results.find((result) => result.analysis.result !== 'Allowed')?.analysis;
  const problem = analysis ? explainDenial(call, analysis, resourcePolicy, policies) : 'no result for the resource';
  const ignored = ignoredContextKeys.length > 0 ? ` (context keys not evaluated by the simulator: ${ignoredContextKeys.join(', ')})` : '';
  return { allowed: false, problem: `${problem}${ignored}`, ignoredContextKeys };
}

function explainDenial(call: ResolvedCall, analysis: RequestAnalysis, resourcePolicy: ResourcePolicy | undefined, policies: TemplatePolicies): string {
  const kind = resourcePolicy?.kind ?? policies.resourcePolicyKind(call.resource) ?? 'resource policy';
  const denials = getDenialReasons(analysis);
  const explicit = denials.flatMap((denial) =>
    denial.denialType === 'Explicit'
      ? [`explicit deny in ${denial.policyType === 'resource' ? `the ${kind} (${resourcePolicy?.sources.join(', ')})` : `identity policy ${denial.policyIdentifier}`} statement ${denial.statementId ? `"${denial.statementId}"` : `#${denial.statementIndex}`}`]
      : [],
  );
  if (explicit.length > 0) return explicit.join('; ');

  const parts: string[] = [];
  const identityAllowed = analysis.identityAnalysis?.result === 'Allowed';
  const resourceResult = analysis.resourceAnalysis?.result;
  const resourceAllowed = resourceResult === 'Allowed' || resourceResult === 'AllowedForAccount';
  if (call.principal.kind === 'role') {
    const logicalId = policies.roleLogicalId(call.principal.arn);
    const roleName = call.principal.arn.split('/').pop();
    if (!identityAllowed) parts.push(`no identity policy statement of role ${roleName}${logicalId && logicalId !== roleName ? ` (${logicalId})` : ''} allows it`);
    if (kind === 'key policy' && !resourceAllowed) {
      parts.push(`the key policy (${resourcePolicy?.sources.join(', ') ?? 'none in the template'}) neither allows the role nor delegates to the account's IAM policies`);
    }
  } else if (!resourcePolicy) {
    parts.push(`there is no ${kind} in the template, so nothing allows ${call.principal.service}`);
  } else {
    parts.push(`the ${kind} (${resourcePolicy.sources.join(', ')}) does not allow ${call.principal.service}`);
  }
  // Statements that match all but their condition say what the request lacks.
  const nearMisses = [...(analysis.identityAnalysis?.unmatchedStatements ?? []), ...(analysis.resourceAnalysis?.unmatchedStatements ?? [])].filter(
    (statement) =>
      statement.statement.isAllow() && statement.actionMatch && statement.resourceMatch && statement.principalMatch !== 'NoMatch' && statement.conditionMatch !== 'Match',
  );
  for (const miss of nearMisses) {
    parts.push(`statement ${statementName(miss)} would allow it but its condition does not hold for the declared context ${JSON.stringify(call.context)}: ${JSON.stringify(miss.statement.conditionMap() ?? {})}`);
  }
  if (parts.length === 0) parts.push(`denied (${denials.map((denial) => `${denial.policyType}: implicit`).join(', ') || analysis.result})`);
  return parts.join('; ');
}
