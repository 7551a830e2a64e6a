import { Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { LAKE_PREFIXES } from '../contracts/lake-layout';

/** The feature flag that makes S3 grant server access log delivery by bucket policy. */
export const S3_LOGS_USE_BUCKET_POLICY = '@aws-cdk/aws-s3:serverAccessLogsUseBucketPolicy';

/** Properties of a {@link LakeBucket}. */
export interface LakeBucketProps {
  /**
   * The key that encrypts the lake's objects (SSE-KMS with an S3 Bucket Key, so KMS is called
   * per bucket key, not per object).
   * @default - a new key with yearly rotation is created.
   */
  readonly encryptionKey?: kms.IKey;

  /**
   * How long raw Firehose objects are kept. They are replayable input to the Glue job; the
   * curated Parquet is the long-term copy.
   * @default Duration.days(90)
   */
  readonly rawRetention?: Duration;

  /**
   * How long noncurrent object versions are kept (the bucket is versioned so that a faulty job
   * run can be undone).
   * @default Duration.days(30)
   */
  readonly noncurrentVersionRetention?: Duration;

  /**
   * The bucket that receives server access logs.
   * @default - a new bucket with S3-managed encryption (the only kind S3 log delivery supports) is created.
   */
  readonly serverAccessLogsBucket?: s3.IBucket;

  /**
   * What happens to the lake when the stack is deleted.
   * @default RemovalPolicy.RETAIN - usage data is billing evidence.
   */
  readonly removalPolicy?: RemovalPolicy;
}

/**
 * The usage lake's bucket with secure defaults: public access blocked, TLS required, SSE-KMS,
 * versioned, server access logs, and lifecycle rules for `raw/`.
 */
export class LakeBucket extends Construct {
  /** The lake bucket. */
  public readonly bucket: s3.Bucket;
  /** The key encrypting the lake. */
  public readonly encryptionKey: kms.IKey;
  /** The bucket receiving server access logs of the lake and of other buckets of the stack. */
  public readonly serverAccessLogsBucket: s3.IBucket;

  constructor(scope: Construct, id: string, props: LakeBucketProps = {}) {
    super(scope, id);
    // Grant log delivery through the bucket policy, never ACLs, whatever the app's feature flags:
    // ACLs are disabled on every bucket here (BucketOwnerEnforced).
    this.node.setContext(S3_LOGS_USE_BUCKET_POLICY, true);
    const rawRetention = props.rawRetention ?? Duration.days(90);
    const noncurrentVersionRetention = props.noncurrentVersionRetention ?? Duration.days(30);
    if (rawRetention.toHours() < 24 || rawRetention.toHours() % 24 !== 0) {
      throw new Error(`rawRetention must be a whole number of days, at least 1, so the Glue job can read new raw objects; got ${rawRetention.toHumanString()}.`);
    }
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN;

    this.encryptionKey =
      props.encryptionKey ??
      new kms.Key(this, 'Key', {
        description: 'Encrypts the API usage lake (raw, curated, errors) and its Glue and Athena artefacts',
        enableKeyRotation: true,
        removalPolicy,
      });

    this.serverAccessLogsBucket = props.serverAccessLogsBucket ?? this.createAccessLogsBucket(removalPolicy);

    this.bucket = new s3.Bucket(this, 'Resource', {
      encryption: s3.BucketEncryption.KMS,
      encryptionKey: this.encryptionKey,
      bucketKeyEnabled: true,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      minimumTLSVersion: 1.2,
      versioned: true,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      serverAccessLogsBucket: this.serverAccessLogsBucket,
      serverAccessLogsPrefix: 'lake/',
      removalPolicy,
      lifecycleRules: [
        { id: 'ExpireRaw', prefix: LAKE_PREFIXES.raw, expiration: rawRetention },
        { id: 'ExpireNoncurrentVersions', noncurrentVersionExpiration: noncurrentVersionRetention },
        { id: 'AbortIncompleteUploads', abortIncompleteMultipartUploadAfter: Duration.days(7) },
      ],
    });
  }

  private createAccessLogsBucket(removalPolicy: RemovalPolicy): s3.Bucket {
    const logs = new s3.Bucket(this, 'AccessLogs', {
      // S3 server access log delivery cannot write to SSE-KMS buckets.
      encryption: s3.BucketEncryption.S3_MANAGED,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      minimumTLSVersion: 1.2,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      removalPolicy,
      lifecycleRules: [{ id: 'ExpireAccessLogs', expiration: Duration.days(365) }],
    });
    Validations.of(logs).acknowledge({
      id: 'AwsSolutions-S1',
      reason: 'This is the server access log destination; logging its own access would write a log for every log object.',
    });
    return logs;
  }
}
