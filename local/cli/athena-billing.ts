import { AthenaClient } from '@aws-sdk/client-athena';
import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { BillingLedger, BillingRow, BillingSqlEngine, StatementObjects } from '../billing/month-closing';
import { AthenaProgress, runAthenaQuery } from './athena-query';

/**
 * Closing months in AWS: statements are objects of the lake bucket, Athena runs the closing's SQL.
 *
 * - The closing record and the statements are created with `If-None-Match: *`: S3 answers 412
 *   when the key exists, so nothing is overwritten and the first closing to commit wins; 409
 *   (a concurrent conditional write) is retried.
 *   https://docs.aws.amazon.com/AmazonS3/latest/userguide/conditional-writes.html
 *   https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutObject.html
 * - The billed events are written by Athena UNLOAD into a folder named after the attempt. UNLOAD
 *   refuses a TO location that holds data, does not delete what a failed run wrote (so a stopped
 *   attempt's files stay, unread: only the committed attempt counts), takes execution parameters,
 *   and encrypts its files with the query-results encryption the workgroup enforces (SSE-KMS with
 *   the lake key).
 *   https://docs.aws.amazon.com/athena/latest/ug/unload.html
 *   https://docs.aws.amazon.com/athena/latest/ug/workgroups-settings-override.html
 * - The bucket policy denies deleting anything under `statements/` and writing the closing record
 *   or a statement without `If-None-Match` (lib/billing-statements.ts), so `discard` is a no-op.
 */

/** S3 status codes of a conditional write: the key exists, or another conditional write raced this one. */
const PRECONDITION_FAILED = 412;
const CONDITIONAL_REQUEST_CONFLICT = 409;

const statusOf = (error: unknown) => (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;

/** `statements/` objects in the lake bucket. */
export class S3StatementObjects implements StatementObjects {
  constructor(
    private readonly client: S3Client,
    private readonly bucket: string,
    private readonly sleep: (ms: number) => Promise<void> = (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
  ) {}

  public async get(key: string): Promise<string | undefined> {
    try {
      const object = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: key }));
      return (await object.Body?.transformToString('utf-8')) ?? '';
    } catch (error) {
      if ((error as Error).name === 'NoSuchKey' || statusOf(error) === 404) return undefined;
      throw error;
    }
  }

  public async putIfAbsent(key: string, body: string): Promise<boolean> {
    for (let attempt = 1; ; attempt++) {
      try {
        await this.client.send(new PutObjectCommand({ Bucket: this.bucket, Key: key, Body: body, ContentType: 'application/x-ndjson', IfNoneMatch: '*' }));
        return true;
      } catch (error) {
        if (statusOf(error) === PRECONDITION_FAILED) return false;
        if (statusOf(error) !== CONDITIONAL_REQUEST_CONFLICT || attempt >= 5) throw error;
        await this.sleep(200 * attempt);
      }
    }
  }

  public async list(prefix: string): Promise<string[]> {
    const keys: string[] = [];
    let token: string | undefined;
    do {
      const page = await this.client.send(new ListObjectsV2Command({ Bucket: this.bucket, Prefix: prefix, ContinuationToken: token }));
      for (const object of page.Contents ?? []) if (object.Key) keys.push(object.Key);
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
    return keys.sort();
  }
}

/** Where the closing's queries run. */
export interface AthenaBillingOptions {
  readonly workGroup: string;
  readonly database: string;
  /** The lake bucket, which UNLOAD writes to. */
  readonly bucket: string;
  readonly signal?: AbortSignal;
  readonly onProgress?: (progress: AthenaProgress) => void;
  /** Waits between polls (tests pass a fake). */
  readonly sleep?: (ms: number) => Promise<void>;
}

/** The closing's SQL in Athena. */
export class AthenaBillingEngine implements BillingSqlEngine {
  constructor(
    private readonly client: AthenaClient,
    private readonly options: AthenaBillingOptions,
  ) {}

  public async select(sql: string, parameters: readonly string[]): Promise<BillingRow[]> {
    return [...(await runAthenaQuery(this.client, { ...this.query(), sql, parameters })).rows];
  }

  public async unload(select: string, parameters: readonly string[], prefix: string): Promise<void> {
    const location = `s3://${this.options.bucket}/${prefix}`;
    await runAthenaQuery(this.client, {
      ...this.query(),
      sql: `UNLOAD (${select}) TO '${location.replace(/'/g, "''")}' WITH (format = 'PARQUET', compression = 'SNAPPY')`,
      parameters,
      readResults: false,
    });
  }

  /** Deletes under `statements/` are denied to everyone: an unused attempt's files stay, and nothing reads them. */
  public async discard(): Promise<void> {}

  private query() {
    const { workGroup, database, signal, onProgress, sleep } = this.options;
    return { workGroup, database, signal, onProgress, sleep };
  }
}

/** Statements of the deployed lake: its bucket and Athena workgroup. */
export function athenaBillingLedger(clients: { athena: AthenaClient; s3: S3Client }, options: AthenaBillingOptions): BillingLedger {
  return { objects: new S3StatementObjects(clients.s3, options.bucket), engine: new AthenaBillingEngine(clients.athena, options) };
}
