import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { App } from 'aws-cdk-lib';
import { DELIVERY_PIPELINE_CONTEXT_KEY, DeliveryPipelineConfigError, readDeliveryPipelineConfig } from '../../lib/delivery-config';
import { CDK_JSON_CONTEXT, testApp } from './fixtures';

type Json = Record<string, unknown>;

const CONNECTION = 'arn:aws:codeconnections:eu-west-1:111111111111:connection/aEXAMPLE-8aad-4d5d-8878-dfcab0bc441f';

/** The example of lib/delivery-config.ts, as a fresh object each time. */
function validConfig(): Json {
  return {
    connectionArn: CONNECTION,
    repository: 'my-org/api-usage-tracker',
    branch: 'main',
    account: '111111111111',
    region: 'eu-west-1',
    environments: [
      { name: 'staging', account: '222222222222', region: 'eu-west-1', context: { alarmEmail: 'ops@example.com' } },
      { name: 'production', account: '333333333333', region: 'eu-west-1', approval: true, context: { alarmEmail: 'oncall@example.com', glueSchedule: 'cron(10 * * * ? *)' } },
    ],
  };
}

const read = (pipeline: unknown, other: Json = {}) => readDeliveryPipelineConfig(testApp({ ...other, [DELIVERY_PIPELINE_CONTEXT_KEY]: pipeline }).node);

/** The valid config with one environment's fields replaced (undefined removes a field). */
function withEnvironment(index: number, fields: Json): Json {
  const config = validConfig();
  const environments = [...(config.environments as Json[])];
  environments[index] = Object.fromEntries(Object.entries({ ...environments[index], ...fields }).filter(([, value]) => value !== undefined));
  return { ...config, environments };
}

const refusal = (pipeline: unknown, other: Json = {}): string => {
  try {
    read(pipeline, other);
  } catch (error) {
    expect(error).toBeInstanceOf(DeliveryPipelineConfigError);
    return (error as Error).message;
  }
  throw new Error('expected a refusal');
};

