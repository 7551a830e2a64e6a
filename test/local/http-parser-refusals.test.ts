import { createServer, request, Server } from 'node:http';
import { connect } from 'node:net';
import type { AddressInfo } from 'node:net';
import { answerParserRefusalsWithJson, parserRefusalStatus } from '../../local/http-parser-refusals';

/** A raw HTTP exchange: what the server wrote back to `text`. */
function rawExchange(port: number, text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => socket.end(text));
    let answer = '';
    socket.on('data', (chunk: Buffer) => (answer += chunk.toString('utf8')));
    socket.on('close', () => { resolve(answer); });
    socket.on('error', reject);
  });
}

describe('answerParserRefusalsWithJson: what Node refuses before a handler runs, answered in JSON', () => {
  let server: Server;
  let port: number;
  beforeAll(async () => {
    server = createServer({ maxHeaderSize: 4096 }, (_req, res) => res.end('handled'));
    answerParserRefusalsWithJson(server, (status) => ({ message: `refused ${status}` }));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
  });

  it('answers a header block over the limit with 431 and a JSON body', async () => {
    const { status, type, body } = await new Promise<{ status?: number; type?: string; body: string }>((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port, path: '/', headers: { authorization: `Bearer ${'x'.repeat(64 * 1024)}` } }, (res) => {
        let text = '';
        res.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')));
        res.on('end', () => { resolve({ status: res.statusCode, type: res.headers['content-type'], body: text }); });
      });
      req.on('error', reject);
      req.end();
    });
    expect(status).toBe(431);
    expect(type).toBe('application/json');
    expect(JSON.parse(body)).toEqual({ message: 'refused 431' });
  });

  it('answers a request line the parser cannot read with 400 and a JSON body', async () => {
    const answer = await rawExchange(port, 'NOT AN HTTP REQUEST\r\n\r\n');
    expect(answer).toMatch(/^HTTP\/1\.1 400 Bad Request\r\n/);
    expect(JSON.parse(answer.slice(answer.indexOf('\r\n\r\n') + 4))).toEqual({ message: 'refused 400' });
  });

  it('leaves well-formed requests to the handler', async () => {
    const answer = await rawExchange(port, 'GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    expect(answer).toMatch(/^HTTP\/1\.1 200 OK/);
    expect(answer.endsWith('handled')).toBe(true);
  });

  it('maps the parser codes to the statuses Node itself answers with', () => {
    expect([parserRefusalStatus('HPE_HEADER_OVERFLOW'), parserRefusalStatus('HPE_CHUNK_EXTENSIONS_OVERFLOW'), parserRefusalStatus('ERR_HTTP_REQUEST_TIMEOUT'), parserRefusalStatus('HPE_INVALID_METHOD')]).toEqual([431, 413, 408, 400]);
  });
});
