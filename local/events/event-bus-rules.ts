import { existsSync, promises as fs } from 'node:fs';
import * as path from 'node:path';
import { EventPattern, InvalidEventPatternError, matchesEventPattern, parseEventPattern } from './event-pattern';
import {
  ArnScope,
  StoredApiDestination,
  StoredConnection,
  apiDestinationFrom,
  connectionFrom,
  describeApiDestination,
  describeConnection,
} from './event-bus-api-destinations';
import { AwsJsonError, NAME_PATTERN, RequestBody, isRecord, optionalString, pageOf, requiredList, requiredString, validationError } from './event-bus-requests';

/**
 * Users' own rules on the local bus, with the request and answer shapes of the EventBridge API
 * (https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_PutRule.html, API_DescribeRule,
 * API_ListRules, API_DeleteRule, API_EnableRule, API_DisableRule, API_TestEventPattern,
 * API_PutTargets, API_RemoveTargets, API_ListTargetsByRule). Rule names are per bus: the stack's
 * bus and `default` (the bus an omitted `EventBusName` means). Patterns are validated where AWS
 * validates them, by `parseEventPattern`. With a file, every change is written to it (atomically,
 * owner-only: it holds the connections' secrets) and read back on the next start.
 */

export const RULE_STATES = ['ENABLED', 'DISABLED', 'ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS'] as const;

/** A target as PutTargets gave it (`Id`, `Arn`, and optionally `Input`, `HttpParameters`, `RetryPolicy`, `RoleArn`). */
export type StoredTarget = RequestBody & { readonly Id: string; readonly Arn: string };

export interface StoredRule {
  readonly name: string;
  readonly bus: string;
  readonly eventPattern?: string;
  readonly state: (typeof RULE_STATES)[number];
  readonly description?: string;
  readonly roleArn?: string;
  readonly targets: StoredTarget[];
}

/** Where a matched event goes: a target and the API destination (and connection) it names. */
export interface MatchedTarget {
  readonly rule: StoredRule;
  readonly target: StoredTarget;
  readonly destination: StoredApiDestination;
  readonly connection: StoredConnection;
}

export interface EventBusRulesOptions {
  /** The stack's bus; `default` is always there too. */
  readonly busName: string;
  readonly scope: ArnScope;
  /** Where the rules live between runs. @default - in memory only */
  readonly file?: string;
}

/** The persisted document. */
interface RulesDocument {
  readonly version: 1;
  readonly rules: StoredRule[];
  readonly connections: StoredConnection[];
  readonly apiDestinations: StoredApiDestination[];
}

/** "Each rule can have up to five (5) targets associated with it at one time." (PutTargets) */
export const MAX_TARGETS_PER_RULE = 5;

const ruleKey = (bus: string, name: string) => `${bus}/${name}`;
const ruleNameRule = { field: 'name', max: 64, pattern: NAME_PATTERN } as const;

export class EventBusRules {
  private readonly rules = new Map<string, StoredRule>();
  private readonly patterns = new Map<string, EventPattern>();
  private readonly connections = new Map<string, StoredConnection>();
  private readonly destinations = new Map<string, StoredApiDestination>();
  private saving: Promise<void> = Promise.resolve();

  constructor(private readonly options: EventBusRulesOptions) {}

  /** Reads the rules a previous run saved; nothing when there is no file. */
  public async load(): Promise<void> {
    const file = this.options.file;
    if (!file || !existsSync(file)) return;
    let document: RulesDocument;
    try {
      document = JSON.parse(await fs.readFile(file, 'utf8')) as RulesDocument;
    } catch (error) {
      throw new Error(`The local bus's rules file ${file} cannot be read (${error instanceof Error ? error.message : String(error)}). Move it away to start without the saved rules.`, { cause: error });
    }
    for (const connection of document.connections) this.connections.set(connection.name, connection);
    for (const destination of document.apiDestinations) this.destinations.set(destination.name, destination);
    for (const rule of document.rules) this.setRule(rule);
  }

  /** Rules whose saved pattern today's matcher refuses (a stricter grammar than when saved): kept, listed, never matched. */
  public get unmatchable(): string[] {
    return [...this.rules.keys()].filter((key) => !this.patterns.has(key));
  }

  /** The bus a request names (`EventBusName`: a name or an ARN; omitted, `default`). */
  public busOf(body: RequestBody): string {
    const given = optionalString(body, 'EventBusName', { field: 'eventBusName', max: 1600 }) ?? 'default';
    const name = given.startsWith('arn:') ? given.slice(given.indexOf(':event-bus/') + ':event-bus/'.length) : given;
    if (name !== 'default' && name !== this.options.busName) throw new AwsJsonError('ResourceNotFoundException', `Event bus ${given} does not exist.`);
    return name;
  }

