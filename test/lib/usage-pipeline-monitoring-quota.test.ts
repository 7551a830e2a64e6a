import { Template } from 'aws-cdk-lib/assertions';
import * as logs from 'aws-cdk-lib/aws-logs';
import { RESERVED_TENANT_IDS } from '../../contracts/tenants';
import { resolveTierPolicies } from '../../contracts/tiers';
import { UsageIngestion } from '../../lib/usage-ingestion';
import { UsageLake } from '../../lib/usage-lake';
import { UsagePipelineMonitoring, quotaUseQueryLines, quotasMarkdown } from '../../lib/usage-pipeline-monitoring';
import { lakeStack } from './fixtures';

/** The monitoring construct of a lake stack, and two log groups standing for route functions'. */
function monitoringWithLogGroups() {
  const { stack, lakeBucket } = lakeStack();
  const ingestion = new UsageIngestion(stack, 'Ingestion', { lakeBucket: lakeBucket.bucket });
  const lake = new UsageLake(stack, 'Lake', { lakeBucket: lakeBucket.bucket, encryptionKey: lakeBucket.encryptionKey });
  const monitoring = new UsagePipelineMonitoring(stack, 'Monitoring', { ingestion, lake });
  const groups = ['Users', 'Products'].map((name) => new logs.LogGroup(stack, `${name}Logs`));
  return { stack, monitoring, groups };
}

/** The dashboard body as CloudFormation joins it, with the log group names (tokens) resolved to their names. */
function dashboardBody(template: Template): string {
  const [dashboard] = Object.values(template.findResources('AWS::CloudWatch::Dashboard'));
  const body = (dashboard.Properties as { DashboardBody: { 'Fn::Join': [string, unknown[]] } }).DashboardBody['Fn::Join'][1];
  return body.map((part) => (typeof part === 'string' ? part : JSON.stringify(part))).join('');
}

describe('Method: UsagePipelineMonitoring.watchQuotaUse (issue 16: quota use per tenant on the CloudWatch dashboard)', () => {
  it('adds a Logs Insights table over the route functions\' log groups, and the tiers\' quotas beside it', () => {
    // Prepare
    const { stack, monitoring, groups } = monitoringWithLogGroups();
    const tiers = resolveTierPolicies({ basic: { quota: { period: 'week', requests: 50_000 } }, premium: { quota: { period: 'month', requests: 1_000_000 } } });
    // Act
    monitoring.watchQuotaUse(groups, tiers);
    // Assess
    const body = dashboardBody(Template.fromStack(stack));
    expect(body).toContain('"type":"log"');
    expect(body).toMatch(/"query":"SOURCE '\{"Ref":"UsersLogs[0-9A-F]+"\}' \| SOURCE '\{"Ref":"ProductsLogs[0-9A-F]+"\}' \| filter usageLog = /);
    expect(body).toContain('stats count(*) as admitted by bin(1d), detail.tenantId, detail.tier');
    expect(body).toContain('"view":"table"');
    expect(body).toContain('Quota use per tenant');
    expect(body).toContain('| basic | 50,000 a week (UTC) |');
    expect(body).toContain('| premium | 1,000,000 a month (UTC) |');
    expect(body).toContain('| free | none |');
  });

  it('refuses to watch no log group, saying what it needs', () => {
    const { monitoring } = monitoringWithLogGroups();
    expect(() => monitoring.watchQuotaUse([], resolveTierPolicies())).toThrow('watchQuotaUse needs the log groups of the functions that write usage lines; got none.');
  });
});

describe('Function: quotaUseQueryLines', () => {
  it('counts usage lines only, leaves out the limiter\'s refusals (401, 403, 429) and every reserved tenant id, per UTC day, tenant and tier', () => {
    const query = quotaUseQueryLines().join('\n| ');
    expect(query).toMatch(/^filter usageLog = "api-usage-event\/1"\n/);
    for (const status of [401, 403, 429]) expect(query).toContain(`detail.statusCode != ${status}`);
    expect(query).not.toContain('detail.statusCode != 500');
    for (const id of Object.values(RESERVED_TENANT_IDS)) expect(query).toContain(`detail.tenantId != "${id}"`);
  });
});

describe('Function: quotasMarkdown', () => {
  it('lists every tier with its quota or none, and its rate', () => {
    const markdown = quotasMarkdown(resolveTierPolicies({ enterprise: { quota: { period: 'day', requests: 1_000 } } }));
    expect(markdown.split('\n').filter((line) => line.startsWith('| ') && !line.startsWith('| Tier'))).toEqual([
      `| free | none | ${String(resolveTierPolicies().free.requestsPerMinute)}/min |`,
      `| basic | none | ${String(resolveTierPolicies().basic.requestsPerMinute)}/min |`,
      `| premium | none | ${String(resolveTierPolicies().premium.requestsPerMinute)}/min |`,
      `| enterprise | 1,000 a day (UTC) | ${String(resolveTierPolicies().enterprise.requestsPerMinute)}/min |`,
    ]);
  });
});
