import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { createUsageTrackerApp } from '../../lib/app';
import { UsageAnalytics } from '../../lib/usage-analytics';
import { UsageIngestion } from '../../lib/usage-ingestion';
import { UsageLake } from '../../lib/usage-lake';
import { UsagePipelineMonitoring } from '../../lib/usage-pipeline-monitoring';
import { CDK_JSON_CONTEXT, lakeStack, resourcesOf } from './fixtures';

/** An alarm's properties as the template has them. */
interface AlarmProperties {
  readonly Namespace: string;
  readonly MetricName: string;
  readonly Statistic: string;
  readonly Period: number;
  readonly Threshold: number;
  readonly ComparisonOperator: string;
  readonly EvaluationPeriods: number;
  readonly TreatMissingData: string;
  readonly Dimensions: readonly { Name: string; Value: unknown }[];
  readonly AlarmActions: unknown;
  readonly OKActions: unknown;
}

const alarmsOf = (template: Template) => template.findResources('AWS::CloudWatch::Alarm') as Record<string, { Properties: AlarmProperties }>;
const alarmNamed = (template: Template, logicalId: RegExp) => {
  const found = Object.entries(alarmsOf(template)).filter(([id]) => logicalId.test(id));
  expect(found).toHaveLength(1);
  return found[0][1].Properties;
};

/** A monitoring construct watching a stand-in forwarder and its on-failure queue. */
function watched() {
  const { stack, lakeBucket } = lakeStack();
  const ingestion = new UsageIngestion(stack, 'Ingestion', { lakeBucket: lakeBucket.bucket });
  const lake = new UsageLake(stack, 'Lake', { lakeBucket: lakeBucket.bucket, encryptionKey: lakeBucket.encryptionKey });
  const analytics = new UsageAnalytics(stack, 'Analytics', { lake, encryptionKey: lakeBucket.encryptionKey });
  const monitoring = new UsagePipelineMonitoring(stack, 'Monitoring', { ingestion, lake, analytics });
  const forwarder = new lambda.Function(stack, 'Forwarder', { runtime: lambda.Runtime.NODEJS_24_X, handler: 'index.handler', code: lambda.Code.fromInline('exports.handler = async () => {};') });
  const queue = new sqs.Queue(stack, 'ForwarderFailures');
  const alarms = monitoring.watchUsageLogForwarder(forwarder, queue);
  return { template: Template.fromStack(stack), monitoring, forwarder, queue, alarms, stack };
}

describe('Construct: UsagePipelineMonitoring watching the usage-log forwarder', () => {
  const { template, monitoring, forwarder, queue, alarms, stack } = watched();
  const forwarderRef = { Ref: stack.getLogicalId(forwarder.node.defaultChild as lambda.CfnFunction) };
  const topicRef = [{ Ref: Match.stringLikeRegexp('AlarmTopic') }];
  const notifies = (alarm: AlarmProperties) => {
    expect(alarm.AlarmActions).toEqual([{ Ref: expect.stringMatching(/AlarmTopic/) as unknown }]);
    expect(alarm.OKActions).toEqual([{ Ref: expect.stringMatching(/AlarmTopic/) as unknown }]);
    expect(alarm.ComparisonOperator).toBe('GreaterThanThreshold');
    expect(alarm.Threshold).toBe(0);
    expect(alarm.EvaluationPeriods).toBe(1);
    expect(alarm.Period).toBe(300);
    // No data is no traffic: the forwarder runs only when route functions log usage lines.
    expect(alarm.TreatMissingData).toBe('notBreaching');
  };

  it('alarms, to the topic, on any forwarder error in five minutes (Lambda retries twice before the on-failure queue)', () => {
    const alarm = alarmNamed(template, /UsageLogForwarderErrorsAlarm/);
    expect([alarm.Namespace, alarm.MetricName, alarm.Statistic]).toEqual(['AWS/Lambda', 'Errors', 'Sum']);
    expect(alarm.Dimensions).toEqual([{ Name: 'FunctionName', Value: forwarderRef }]);
    notifies(alarm);
  });

  it('alarms, to the topic, on any message visible in the on-failure queue (ApproximateNumberOfMessagesVisible > 0)', () => {
    const alarm = alarmNamed(template, /UsageLogForwarderDeadLetterAlarm/);
    expect([alarm.Namespace, alarm.MetricName, alarm.Statistic]).toEqual(['AWS/SQS', 'ApproximateNumberOfMessagesVisible', 'Maximum']);
    expect(alarm.Dimensions).toEqual([{ Name: 'QueueName', Value: { 'Fn::GetAtt': [stack.getLogicalId(queue.node.defaultChild as sqs.CfnQueue), 'QueueName'] } }]);
    notifies(alarm);
  });

  // https://docs.aws.amazon.com/lambda/latest/dg/monitoring-metrics-types.html: DestinationDeliveryFailures
  it('alarms, to the topic, when Lambda cannot write a failed delivery to the on-failure queue (DestinationDeliveryFailures)', () => {
    const alarm = alarmNamed(template, /UsageLogForwarderDestinationFailuresAlarm/);
    expect([alarm.Namespace, alarm.MetricName, alarm.Statistic]).toEqual(['AWS/Lambda', 'DestinationDeliveryFailures', 'Sum']);
    expect(alarm.Dimensions).toEqual([{ Name: 'FunctionName', Value: forwarderRef }]);
    notifies(alarm);
    template.hasResourceProperties('AWS::CloudWatch::Alarm', { MetricName: 'DestinationDeliveryFailures', AlarmActions: topicRef });
  });

  it('exposes the three alarms and refuses to watch a second forwarder', () => {
    expect(Object.keys(alarms).sort()).toEqual(['deadLetterMessages', 'destinationDeliveryFailures', 'errors']);
    expect(monitoring.usageLogForwarderAlarms).toBe(alarms);
    expect(() => monitoring.watchUsageLogForwarder(forwarder, queue)).toThrow(/already called/);
  });

  it('adds a forwarder row to the dashboard: its invocations and errors, the on-failure queue, and its alarms', () => {
    const [dashboard] = resourcesOf<{ DashboardBody: unknown }>(template, 'AWS::CloudWatch::Dashboard');
    const body = JSON.stringify(dashboard.Properties.DashboardBody);
    for (const title of ['Usage-log forwarder: invocations, errors, throttles', 'Usage-log forwarder: undelivered (on-failure queue)', 'Usage-log forwarder alarms']) {
      expect(body).toContain(title);
    }
    expect(body).toContain('DestinationDeliveryFailures');
    expect(body).toContain('ApproximateNumberOfMessagesVisible');
  });
});

