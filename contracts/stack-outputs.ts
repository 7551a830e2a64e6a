/**
 * The deployed stack's name and the outputs the CLI reads: the stack writes them under these keys
 * and `usage-tracker` finds the workgroup, database, workflow, stream, queue, topic and alarm
 * thresholds through them.
 */
export const DEFAULT_STACK_NAME = 'ApiUsageTracker';

export const STACK_OUTPUTS = {
  apiUrl: 'ApiUrl',
  adminTokenKeyArn: 'AdminTokenKeyArn',
  eventBusName: 'EventBusName',
  eventBusArn: 'EventBusArn',
  lakeBucketName: 'LakeBucketName',
  deliveryStreamName: 'DeliveryStreamName',
  glueDatabaseName: 'GlueDatabaseName',
  glueTableName: 'GlueTableName',
  glueWorkflowName: 'GlueWorkflowName',
  glueJobName: 'GlueJobName',
  glueCrawlerName: 'GlueCrawlerName',
  athenaWorkGroupName: 'AthenaWorkGroupName',
  alarmTopicArn: 'AlarmTopicArn',
  /** Age in seconds above which the data-freshness alarm fires (twice the Firehose buffer interval, at least 300). */
  dataFreshnessThresholdSeconds: 'DataFreshnessThresholdSeconds',
  deadLetterQueueUrl: 'DeadLetterQueueUrl',
  /** The consumer accounts' Cognito user pool and its app client (issue 15), unless the stack was deployed with `accounts=false`. */
  accountsUserPoolId: 'AccountsUserPoolId',
  accountsClientId: 'AccountsClientId',
} as const;

export type StackOutputKey = keyof typeof STACK_OUTPUTS;
