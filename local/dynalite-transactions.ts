import { IncomingMessage, Server, ServerResponse } from 'node:http';
import { crc32 } from 'node:zlib';

/* dynalite's internal modules (CommonJS), looked up at call time like the patch in dynalite-server.ts. */
type Callback = (error: DynaliteError | null, result?: Record<string, unknown>) => void;
type Action = (store: DynaliteStore, data: Record<string, unknown>, callback: Callback) => void;
interface DynaliteError extends Error {
  statusCode?: number;
  body?: Record<string, unknown>;
}
interface ItemDb {
  get(key: string, callback: (error: (Error & { name: string }) | null, item?: Record<string, unknown>) => void): void;
}
interface DynaliteStore {
  getTable(name: string, callback: (error: DynaliteError | null, table?: unknown) => void): void;
  getItemDb(name: string): ItemDb;
}
interface ActionValidation {
  types: Record<string, unknown>;
  custom?: unknown;
}
/* eslint-disable @typescript-eslint/no-require-imports -- dynalite's internals are untyped CommonJS modules, required by path */
const dynaliteDb = require('dynalite/db') as {
  create: (options: unknown) => DynaliteStore;
  createKey: (item: unknown, table: unknown) => string;
  validateKey: (key: unknown, table: unknown) => DynaliteError | null;
  checkConditional: (data: Record<string, unknown>, existing: Record<string, unknown> | undefined) => DynaliteError | null;
  __captureStore?: boolean;
};
const validations = require('dynalite/validations') as {
  checkTypes: (data: unknown, types: unknown) => Record<string, unknown>;
  checkValidations: (data: unknown, types: unknown, custom: unknown, store: DynaliteStore) => void;
};
const action = (name: string) => require(`dynalite/actions/${name}`) as Action;
const validation = (name: string) => require(`dynalite/validations/${name}`) as ActionValidation;
/* eslint-enable @typescript-eslint/no-require-imports */

/** The largest transaction DynamoDB takes (https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_TransactWriteItems.html). */
const MAX_TRANSACT_ITEMS = 100;
const TARGET = 'DynamoDB_20120810.TransactWriteItems';

/** Each transaction action, as the single-item request whose validation and semantics it shares. */
const ACTIONS = {
  Put: { request: 'putItem', writes: true },
  Update: { request: 'updateItem', writes: true },
  Delete: { request: 'deleteItem', writes: true },
  // A ConditionCheck is a condition on a key, exactly what DeleteItem validates; it writes nothing.
  ConditionCheck: { request: 'deleteItem', writes: false },
} as const;
type ActionName = keyof typeof ACTIONS;

interface PreparedAction {
  readonly kind: ActionName;
  readonly data: Record<string, unknown>;
  readonly tableName: string;
  readonly table: unknown;
  readonly key: string;
  readonly keyAttributes: Record<string, unknown>;
}

/**
 * Gives a dynalite server DynamoDB's `TransactWriteItems`, which dynalite 4 lacks, so the code
 * that writes several items at once runs the same path locally as in AWS.
 *
 * What it keeps of DynamoDB's semantics:
 * - all or nothing: every condition is checked before anything is written, and if a write still
 *   fails (an item too large), the writes before it are undone;
 * - isolation: a transaction runs alone. Every other request holds a shared gate while it runs,
 *   and a transaction takes the gate exclusively, so no request sees half of one;
 * - a failed condition cancels the transaction with `TransactionCanceledException` and one
 *   `CancellationReasons` entry per action, in order (`None` or `ConditionalCheckFailed`, with the
 *   item when `ReturnValuesOnConditionCheckFailure` is `ALL_OLD`);
 * - at most 100 actions, and no two on the same item (a `ValidationException`, as DynamoDB answers).
 *
 * What it does not: `ClientRequestToken` idempotency (the token is accepted and ignored), and
 * consumed capacity. Must be called before the server is created, and given that server.
 */
