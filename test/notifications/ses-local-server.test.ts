import * as net from 'node:net';
import { startSesLocalServer } from '../../local/notifications/ses-local-server';

/** Whether a TCP connection to host:port opens. */
function connects(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    socket.once('connect', () => { socket.destroy(); resolve(true); });
    socket.once('error', () => { resolve(false); });
  });
}

describe('Function: startSesLocalServer', () => {
  it('listens on 127.0.0.1 only, serves its web UI, keeps what SendEmail sends at GET /store, and forgets it on clear', async () => {
    // Prepare
    const ses = await startSesLocalServer();
    try {
      // Act
      const sent = await fetch(`${ses.url}/v2/email/outbound-emails`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: 'AWS4-HMAC-SHA256 Credential=local' },
        body: JSON.stringify({ FromEmailAddress: 'a@example.com', Destination: { ToAddresses: ['b@example.com'] }, Content: { Simple: { Subject: { Data: 'Hi' }, Body: { Text: { Data: 'text' } } } } }),
      });
      const { MessageId } = (await sent.json()) as { MessageId: string };
      const ui = await fetch(`${ses.url}/`);
      const mails = await ses.mails();
      const later = await ses.mails(mails[0].at + 3600);
      await ses.clear();
      // Assess
      expect(await connects('127.0.0.1', ses.port)).toBe(true);
      // Bound to 127.0.0.1, not to every interface: another loopback address is refused.
      expect(await connects('127.0.0.2', ses.port)).toBe(false);
      expect(ui.headers.get('content-type')).toMatch(/^text\/html/);
      expect(mails).toEqual([expect.objectContaining({ messageId: MessageId, from: 'a@example.com', subject: 'Hi', body: { text: 'text' } })]);
      expect(later).toEqual([]);
      expect(await ses.mails()).toEqual([]);
    } finally {
      await ses.stop();
    }
  });

  it('refuses a SendEmail without an Authorization header, as SES does', async () => {
    // Prepare
    const ses = await startSesLocalServer();
    try {
      // Act
      const answer = await fetch(`${ses.url}/v2/email/outbound-emails`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
      // Assess
      expect(answer.status).toBe(403);
      expect(await ses.mails()).toEqual([]);
    } finally {
      await ses.stop();
    }
  });

  it('says why when its port is taken', async () => {
    // Prepare
    const first = await startSesLocalServer();
    try {
      // Act
      const attempt = startSesLocalServer({ port: first.port, startTimeoutMs: 5000 });
      // Assess
      await expect(attempt).rejects.toThrow(/The local SES server (exited before it listened|failed to start).*EADDRINUSE/s);
    } finally {
      await first.stop();
    }
  });

  it('stops: nothing listens on its port afterwards', async () => {
    // Prepare
    const ses = await startSesLocalServer();
    // Act
    await ses.stop();
    // Assess
    expect(await connects('127.0.0.1', ses.port)).toBe(false);
  });
});
