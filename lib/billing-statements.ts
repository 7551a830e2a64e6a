import { Aws } from 'aws-cdk-lib';
import * as glue from 'aws-cdk-lib/aws-glue';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import { Construct } from 'constructs';
import { FIRST_STATEMENT_MONTH, STATEMENT_PARTITION_KEY, STATEMENT_TABLES, StatementTable } from '../contracts/billing-statements';
import { LAKE_PREFIXES } from '../contracts/lake-layout';
import { UsageAnalytics } from './usage-analytics';
import { UsageLake } from './usage-lake';

/** What closing a month writes itself: statement objects (the CLI) and billed events (Athena UNLOAD). */
export const STATEMENT_WRITE_ACTIONS = ['s3:PutObject', 's3:AbortMultipartUpload'] as const;

/** What no one may do under `statements/`: remove a statement or a version of one. */
export const STATEMENT_DELETE_ACTIONS = ['s3:DeleteObject', 's3:DeleteObjectVersion'] as const;

/** How Glue reads each storage format of a statement table. */
const STORAGE = {
  // https://docs.aws.amazon.com/athena/latest/ug/json-serde.html: one JSON object per line.
  json: {
    inputFormat: 'org.apache.hadoop.mapred.TextInputFormat',
    outputFormat: 'org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat',
    serdeInfo: { serializationLibrary: 'org.openx.data.jsonserde.JsonSerDe' },
  },
  parquet: {
    inputFormat: 'org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat',
    outputFormat: 'org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat',
    serdeInfo: { serializationLibrary: 'org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe' },
  },
} as const;

/** Properties of a {@link BillingStatements}. */
export interface BillingStatementsProps {
  /** The lake whose bucket holds `statements/` and whose database the tables join. */
  readonly lake: UsageLake;
  /** The workgroup a closing's queries run in. */
  readonly analytics: UsageAnalytics;
  /** The key encrypting the lake. */
  readonly encryptionKey: kms.IKey;
}

/**
 * Closed months' billing statements: the Glue tables over `statements/` (closing records,
 * statements, billed event ids), a bucket policy that keeps every statement as first written,
 * and the grants to read statements and to close months.
 *
 * Immutability is enforced for everyone by the lake bucket's policy, not only by the CLI:
 * nothing under `statements/` can be deleted (the bucket is versioned, so an overwrite could only
 * hide a version; these deny both), closing records and statements can only be created with
 * `If-None-Match: *` (so never overwritten), and billed events can only be written by Athena
 * (UNLOAD, which refuses a folder holding data). Removing a statement takes a change of the bucket
 * policy: a reviewed stack update, logged by CloudTrail.
 */
export class BillingStatements extends Construct {
  /** The Glue tables, by their key in `STATEMENT_TABLES`. */
  public readonly tables: Readonly<Record<keyof typeof STATEMENT_TABLES, glue.CfnTable>>;
  private readonly props: BillingStatementsProps;