  /** Every enabled rule of a bus the event matches, with its API destination targets. */
  public matchingTargets(bus: string, event: object): MatchedTarget[] {
    const matched: MatchedTarget[] = [];
    for (const [key, rule] of this.rules) {
      const pattern = this.patterns.get(key);
      if (rule.bus !== bus || rule.state === 'DISABLED' || !pattern || !matchesEventPattern(pattern, event)) continue;
      for (const target of rule.targets) {
        const destination = [...this.destinations.values()].find((d) => d.arn === target.Arn);
        const connection = destination && [...this.connections.values()].find((c) => c.arn === destination.connectionArn);
        if (destination && connection) matched.push({ rule, target, destination, connection });
      }
    }
    return matched;
  }

  public async putRule(body: RequestBody): Promise<{ RuleArn: string }> {
    const bus = this.busOf(body);
    const name = requiredString(body, 'Name', ruleNameRule);
    const eventPattern = optionalString(body, 'EventPattern', { field: 'eventPattern', max: 4096 });
    const schedule = optionalString(body, 'ScheduleExpression', { field: 'scheduleExpression', max: 256 });
    const state = (optionalString(body, 'State', { field: 'state', max: 64, values: RULE_STATES }) ?? 'ENABLED') as StoredRule['state'];
    const description = optionalString(body, 'Description', { field: 'description', max: 512, min: 0 });
    const roleArn = optionalString(body, 'RoleArn', { field: 'roleArn', max: 1600 });
    if (schedule !== undefined) {
      throw validationError('ScheduleExpression is not supported by the local bus: it runs no scheduler. Give the rule an EventPattern instead (in AWS, schedules are only on the default bus).');
    }
    if (eventPattern === undefined) throw validationError('Parameter(s) EventPattern or ScheduleExpression must be specified.');
    parsePattern(eventPattern);
    const previous = this.rules.get(ruleKey(bus, name));
    // "If you omit arguments in PutRule, the old values for those arguments are not kept": only the targets stay.
    const optional = { ...(description === undefined ? {} : { description }), ...(roleArn === undefined ? {} : { roleArn }) };
    this.setRule({ name, bus, eventPattern, state, targets: previous?.targets ?? [], ...optional });
    await this.save();
    return { RuleArn: this.ruleArn(bus, name) };
  }

  public describeRule(body: RequestBody): Record<string, unknown> {
    const rule = this.existingRule(body);
    return { ...this.ruleSummary(rule), CreatedBy: this.options.scope.account };
  }

  public listRules(body: RequestBody): { Rules: Record<string, unknown>[]; NextToken?: string } {
    const bus = this.busOf(body);
    const prefix = optionalString(body, 'NamePrefix', ruleNameRule) ?? '';
    const rules = [...this.rules.values()].filter((r) => r.bus === bus && r.name.startsWith(prefix)).sort((a, b) => a.name.localeCompare(b.name));
    const { page, nextToken } = pageOf(rules, body);
    return { Rules: page.map((r) => this.ruleSummary(r)), ...(nextToken === undefined ? {} : { NextToken: nextToken }) };
  }

  /** Deleting a rule that is not there succeeds (as the service's does); one with targets is refused until they are removed. */
  public async deleteRule(body: RequestBody): Promise<Record<string, never>> {
    const bus = this.busOf(body);
    const name = requiredString(body, 'Name', ruleNameRule);
    const rule = this.rules.get(ruleKey(bus, name));
    if (!rule) return {};
    // The service's answer here is "ValidationException: Rule can't be deleted since it has targets."
    if (rule.targets.length > 0 && body.Force !== true) throw validationError("Rule can't be deleted since it has targets.");
    this.rules.delete(ruleKey(bus, name));
    this.patterns.delete(ruleKey(bus, name));
    await this.save();
    return {};
  }

  public async setRuleState(body: RequestBody, state: 'ENABLED' | 'DISABLED'): Promise<Record<string, never>> {
    const rule = this.existingRule(body);
    this.setRule({ ...rule, state });
    await this.save();
    return {};
  }

