import path from 'node:path';

/** Where `npm start` and the CLI keep local state unless `--data-dir` says otherwise. */
export const DEFAULT_DATA_DIR = '.usage-tracker';

/**
 * The layout of a local data directory, in one place: everything the local stack, the lake and
 * the CLI read or write under it. The lake's own folders (`raw/`, `curated/`, `errors/`, …) are
 * the deployed bucket's prefixes and come from `contracts/lake-layout.ts`.
 */
export function dataDirLayout(dataDir: string) {
  const state = path.join(dataDir, 'state');
  const secrets = path.join(dataDir, 'secrets');
  return {
    root: dataDir,
    /** Work in progress and bookkeeping: locks, staging folders, write-ahead logs, spools. */
    state,
    /** The running stack's lock (its pid and start time): one stack per data folder. */
    stackLock: path.join(state, 'stack.lock'),
    compactionLock: path.join(state, 'compaction.lock'),
    compactionStaging: path.join(state, 'compaction-staging'),
    compactionBookmark: path.join(state, 'compaction-bookmark.json'),
    lastCompaction: path.join(state, 'last-compaction.json'),
    billingStaging: path.join(state, 'billing-staging'),
    firehoseWal: path.join(state, 'firehose-wal'),
    meteredApiSpool: path.join(state, 'metered-api-spool'),
    /** Users' rules, targets, connections and API destinations on the local bus (0600: connections hold secrets). */
    eventBusRules: path.join(state, 'event-bus-rules.json'),
    /** dynalite's tables. */
    dynamodb: path.join(dataDir, 'dynamodb'),
    /** The Cognito emulator's pool, users and log (local/accounts/; passwords in plain text, so 0700). */
    cognito: path.join(dataDir, 'cognito'),
    secrets,
    tenantTokenSecret: path.join(secrets, 'tenant-token-secret'),
    adminTokenKey: path.join(secrets, 'admin-token-key.pem'),
    /** The local operator's SigV4 credentials for the IAM-authorized mint route. */
    operatorCredentials: path.join(dataDir, 'operator-credentials'),
    /** The admin API key the first start created (0600). */
    adminKey: path.join(dataDir, 'admin-key'),
    /** The demo traffic's tenants and keys, one per tier (0600). */
    demoTenants: path.join(dataDir, 'demo-tenants.json'),
    /**
     * Account events the local notifier gave up on (invalid, or failing after every retry), one
     * JSON file each with the envelope and the last error: the local twin of the notifier queue's
     * dead-letter queue. Publish a file's `envelope.detail` again to retry it.
     */
    notificationDeadLetters: path.join(dataDir, 'dead-letters', 'notifications'),
    /** Account events the local notifier has taken and not yet settled, a file each: the next start delivers what a crash left. */
    notificationSpool: path.join(state, 'notification-spool'),
    /** Where the local AuditTailer (the audit table's stream, locally) keeps its cursor. */
    auditTailerState: path.join(state, 'audit-tailer.json'),
  } as const;
}

export type DataDirLayout = ReturnType<typeof dataDirLayout>;