export function addTransactWriteItems(create: () => Server): Server {
  let store: DynaliteStore | undefined;
  const originalCreate = dynaliteDb.create;
  dynaliteDb.create = (options) => (store = originalCreate(options));
  let server: Server;
  try {
    server = create();
  } finally {
    dynaliteDb.create = originalCreate;
  }
  if (!store) throw new Error('dynalite did not create its store through dynalite/db.create; its internals have changed.');
  const captured = store;
  const gate = new SharedExclusiveGate();
  const handlers = server.listeners('request') as ((req: IncomingMessage, res: ServerResponse) => void)[];
  server.removeAllListeners('request');
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    if (req.method === 'POST' && req.headers['x-amz-target'] === TARGET) {
      void gate.exclusive(() => transactWriteItems(captured, req, res));
      return;
    }
    void gate.shared(
      () =>
        new Promise<void>((resolve) => {
          res.once('close', resolve);
          for (const handler of handlers) handler(req, res);
        }),
    );
  });
  return server;
}

async function transactWriteItems(store: DynaliteStore, req: IncomingMessage, res: ServerResponse): Promise<void> {
  try {
    const body = await readBody(req);
    const prepared = await prepare(store, JSON.parse(body) as Record<string, unknown>);
    const before = await Promise.all(prepared.map((step) => existingItem(store, step)));
    const failures = prepared.map((step, i) => dynaliteDb.checkConditional(step.data, before[i]));
    if (failures.some(Boolean)) {
      const reasons = failures.map((failure) =>
        failure
          ? { Code: 'ConditionalCheckFailed', Message: 'The conditional request failed', ...(failure.body?.Item ? { Item: failure.body.Item } : {}) }
          : { Code: 'None' },
      );
      throw answer(400, 'com.amazonaws.dynamodb.v20120810#TransactionCanceledException', `Transaction cancelled, please refer cancellation reasons for specific reasons [${reasons.map((r) => r.Code).join(', ')}]`, {
        CancellationReasons: reasons,
      });
    }
    const written: number[] = [];
    try {
      for (const [i, step] of prepared.entries()) {
        if (!ACTIONS[step.kind].writes) continue;
        await run(action(ACTIONS[step.kind].request), store, step.data);
        written.push(i);
      }
    } catch (error) {
      // Undo what was written, newest first, from the items as they were before.
      for (const i of written.reverse()) {
        const step = prepared[i];
        const old = before[i];
        await (old ? run(action('putItem'), store, { TableName: step.tableName, Item: old }) : run(action('deleteItem'), store, { TableName: step.tableName, Key: step.keyAttributes }));
      }
      throw error;
    }
    send(res, 200, {});
  } catch (error) {
    if (isDynaliteAnswer(error)) send(res, error.statusCode, error.body);
    else if (error instanceof SyntaxError) send(res, 400, { __type: 'com.amazon.coral.service#SerializationException' });
    else send(res, 500, { __type: 'com.amazonaws.dynamodb.v20120810#InternalServerError', message: error instanceof Error ? error.message : String(error) });
  }
}

const isRecord = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null;

/** An error dynalite (or this module) raises with the HTTP answer DynamoDB would give. */
function isDynaliteAnswer(error: unknown): error is DynaliteError & Required<Pick<DynaliteError, 'statusCode' | 'body'>> {
  return isRecord(error) && typeof error.statusCode === 'number' && error.statusCode !== 0 && isRecord(error.body);
}