  /**
   * Adds or replaces targets. Locally a target must be an API destination of this endpoint, and
   * `InputPath`/`InputTransformer` are not applied: such a target fails alone (FailedEntries), as
   * the service reports a target it cannot add.
   */
  public async putTargets(body: RequestBody): Promise<{ FailedEntryCount: number; FailedEntries: Record<string, string>[] }> {
    const rule = this.existingRule(body, 'Rule');
    const targets = requiredList(body, 'Targets', 'targets', 1, 10);
    const kept = new Map(rule.targets.map((t) => [t.Id, t]));
    const failed: Record<string, string>[] = [];
    for (const target of targets) {
      const problem = this.targetProblem(target);
      if (problem) failed.push({ TargetId: isRecord(target) ? String(target.Id) : '', ErrorCode: problem.code, ErrorMessage: problem.message });
      else kept.set((target as StoredTarget).Id, target as StoredTarget);
    }
    if (kept.size > MAX_TARGETS_PER_RULE) throw new AwsJsonError('LimitExceededException', `The requested resource exceeds the maximum number allowed: a rule has at most ${MAX_TARGETS_PER_RULE} targets.`);
    this.setRule({ ...rule, targets: [...kept.values()] });
    await this.save();
    return { FailedEntryCount: failed.length, FailedEntries: failed };
  }

  public async removeTargets(body: RequestBody): Promise<{ FailedEntryCount: number; FailedEntries: never[] }> {
    const rule = this.existingRule(body, 'Rule');
    const ids = new Set(requiredList(body, 'Ids', 'ids', 1, 100).map(String));
    this.setRule({ ...rule, targets: rule.targets.filter((t) => !ids.has(t.Id)) });
    await this.save();
    return { FailedEntryCount: 0, FailedEntries: [] };
  }

  public listTargetsByRule(body: RequestBody): { Targets: StoredTarget[]; NextToken?: string } {
    const rule = this.existingRule(body, 'Rule');
    const { page, nextToken } = pageOf(rule.targets, body);
    return { Targets: page, ...(nextToken === undefined ? {} : { NextToken: nextToken }) };
  }

  /** TestEventPattern: the pattern validated as PutRule validates it; the event must be JSON with the fields the API reference makes mandatory. */
  public testEventPattern(body: RequestBody): { Result: boolean } {
    const pattern = parsePattern(requiredString(body, 'EventPattern', { field: 'eventPattern', max: 4096 }));
    const eventText = requiredString(body, 'Event', { field: 'event', max: 1024 * 1024 });
    let event: unknown;
    try {
      event = JSON.parse(eventText);
    } catch {
      throw validationError('Parameter Event is not valid. Reason: it is not JSON.');
    }
    const missing = ['id', 'account', 'source', 'time', 'region', 'resources', 'detail-type'].filter((f) => !isRecord(event) || !(f in event));
    if (missing.length > 0) throw validationError(`Parameter Event is not valid. Reason: it lacks the mandatory field(s) ${missing.join(', ')}.`);
    return { Result: matchesEventPattern(pattern, event) };
  }

  public async createConnection(body: RequestBody): Promise<Record<string, unknown>> {
    const connection = connectionFrom(body, this.options.scope);
    if (this.connections.has(connection.name)) throw new AwsJsonError('ResourceAlreadyExistsException', `Connection ${connection.name} already exists.`);
    this.connections.set(connection.name, connection);
    await this.save();
    const { ConnectionArn, ConnectionState, CreationTime, LastModifiedTime } = describeConnection(connection);
    return { ConnectionArn, ConnectionState, CreationTime, LastModifiedTime };
  }

  public describeConnection(body: RequestBody): Record<string, unknown> {
    return describeConnection(this.named(this.connections, body, 'Connection'));
  }

  public async deleteConnection(body: RequestBody): Promise<Record<string, unknown>> {
    const connection = this.named(this.connections, body, 'Connection');
    this.connections.delete(connection.name);
    await this.save();
    return { ConnectionArn: connection.arn, ConnectionState: 'DELETING', CreationTime: connection.creationTime, LastModifiedTime: connection.creationTime };
  }

  public async createApiDestination(body: RequestBody): Promise<Record<string, unknown>> {
    const destination = apiDestinationFrom(body, this.options.scope, this.connections);
    if (this.destinations.has(destination.name)) throw new AwsJsonError('ResourceAlreadyExistsException', `Api destination ${destination.name} already exists.`);
    this.destinations.set(destination.name, destination);
    await this.save();
    const { ApiDestinationArn, ApiDestinationState, CreationTime, LastModifiedTime } = describeApiDestination(destination);
    return { ApiDestinationArn, ApiDestinationState, CreationTime, LastModifiedTime };
  }

