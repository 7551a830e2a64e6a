import { randomBytes } from 'node:crypto';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, PutCommand, QueryCommand, TransactWriteCommandInput } from '@aws-sdk/lib-dynamodb';
import { AUDIT_PARTITION_PREFIX } from '../../contracts/metered-api';

/** One admin action. */
export interface AuditEntry {
  readonly at: string;
  readonly actor: string;
  readonly action: string;
  readonly target: string;
  readonly details?: Record<string, unknown>;
}

/** An entry as appended: with its id, which the records it changed may name. */
export interface AppendedAuditEntry extends AuditEntry {
  /** The entry's sort key (`<time>#<random>`), unique within its month. */
  readonly id: string;
}

/** One action of a TransactWriteItems request (document-client form). */
export type TransactItem = NonNullable<TransactWriteCommandInput['TransactItems']>[number];

/**
 * An entry ready to be written in the same transaction as the change it records: the change and
 * its entry land together or not at all.
 */
export interface AuditWrite {
  readonly entry: AppendedAuditEntry;
  readonly put: TransactItem;
}

const monthKey = (iso: string) => `${AUDIT_PARTITION_PREFIX}${iso.slice(0, 7)}`;

/**
 * Admin actions, partitioned by month and ordered by time within it. Append-only: entries are
 * only ever created (PutItem with `attribute_not_exists`), never updated or deleted, and the admin
 * functions' role allows nothing else on the table (see `MeteredHttpApi`).
 */
export class AuditLog {
  private readonly documents: DynamoDBDocumentClient;

  constructor(
    client: DynamoDBClient,
    private readonly tableName: string,
    private readonly clock: () => number = Date.now,
  ) {
    this.documents = DynamoDBDocumentClient.from(client);
  }

  /** Appends an entry on its own (for actions that change nothing else). */
  public async append(entry: Omit<AuditEntry, 'at'>): Promise<AppendedAuditEntry> {
    const { appended, put } = this.entryPut(entry);
    await this.documents.send(new PutCommand(put));
    return appended;
  }

  /**
   * An entry as a transaction's Put, for the store to write with the change it records. The Put is
   * conditional on `attribute_not_exists(pk)`, as on its own, so no entry is ever overwritten.
   */
  public prepare(entry: Omit<AuditEntry, 'at'>): AuditWrite {
    const { appended, put } = this.entryPut(entry);
    return { entry: appended, put: { Put: put } };
  }

  /** The newest entries first, walking back month by month up to `months`. */
  public async recent(limit = 50, months = 12): Promise<AuditEntry[]> {
    const entries: AuditEntry[] = [];
    const cursor = new Date(this.clock());
    for (let i = 0; i < months && entries.length < limit; i++) {
      const month = new Date(Date.UTC(cursor.getUTCFullYear(), cursor.getUTCMonth() - i, 1)).toISOString();
      const { Items } = await this.documents.send(
        new QueryCommand({ TableName: this.tableName, KeyConditionExpression: 'pk = :pk', ExpressionAttributeValues: { ':pk': monthKey(month) }, ScanIndexForward: false, Limit: limit - entries.length }),
      );
      entries.push(...(Items ?? []).map(toEntry));
    }
    return entries;
  }

  /** An entry, stamped now with an id of its own, and the PutItem that appends it (never over another). */
  private entryPut(entry: Omit<AuditEntry, 'at'>): { appended: AppendedAuditEntry; put: NonNullable<TransactItem['Put']> } {
    const at = new Date(this.clock()).toISOString();
    const full: AuditEntry = { at, ...entry };
    const id = `${at}#${randomBytes(8).toString('hex')}`;
    return {
      appended: { ...full, id },
      put: { TableName: this.tableName, Item: { pk: monthKey(at), sk: id, ...full }, ConditionExpression: 'attribute_not_exists(pk)' },
    };
  }
}

/** An entry as read back: its fields, without the table's keys. */
function toEntry(item: Record<string, unknown>): AuditEntry {
  const details = item.details as Record<string, unknown> | undefined;
  return { at: String(item.at), actor: String(item.actor), action: String(item.action), target: String(item.target), ...(details ? { details } : {}) };
}
