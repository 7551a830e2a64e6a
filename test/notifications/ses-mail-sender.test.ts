import * as http from 'node:http';
import { AddressInfo } from 'node:net';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { SignatureV4 } from '@smithy/signature-v4';
import { MailSendError, SesMailSender, sesEndpoint } from '../../lambdas/notifications/ses-mail-sender';

const credentials = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY' };
// The hash implementation the SDK itself signs with.
const Sha256 = new EventBridgeClient({ region: 'eu-west-1' }).config.sha256;

interface Captured {
  readonly method: string;
  readonly url: string;
  readonly headers: http.IncomingHttpHeaders;
  readonly body: string;
}

/** A server that records each request and answers what `answer` says. */
async function recordingServer(answer: (res: http.ServerResponse) => void) {
  const requests: Captured[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      requests.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
      answer(res);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => { resolve(); }));
  const url = new URL(`http://127.0.0.1:${String((server.address() as AddressInfo).port)}`);
  return { url, requests, close: () => new Promise<void>((resolve) => server.close(() => { resolve(); })) };
}

const mail = { to: ['owner@customer.example.com'], subject: 'Tenant t-1 was blocked', text: 'Blocked: acmé', html: '<p>Blocked: acmé</p>' };

describe('Function: sesEndpoint', () => {
  it.each([
    [{ AWS_ENDPOINT_URL_SESV2: 'http://127.0.0.1:8005', AWS_ENDPOINT_URL: 'http://127.0.0.1:4566' }, 'http://127.0.0.1:8005/'],
    [{ AWS_ENDPOINT_URL: 'http://127.0.0.1:4566' }, 'http://127.0.0.1:4566/'],
    [{}, 'https://email.eu-west-1.amazonaws.com/'],
  ])('follows the SDKs: AWS_ENDPOINT_URL_SESV2, then AWS_ENDPOINT_URL, then email.<region> (https://docs.aws.amazon.com/sdkref/latest/guide/ss-endpoints-table.html) — %j', (env, expected) => {
    // Act
    const endpoint = sesEndpoint('eu-west-1', env);
    // Assess
    expect(endpoint.href).toBe(expected);
  });
});

describe('Class: SesMailSender', () => {
  it('POSTs a Simple SendEmail to /v2/email/outbound-emails, SigV4-signed for "ses" (https://docs.aws.amazon.com/ses/latest/APIReference-V2/API_SendEmail.html)', async () => {
    // Prepare
    const server = await recordingServer((res) => { res.writeHead(200, { 'content-type': 'application/json' }).end('{"MessageId":"0100-abc"}'); });
    const sender = new SesMailSender({ from: 'notify@example.com', region: 'eu-west-1', endpoint: server.url, credentials: () => Promise.resolve(credentials) });
    try {
      // Act
      const result = await sender.send(mail);
      // Assess
      const [request] = server.requests;
      expect(result).toEqual({ messageId: '0100-abc' });
      expect([request.method, request.url, request.headers['content-type']]).toEqual(['POST', '/v2/email/outbound-emails', 'application/json']);
      expect(JSON.parse(request.body)).toEqual({
        FromEmailAddress: 'notify@example.com',
        Destination: { ToAddresses: ['owner@customer.example.com'] },
        Content: { Simple: { Subject: { Data: mail.subject, Charset: 'UTF-8' }, Body: { Text: { Data: mail.text, Charset: 'UTF-8' }, Html: { Data: mail.html, Charset: 'UTF-8' } } } },
      });
      const amzDate = String(request.headers['x-amz-date']);
      const signingDate = new Date(`${amzDate.slice(0, 4)}-${amzDate.slice(4, 6)}-${amzDate.slice(6, 8)}T${amzDate.slice(9, 11)}:${amzDate.slice(11, 13)}:${amzDate.slice(13, 15)}Z`);
      const sdk = new SignatureV4({ service: 'ses', region: 'eu-west-1', credentials, sha256: Sha256, applyChecksum: false });
      const expected = await sdk.sign(
        { method: 'POST', protocol: 'http:', hostname: server.url.hostname, port: Number(server.url.port), path: '/v2/email/outbound-emails', headers: { host: server.url.host, 'content-type': 'application/json' }, body: request.body },
        { signingDate },
      );
      expect(request.headers.authorization).toBe(expected.headers.authorization);
      expect(request.headers.authorization).toContain('/eu-west-1/ses/aws4_request');
    } finally {
      await server.close();
    }
  });

  it("throws SES's error type and message (x-amzn-ErrorType, body `message`)", async () => {
    // Prepare
    const server = await recordingServer((res) => {
      res.writeHead(400, { 'content-type': 'application/json', 'x-amzn-errortype': 'MessageRejected:http://internal.amazon.com/coral/com.amazonaws.sesv2/' });
      res.end('{"message":"Email address is not verified. The following identities failed the check in region EU-WEST-1: notify@example.com"}');
    });
    const sender = new SesMailSender({ from: 'notify@example.com', region: 'eu-west-1', endpoint: server.url, credentials: () => Promise.resolve(credentials) });
    try {
      // Act
      const attempt = sender.send(mail);
      // Assess
      await expect(attempt).rejects.toMatchObject({ name: 'MailSendError', type: 'MessageRejected', statusCode: 400, message: expect.stringMatching(/^SendEmail failed: Email address is not verified\./) as unknown });
    } finally {
      await server.close();
    }
  });

  it('throws a NetworkError when nothing listens', async () => {
    // Prepare
    const server = await recordingServer((res) => res.end());
    await server.close();
    const sender = new SesMailSender({ from: 'notify@example.com', region: 'eu-west-1', endpoint: server.url, credentials: () => Promise.resolve(credentials) });
    // Act
    const attempt = sender.send(mail);
    // Assess
    await expect(attempt).rejects.toEqual(expect.objectContaining({ type: 'NetworkError', statusCode: 0 }) as unknown);
    await expect(attempt).rejects.toBeInstanceOf(MailSendError);
  });

  it('refuses to be built without a region', () => {
    // Act
    const build = () => new SesMailSender({ from: 'notify@example.com', env: {} });
    // Assess
    expect(build).toThrow('No region for SES: set AWS_REGION or pass `region`.');
  });
});