  public describeApiDestination(body: RequestBody): Record<string, unknown> {
    return describeApiDestination(this.named(this.destinations, body, 'Api destination'));
  }

  public async deleteApiDestination(body: RequestBody): Promise<Record<string, never>> {
    this.destinations.delete(this.named(this.destinations, body, 'Api destination').name);
    await this.save();
    return {};
  }

  private named<T>(items: ReadonlyMap<string, T>, body: RequestBody, kind: string): T {
    const name = requiredString(body, 'Name', { field: 'name', max: 64, pattern: NAME_PATTERN });
    const item = items.get(name);
    if (item === undefined) throw new AwsJsonError('ResourceNotFoundException', `${kind} '${name}' does not exist.`);
    return item;
  }

  private targetProblem(target: unknown): { code: string; message: string } | undefined {
    if (!isRecord(target)) return { code: 'ValidationException', message: 'A target must be an object.' };
    const id = target.Id;
    if (typeof id !== 'string' || id.length < 1 || id.length > 64 || !NAME_PATTERN.test(id)) return { code: 'ValidationException', message: `Target Id '${String(id)}' must match [\\.\\-_A-Za-z0-9]+ (1 to 64 characters).` };
    if (typeof target.Arn !== 'string') return { code: 'ValidationException', message: 'A target needs an Arn.' };
    if (target.InputPath !== undefined || target.InputTransformer !== undefined) return { code: 'ValidationException', message: 'InputPath and InputTransformer are not applied by the local bus; use Input or the whole event.' };
    if (![...this.destinations.values()].some((d) => d.arn === target.Arn)) {
      return { code: 'ValidationException', message: `The local bus delivers only to its own API destinations (CreateApiDestination); ${target.Arn} is not one.` };
    }
    return undefined;
  }

  private existingRule(body: RequestBody, key = 'Name'): StoredRule {
    const bus = this.busOf(body);
    const name = requiredString(body, key, ruleNameRule);
    const rule = this.rules.get(ruleKey(bus, name));
    if (!rule) throw new AwsJsonError('ResourceNotFoundException', `Rule ${name} does not exist on EventBus ${bus}.`);
    return rule;
  }

  private setRule(rule: StoredRule): void {
    const key = ruleKey(rule.bus, rule.name);
    this.rules.set(key, rule);
    this.patterns.delete(key);
    try {
      if (rule.eventPattern !== undefined) this.patterns.set(key, parseEventPattern(rule.eventPattern));
    } catch (error) {
      if (!(error instanceof InvalidEventPatternError)) throw error;
    }
  }

  /** The rule's ARN: `rule/NAME` on the default bus, `rule/BUS/NAME` on another. */
  private ruleArn(bus: string, name: string): string {
    return `arn:aws:events:${this.options.scope.region}:${this.options.scope.account}:rule/${bus === 'default' ? '' : `${bus}/`}${name}`;
  }

  private ruleSummary(rule: StoredRule): Record<string, unknown> {
    return {
      Name: rule.name,
      Arn: this.ruleArn(rule.bus, rule.name),
      ...(rule.eventPattern === undefined ? {} : { EventPattern: rule.eventPattern }),
      State: rule.state,
      ...(rule.description === undefined ? {} : { Description: rule.description }),
      ...(rule.roleArn === undefined ? {} : { RoleArn: rule.roleArn }),
      EventBusName: rule.bus,
    };
  }

  /** Writes the whole document after each change, one write at a time, through a temporary file and a rename. */
  private save(): Promise<void> {
    const file = this.options.file;
    if (!file) return Promise.resolve();
    const document: RulesDocument = { version: 1, rules: [...this.rules.values()], connections: [...this.connections.values()], apiDestinations: [...this.destinations.values()] };
    const text = JSON.stringify(document);
    this.saving = this.saving.catch(() => undefined).then(async () => {
      await fs.mkdir(path.dirname(file), { recursive: true });
      await fs.writeFile(`${file}.tmp`, text, { mode: 0o600 });
      await fs.rename(`${file}.tmp`, file);
    });
    return this.saving;
  }
}

/** A pattern parsed as PutRule parses it; one AWS would refuse is InvalidEventPatternException with the matcher's reason. */
function parsePattern(text: string): EventPattern {
  try {
    return parseEventPattern(text);
  } catch (error) {
    if (error instanceof InvalidEventPatternError) throw new AwsJsonError(error.awsErrorType, error.message);
    throw error;
  }
}