describe('Stack: the metered API\'s usage-log forwarder is watched', () => {
  const { stack } = createUsageTrackerApp({ outdir: mkdtempSync(path.join(tmpdir(), 'cdk-out-')), context: { ...CDK_JSON_CONTEXT, 'aws:cdk:bundling-stacks': [] } });
  const template = Template.fromStack(stack);
  const functions = template.findResources('AWS::Lambda::Function') as Record<string, { Properties: { LoggingConfig?: { LogFormat?: string; ApplicationLogLevel?: string } } }>;

  it('alarms on the forwarder the subscription filters invoke, and on its on-failure queue', () => {
    const forwarderId = Object.keys(functions).find((id) => /UsageLogForwarderFunction/.test(id));
    expect(forwarderId).toBeDefined();
    expect(alarmNamed(template, /UsageLogForwarderErrorsAlarm/).Dimensions).toEqual([{ Name: 'FunctionName', Value: { Ref: forwarderId } }]);
    const queueName = alarmNamed(template, /UsageLogForwarderDeadLetterAlarm/).Dimensions[0].Value as { 'Fn::GetAtt': [string, string] };
    expect(queueName['Fn::GetAtt'][0]).toMatch(/UsageLogDeadLetterQueue/);
    template.hasResourceProperties('AWS::Lambda::EventInvokeConfig', {
      FunctionName: { Ref: forwarderId },
      MaximumRetryAttempts: 2,
      DestinationConfig: { OnFailure: { Destination: { 'Fn::GetAtt': [queueName['Fn::GetAtt'][0], 'Arn'] } } },
    });
  });

  // Usage lines are written with process.stdout.write, not console: in the default text format
  // Lambda passes such output through as it is, one log event a line, with no timestamp, request id
  // or level prefix (those come from the runtime's console methods,
  // https://docs.aws.amazon.com/lambda/latest/dg/nodejs-logging.html), so the JSON filter pattern
  // sees the line itself. In JSON format, a JSON line without a "level" key is taken as INFO, and
  // an application log level above INFO would drop it
  // (https://docs.aws.amazon.com/lambda/latest/dg/monitoring-cloudwatchlogs-log-level.html).
  it('keeps every function in a log format that passes usage lines through: text, or JSON at INFO or below', () => {
    expect(Object.keys(functions).length).toBeGreaterThan(3);
    for (const [id, fn] of Object.entries(functions)) {
      const config = fn.Properties.LoggingConfig;
      const passesInfo = config?.LogFormat !== 'JSON' || ['TRACE', 'DEBUG', 'INFO', undefined].includes(config.ApplicationLogLevel);
      expect({ id, passesInfo }).toEqual({ id, passesInfo: true });
    }
  });
});
