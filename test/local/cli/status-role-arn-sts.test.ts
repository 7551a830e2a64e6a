import { createServer, IncomingMessage, Server } from 'node:http';
import { AddressInfo } from 'node:net';
import { STATUS_ROLE_SESSION_NAME, assumedRoleCredentials } from '../../../local/cli/usage-tracker';

/** A loopback STS endpoint answering AssumeRole as STS does (Query protocol, XML), recording the requests. */
async function fakeSts(): Promise<{ server: Server; url: string; bodies: string[] }> {
  const bodies: string[] = [];
  const server = createServer((req: IncomingMessage, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => { body += chunk.toString('utf8'); });
    req.on('end', () => {
      bodies.push(body);
      const expiration = new Date(Date.now() + 3600_000).toISOString();
      res.writeHead(200, { 'content-type': 'text/xml' });
      res.end(`<AssumeRoleResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><AssumeRoleResult><Credentials>
<AccessKeyId>ASIAASSUMEDROLE00001</AccessKeyId><SecretAccessKey>assumed-secret</SecretAccessKey><SessionToken>assumed-token</SessionToken><Expiration>${expiration}</Expiration>
</Credentials><AssumedRoleUser><AssumedRoleId>AROAEXAMPLE:${STATUS_ROLE_SESSION_NAME}</AssumedRoleId><Arn>arn:aws:sts::222222222222:assumed-role/lookup/${STATUS_ROLE_SESSION_NAME}</Arn></AssumedRoleUser></AssumeRoleResult>
<ResponseMetadata><RequestId>1</RequestId></ResponseMetadata></AssumeRoleResponse>`);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, url: `http://127.0.0.1:${String((server.address() as AddressInfo).port)}`, bodies };
}

describe('status --role-arn: the real SDK assumes the role (fromTemporaryCredentials against a loopback STS)', () => {
  const saved = { ...process.env };
  afterEach(() => {
    process.env = { ...saved };
  });

  it('calls AssumeRole with the role and the session name, with the caller\'s own credentials, and answers the role\'s credentials', async () => {
    const sts = await fakeSts();
    try {
      process.env.AWS_ENDPOINT_URL_STS = sts.url;
      process.env.AWS_ACCESS_KEY_ID = 'AKIACALLER0000000001';
      process.env.AWS_SECRET_ACCESS_KEY = 'caller-secret';
      delete process.env.AWS_PROFILE;
      const roleArn = 'arn:aws:iam::222222222222:role/cdk-hnb659fds-lookup-role-222222222222-eu-west-1';
      const credentials = await assumedRoleCredentials({ roleArn, sessionName: STATUS_ROLE_SESSION_NAME, region: 'eu-west-1' })();
      expect(credentials).toMatchObject({ accessKeyId: 'ASIAASSUMEDROLE00001', secretAccessKey: 'assumed-secret', sessionToken: 'assumed-token' });
      expect(sts.bodies).toHaveLength(1);
      const params = new URLSearchParams(sts.bodies[0]);
      expect(params.get('Action')).toBe('AssumeRole');
      expect(params.get('RoleArn')).toBe(roleArn);
      expect(params.get('RoleSessionName')).toBe(STATUS_ROLE_SESSION_NAME);
    } finally {
      sts.server.close();
    }
  });
});
