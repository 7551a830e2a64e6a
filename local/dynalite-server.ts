import { Server } from 'node:http';
import dynalite from 'dynalite';
import { addTransactWriteItems } from './dynalite-transactions';
// dynalite's internal database module (CommonJS); its functions are looked up at call time.
// eslint-disable-next-line @typescript-eslint/no-require-imports -- an untyped CommonJS internal, patched in place
const dynaliteDb = require('dynalite/db') as {
  checkConditional: (data: Record<string, unknown>, existingItem: Record<string, unknown> | undefined) => (Error & { body?: Record<string, unknown> }) | null;
  __returnValuesOnConditionCheckFailure?: boolean;
};

/**
 * DynamoDB answers a failed condition with the item as it was when the request asked for it
 * (`ReturnValuesOnConditionCheckFailure: ALL_OLD`, since 2023); dynalite 4 predates that and
 * ignores the parameter. The limiter relies on it to decide without reading first, so the local
 * engine gets it too: the same behaviour, added where dynalite checks conditions.
 */
function addReturnValuesOnConditionCheckFailure(): void {
  if (dynaliteDb.__returnValuesOnConditionCheckFailure) return;
  // Accept the parameter (dynalite drops parameters it does not know)...
  for (const action of ['updateItem', 'putItem', 'deleteItem']) {
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- the module's path is computed per action
    const validation = require(`dynalite/validations/${action}`) as { types: Record<string, unknown> };
    validation.types.ReturnValuesOnConditionCheckFailure = { type: 'String', enum: ['ALL_OLD', 'NONE'] };
  }
  // ...and answer it with the item as it was.
  const check = dynaliteDb.checkConditional;
  dynaliteDb.checkConditional = (data, existingItem) => {
    const error = check(data, existingItem);
    if (error?.body && data.ReturnValuesOnConditionCheckFailure === 'ALL_OLD' && existingItem) {
      error.body = { ...error.body, Item: existingItem };
    }
    return error;
  };
  dynaliteDb.__returnValuesOnConditionCheckFailure = true;
}

export interface DynaliteServerOptions {
  /** A folder to persist tables in; in memory when absent. */
  readonly path?: string;
}

/**
 * A dynalite server (DynamoDB's API in Node), in memory or on disk, with the 2023 condition-failure
 * return values and TransactWriteItems (see dynalite-transactions.ts).
 */
export function createDynaliteServer(options: DynaliteServerOptions = {}): Server {
  addReturnValuesOnConditionCheckFailure();
  return addTransactWriteItems(() => dynalite({ path: options.path, createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 }));
}