  constructor(scope: Construct, id: string, props: BillingStatementsProps) {
    super(scope, id);
    this.props = props;
    const bucket = props.lake.lakeBucket;
    this.tables = {
      closings: this.createTable('ClosingsTable', STATEMENT_TABLES.closings),
      statements: this.createTable('StatementsTable', STATEMENT_TABLES.statements),
      billedEvents: this.createTable('BilledEventsTable', STATEMENT_TABLES.billedEvents),
    };

    const everyone = [new iam.AnyPrincipal()];
    bucket.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'DenyStatementDeletion',
        effect: iam.Effect.DENY,
        principals: everyone,
        actions: [...STATEMENT_DELETE_ACTIONS],
        resources: [bucket.arnForObjects(`${LAKE_PREFIXES.statements}*`)],
      }),
    );
    // S3 evaluates s3:if-none-match on PutObject; a write without the header would replace the
    // current version. https://docs.aws.amazon.com/AmazonS3/latest/userguide/conditional-writes-enforce.html
    bucket.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'DenyStatementOverwrite',
        effect: iam.Effect.DENY,
        principals: everyone,
        actions: ['s3:PutObject'],
        resources: [STATEMENT_TABLES.closings, STATEMENT_TABLES.statements].map((table) => bucket.arnForObjects(`${table.prefix}*`)),
        conditions: { Null: { 's3:if-none-match': 'true' } },
      }),
    );
    // Athena writes UNLOAD output with the caller's credentials, as the first service called.
    // https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html#condition-keys-calledviafirst
    bucket.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'DenyBilledEventsOutsideAthena',
        effect: iam.Effect.DENY,
        principals: everyone,
        actions: ['s3:PutObject'],
        resources: [bucket.arnForObjects(`${STATEMENT_TABLES.billedEvents.prefix}*`)],
        conditions: { StringNotEquals: { 'aws:CalledViaFirst': 'athena.amazonaws.com' } },
      }),
    );
  }

  /**
   * Lets a grantee read statements: `billing statement` reads the objects; queries in the
   * workgroup read the tables (with what `grantQuery` gives).
   */
  public grantReadStatements(grantee: iam.IGrantable): iam.Grant {
    const { analytics, lake } = this.props;
    analytics.grantQuery(grantee);
    return lake.lakeBucket.grantRead(grantee, `${LAKE_PREFIXES.statements}*`);
  }

  /**
   * Lets a grantee close months (`billing close`): read statements and billable events, have
   * Athena UNLOAD the billed events, and create closing records and statements. The bucket
   * policy still denies every delete and overwrite under `statements/`.
   */
  public grantCloseMonth(grantee: iam.IGrantable): iam.Grant {
    this.grantReadStatements(grantee);
    this.props.encryptionKey.grantEncryptDecrypt(grantee);
    return iam.Grant.addToPrincipal({
      grantee,
      actions: [...STATEMENT_WRITE_ACTIONS],
      resourceArns: [this.props.lake.lakeBucket.arnForObjects(`${LAKE_PREFIXES.statements}*`)],
    });
  }

  /**
   * A table over one folder of `statements/`, partitioned by month with partition projection
   * (type `date`, format `yyyy-MM`, one month apart): a closing's files are queryable as soon as
   * they are written, with no crawler and no partition to register.
   * https://docs.aws.amazon.com/athena/latest/ug/partition-projection-supported-types.html
   */
  private createTable(id: string, table: StatementTable): glue.CfnTable {
    const { lake } = this.props;
    const location = lake.lakeBucket.s3UrlForObject(table.prefix);
    const key = STATEMENT_PARTITION_KEY;
    const cfnTable = new glue.CfnTable(this, id, {
      catalogId: Aws.ACCOUNT_ID,
      databaseName: lake.databaseName,
      tableInput: {
        name: table.table,
        description: table.description,
        tableType: 'EXTERNAL_TABLE',
        partitionKeys: [{ name: key, type: 'string', comment: 'The statement month, YYYY-MM' }],
        parameters: {
          classification: table.format,
          'projection.enabled': 'true',
          [`projection.${key}.type`]: 'date',
          [`projection.${key}.format`]: 'yyyy-MM',
          [`projection.${key}.range`]: `${FIRST_STATEMENT_MONTH},NOW`,
          [`projection.${key}.interval`]: '1',
          [`projection.${key}.interval.unit`]: 'MONTHS',
          // Athena reads every file under a partition's location, sub-folders included (a
          // closing's billed events are in closing=<id>/), as the ALB log table reads the dated
          // folders under its region's prefix.
          // https://docs.aws.amazon.com/athena/latest/ug/tables-location-format.html
          // https://docs.aws.amazon.com/athena/latest/ug/create-alb-access-logs-table.html
          'storage.location.template': `${location}${key}=\${${key}}/`,
        },
        storageDescriptor: {
          columns: table.columns.map((column) => ({ name: column.name, type: column.type, comment: column.comment })),
          location,
          ...STORAGE[table.format],
        },
      },
    });
    cfnTable.node.addDependency(lake.database);
    return cfnTable;
  }
}