/** Validates every action as DynamoDB would, and resolves its table and key. */
async function prepare(store: DynaliteStore, request: Record<string, unknown>): Promise<PreparedAction[]> {
  const items = request.TransactItems;
  if (!Array.isArray(items) || items.length === 0 || items.length > MAX_TRANSACT_ITEMS) {
    throw validationError(`1 validation error detected: Value at 'transactItems' failed to satisfy constraint: Member must have length less than or equal to ${MAX_TRANSACT_ITEMS} and greater than or equal to 1`);
  }
  const prepared: PreparedAction[] = [];
  for (const item of items as unknown[]) {
    const kinds = isRecord(item) ? Object.keys(item).filter((kind): kind is ActionName => kind in ACTIONS) : [];
    if (!isRecord(item) || kinds.length !== 1 || Object.keys(item).length !== 1) {
      throw validationError('TransactItems can only contain one of Check, Put, Update or Delete');
    }
    const kind = kinds[0];
    const rules = validation(ACTIONS[kind].request);
    const raw = item[kind];
    if (kind === 'ConditionCheck' && !(isRecord(raw) && typeof raw.ConditionExpression === 'string')) {
      throw validationError("1 validation error detected: Value null at 'transactItems.1.member.conditionCheck.conditionExpression' failed to satisfy constraint: Member must not be null");
    }
    const data = validations.checkTypes(raw, rules.types);
    validations.checkValidations(data, rules.types, rules.custom, store);
    const tableName = String(data.TableName);
    const table = await new Promise<unknown>((resolve, reject) => {
      store.getTable(tableName, (error, found) => {
        if (error) reject(error);
        else resolve(found);
      });
    });
    const keySource = kind === 'Put' ? data.Item : data.Key;
    if (kind !== 'Put') {
      const invalid = dynaliteDb.validateKey(data.Key, table);
      if (invalid) throw invalid;
    }
    const key = dynaliteDb.createKey(keySource, table);
    if (prepared.some((other) => other.tableName === tableName && other.key === key)) {
      throw validationError('Transaction request cannot include multiple operations on one item');
    }
    const keyAttributes = kind === 'Put' ? keyOf(data.Item as Record<string, unknown>, table) : (data.Key as Record<string, unknown>);
    prepared.push({ kind, data, tableName, table, key, keyAttributes });
  }
  return prepared;
}

function keyOf(item: Record<string, unknown>, table: unknown): Record<string, unknown> {
  const schema = (table as { KeySchema: { AttributeName: string }[] }).KeySchema;
  return Object.fromEntries(schema.map(({ AttributeName }) => [AttributeName, item[AttributeName]]));
}

function existingItem(store: DynaliteStore, step: PreparedAction): Promise<Record<string, unknown> | undefined> {
  return new Promise((resolve, reject) => { store.getItemDb(step.tableName).get(step.key, (error, item) => {
      if (error && error.name !== 'NotFoundError') reject(error);
      else resolve(error ? undefined : item);
    }); },
  );
}

function run(fn: Action, store: DynaliteStore, data: Record<string, unknown>): Promise<Record<string, unknown> | undefined> {
  return new Promise((resolve, reject) => {
    fn(store, data, (error, result) => {
      if (error) reject(error);
      else resolve(result);
    });
  });
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => { resolve(Buffer.concat(chunks).toString('utf8')); });
    req.on('error', reject);
  });
}

function answer(statusCode: number, type: string, message: string, extra: Record<string, unknown> = {}): DynaliteError {
  return Object.assign(new Error(message), { statusCode, body: { __type: type, message, ...extra } });
}

const validationError = (message: string) => answer(400, 'com.amazon.coral.validate#ValidationException', message);

function send(res: ServerResponse, statusCode: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.statusCode = statusCode;
  res.setHeader('Content-Type', 'application/x-amz-json-1.0');
  res.setHeader('x-amz-crc32', String(crc32(text)));
  res.setHeader('Content-Length', Buffer.byteLength(text));
  res.end(text);
}

/**
 * Many shared holders at once, or one exclusive holder, in arrival order: a request waits behind
 * any transaction queued before it, so transactions are never starved by a stream of requests.
 */
export class SharedExclusiveGate {
  private sharedHolders = 0;
  private exclusiveHeld = false;
  private readonly queue: { exclusive: boolean; start: () => void }[] = [];

  public shared<T>(work: () => Promise<T>): Promise<T> {
    return this.enter(false, work);
  }

  public exclusive<T>(work: () => Promise<T>): Promise<T> {
    return this.enter(true, work);
  }

  private enter<T>(exclusive: boolean, work: () => Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const start = () => {
        if (exclusive) this.exclusiveHeld = true;
        else this.sharedHolders++;
        work()
          .then(resolve, reject)
          .finally(() => {
            if (exclusive) this.exclusiveHeld = false;
            else this.sharedHolders--;
            this.drain();
          });
      };
      this.queue.push({ exclusive, start });
      this.drain();
    });
  }

  private drain(): void {
    while (this.queue.length > 0 && !this.exclusiveHeld) {
      const next = this.queue[0];
      if (next.exclusive && this.sharedHolders > 0) return;
      this.queue.shift();
      next.start();
      if (next.exclusive) return;
    }
  }
}