describe('Function: readDeliveryPipelineConfig', () => {
  it('is undefined without the deliveryPipeline context (the single stack, as before)', () => {
    expect(readDeliveryPipelineConfig(testApp().node)).toBeUndefined();
  });

  it('reads a full valid config, approval defaulting to false', () => {
    const config = read(validConfig());
    expect(config).toEqual({
      connectionArn: CONNECTION,
      repository: 'my-org/api-usage-tracker',
      branch: 'main',
      account: '111111111111',
      region: 'eu-west-1',
      environments: [
        { name: 'staging', account: '222222222222', region: 'eu-west-1', approval: false, context: { alarmEmail: 'ops@example.com' } },
        { name: 'production', account: '333333333333', region: 'eu-west-1', approval: true, context: { alarmEmail: 'oncall@example.com', glueSchedule: 'cron(10 * * * ? *)' } },
      ],
    });
  });

  it('reads the example of its own documentation (which the README copies)', () => {
    const source = readFileSync(path.join(__dirname, '..', '..', 'lib', 'delivery-config.ts'), 'utf8');
    const example = /@example cdk\.json\n((?: \*.*\n)+?) \*\//.exec(source)?.[1];
    if (example === undefined) throw new Error('no @example cdk.json in lib/delivery-config.ts');
    const documented = JSON.parse(`{${example.replace(/^ \* ?/gm, '')}}`) as Json;
    expect(read(documented[DELIVERY_PIPELINE_CONTEXT_KEY])).toEqual(read(validConfig()));
  });

  it('reads the JSON text that `-c deliveryPipeline=...` gives', () => {
    expect(read(JSON.stringify(validConfig()))).toEqual(read(validConfig()));
  });

  it('reads the cdk.json context through the app, as `cdk synth` gives it', () => {
    const app = new App({ context: { ...CDK_JSON_CONTEXT, [DELIVERY_PIPELINE_CONTEXT_KEY]: validConfig() } });
    expect(readDeliveryPipelineConfig(app.node)?.environments.map((e) => e.name)).toEqual(['staging', 'production']);
  });

  it('accepts a connection made before the rename (codestar-connections) and a GovCloud partition', () => {
    const arn = 'arn:aws-us-gov:codestar-connections:us-gov-west-1:111111111111:connection/0123abcd-0000-1111-2222-333344445555';
    expect(read({ ...validConfig(), connectionArn: arn, region: 'us-gov-west-1' })?.connectionArn).toBe(arn);
  });

  it('accepts an environment without context (the stack defaults)', () => {
    expect(read(withEnvironment(0, { context: undefined }))?.environments[0]?.context).toEqual({});
  });

  describe('refuses, naming the field', () => {
    it.each([
      ['text that is not JSON', '{"connectionArn":', /^deliveryPipeline must be a JSON object; got text that is not JSON/],
      ['a list', [], /^deliveryPipeline must be an object; got \[\]$/],
      ['a connection ARN of another service', { ...validConfig(), connectionArn: 'arn:aws:codecommit:eu-west-1:111111111111:repo' }, /^deliveryPipeline\.connectionArn must be a CodeConnections connection ARN.*; got "arn:aws:codecommit/],
      ['a connection ARN without an id', { ...validConfig(), connectionArn: 'arn:aws:codeconnections:eu-west-1:111111111111:connection/' }, /^deliveryPipeline\.connectionArn must be/],
      ['a repository without its owner', { ...validConfig(), repository: 'api-usage-tracker' }, /^deliveryPipeline\.repository must be owner\/name of the repository.*; got "api-usage-tracker"$/],
      ['an empty branch', { ...validConfig(), branch: ' ' }, /^deliveryPipeline\.branch must be a non-empty branch name; got " "$/],
      ['a tools account of 11 digits', { ...validConfig(), account: '11111111111' }, /^deliveryPipeline\.account must be 12 digits \(the tools account\); got "11111111111"$/],
      ['a tools account given as a number', { ...validConfig(), account: 111111111111 }, /^deliveryPipeline\.account must be 12 digits \(the tools account\); got 111111111111$/],
      ['a tools region that is not one', { ...validConfig(), region: 'ireland' }, /^deliveryPipeline\.region must be a region such as eu-west-1 \(the tools account's\); got "ireland"$/],
      ['no environments', { ...validConfig(), environments: [] }, /^deliveryPipeline\.environments must be a list of at least one environment; got \[\]$/],
      ['environments missing', { ...validConfig(), environments: undefined }, /^deliveryPipeline\.environments must be a list of at least one environment; got undefined$/],
      ['an unknown top-level key', { ...validConfig(), stages: [] }, /^deliveryPipeline has unknown key "stages"; known: connectionArn, repository, branch, account, region, environments$/],
    ])('%s', (_case, pipeline, message) => {
      expect(refusal(pipeline)).toMatch(message);
    });
  });

  describe('refuses, naming the environment and the field', () => {
    it.each([
      ['an account of 3 digits', withEnvironment(1, { account: '123' }), 'deliveryPipeline.environments[1] (production).account must be 12 digits; got "123"'],
      ['a region without its number', withEnvironment(0, { region: 'eu-west' }), 'deliveryPipeline.environments[0] (staging).region must be a region such as eu-west-1; got "eu-west"'],
      ['approval as text', withEnvironment(1, { approval: 'yes' }), 'deliveryPipeline.environments[1] (production).approval must be true or false; got "yes"'],
      ['a context that is a list', withEnvironment(0, { context: ['alarmEmail'] }), 'deliveryPipeline.environments[0] (staging).context must be an object of the stack\'s context keys; got ["alarmEmail"]'],
      ['an unknown environment key', withEnvironment(1, { manualApproval: true }), 'deliveryPipeline.environments[1] (production) has unknown key "manualApproval"; known: name, account, region, approval, context'],
      ['an environment that is not an object', { ...validConfig(), environments: ['staging'] }, 'deliveryPipeline.environments[0] must be an object with name, account, region, approval and context; got "staging"'],
    ])('%s', (_case, pipeline, message) => {
      expect(refusal(pipeline)).toBe(message);
    });

    it.each([
      ['starting with a digit', '1st'],
      ['with an underscore', 'pre_prod'],
      ['longer than 32 characters', `a${'b'.repeat(32)}`],
      ['empty', ''],
    ])('a name %s', (_case, name) => {
      expect(refusal(withEnvironment(0, { name }))).toBe(
        `deliveryPipeline.environments[0].name must be letters, digits and dashes, starting with a letter, at most 32 characters; got ${JSON.stringify(name)}`,
      );
    });

    it('accepts a name of exactly 32 characters', () => {
      const name = `a${'b'.repeat(31)}`;
      expect(read(withEnvironment(0, { name }))?.environments[0]?.name).toBe(name);
    });

    it('a name used twice, ignoring case', () => {
      expect(refusal(withEnvironment(1, { name: 'Staging' }))).toBe(
        'deliveryPipeline.environments[1] (Staging).name must be unique (names are compared ignoring case); "Staging" is used twice',
      );
    });

    it('context keys the stack does not read', () => {
      expect(refusal(withEnvironment(1, { context: { alarmEmail: 'oncall@example.com', alarmMail: 'x', region: 'eu-west-1' } }))).toMatch(
        /^deliveryPipeline\.environments\[1\] \(production\)\.context has unknown keys "alarmMail", "region"; known: eventSources, /,
      );
    });

    it('context values the stack\'s own validation refuses, with its message', () => {
      expect(refusal(withEnvironment(1, { context: { glueWorkers: 1 } }))).toBe(
        'deliveryPipeline.environments[1] (production).context: Context parameter "glueWorkers" is 1; expected a whole number from 2 to 299. Set it with: npx cdk deploy -c glueWorkers=<value>',
      );
      expect(refusal(withEnvironment(0, { context: { alarmEmail: 'not-an-address' } }))).toMatch(/^deliveryPipeline\.environments\[0\] \(staging\)\.context: Context parameter "alarmEmail" is "not-an-address"/);
    });

    it('checks an environment\'s context together with the app\'s other context', () => {
      // notificationOperators alone is refused by the stack; with the app's notificationsFrom it is not.
      const pipeline = withEnvironment(0, { context: { notificationOperators: 'ops@example.com' } });
      expect(refusal(pipeline)).toMatch(/^deliveryPipeline\.environments\[0\] \(staging\)\.context: Context parameter "notificationOperators"/);
      expect(read(pipeline, { notificationsFrom: 'usage@example.com' })?.environments[0]?.context).toEqual({ notificationOperators: 'ops@example.com' });
    });

    it('lets an environment override what the app\'s context would refuse', () => {
      const pipeline = withEnvironment(0, { context: { glueWorkers: '4' } });
      // staging overrides the app's glueWorkers; production, which does not, is refused with the app's value.
      expect(refusal(pipeline, { glueWorkers: 'many' })).toMatch(/^deliveryPipeline\.environments\[1\] \(production\)\.context: Context parameter "glueWorkers" is "many"/);
      const stagingOnly = { ...pipeline, environments: (pipeline.environments as Json[]).slice(0, 1) };
      expect(read(stagingOnly, { glueWorkers: 'many' })?.environments[0]?.context).toEqual({ glueWorkers: '4' });
    });
  });
});
