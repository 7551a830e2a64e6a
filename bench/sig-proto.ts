import { SigV4Signer } from '../sdk/sigv4';
const body = 'x'.repeat(5000);
const s = new SigV4Signer('events', 'us-east-1');
const req = { method: 'POST', path: '/', headers: { host: '127.0.0.1:4010', 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': 'AWSEvents.PutEvents' }, body };
const cred = { accessKeyId: 'a', secretAccessKey: 'b' };
for (let r = 0; r < 3; r++) { const t0 = process.hrtime.bigint(); for (let i = 0; i < 50000; i++) s.sign(req, cred); console.log('sign µs', (Number(process.hrtime.bigint() - t0) / 50000 / 1000).toFixed(2)); }
