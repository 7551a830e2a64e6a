import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { SignatureV4 } from '@smithy/signature-v4';
import { SigV4Signer } from '../../sdk/sigv4';

const request = {
  method: 'POST',
  path: '/',
  headers: { host: 'events.eu-west-1.amazonaws.com', 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': 'AWSEvents.PutEvents' },
  body: JSON.stringify({ Entries: [{ Source: 'my-applications', DetailType: 'api-usage-event', Detail: '{"tenantId":"acmé"}' }] }),
};

// The hash implementation the SDK itself signs with.
const Sha256 = new EventBridgeClient({ region: 'eu-west-1' }).config.sha256;

async function sdkSignature(credentials: { accessKeyId: string; secretAccessKey: string; sessionToken?: string }, at: Date) {
  // applyChecksum: false, as the EventBridge client signs (x-amz-content-sha256 is an S3 header).
  const signer = new SignatureV4({ service: 'events', region: 'eu-west-1', credentials, sha256: Sha256, applyChecksum: false });
  const signed = await signer.sign(
    { ...request, protocol: 'https:', hostname: request.headers.host, headers: { ...request.headers } },
    { signingDate: at },
  );
  return signed.headers;
}

describe('Class: SigV4Signer', () => {
  const at = new Date('2026-11-23T10:15:30.456Z');

  it('produces the signature the AWS SDK signer produces', async () => {
    const credentials = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY' };
    const ours = new SigV4Signer('events', 'eu-west-1').sign(request, credentials, at);
    const theirs = await sdkSignature(credentials, at);
    expect(ours['x-amz-date']).toBe('20261123T101530Z');
    expect(ours.authorization).toBe(theirs.authorization);
  });

  it('signs the session token of temporary credentials', async () => {
    const credentials = { accessKeyId: 'ASIAEXAMPLE', secretAccessKey: 'secret', sessionToken: 'token/with+chars=' };
    const ours = new SigV4Signer('events', 'eu-west-1').sign(request, credentials, at);
    const theirs = await sdkSignature(credentials, at);
    expect(ours['x-amz-security-token']).toBe('token/with+chars=');
    expect(ours.authorization).toBe(theirs.authorization);
  });

  it('derives a new signing key on a new day or new credentials', () => {
    const signer = new SigV4Signer('events', 'eu-west-1');
    const a = signer.sign(request, { accessKeyId: 'A', secretAccessKey: 'one' }, at).authorization;
    const b = signer.sign(request, { accessKeyId: 'A', secretAccessKey: 'two' }, at).authorization;
    const c = signer.sign(request, { accessKeyId: 'A', secretAccessKey: 'one' }, new Date('2026-11-24T00:00:01Z')).authorization;
    expect(new Set([a, b, c]).size).toBe(3);
  });
});
