import { Server, createServer } from 'node:http';
import { AddressInfo } from 'node:net';
import { ApiDestinationDelivery, isRetryableStatus } from '../../../local/events/event-bus-delivery';

/**
 * The delivery to API destinations on its own, against a real loopback server: the retry rules of
 * "API destination error codes" and the 5 s client timeout
 * (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-api-destinations.html), and its bounds.
 */

/** A server that never answers: every request stays open until the test closes the server. */
async function silentServer(): Promise<{ url: string; requests: () => number; server: Server }> {
  let requests = 0;
  const server = createServer(() => { requests++; });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`, requests: () => requests, server };
}

const closeServer = (server: Server) => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => { resolve(); }); });

const post = (url: string, maxRetries = 0) => ({ url, method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}', maxRetries });

describe('Class: ApiDestinationDelivery', () => {
  it.each([
    [500, true], [503, true], [429, true], [409, true], [401, true], [407, true],
    [400, false], [403, false], [404, false], [302, false], [413, false],
  ])('status %i is retried: %s', (status, retried) => {
    expect(isRetryableStatus(status)).toBe(retried);
  });

  it('keeps at most maxInFlight requests open and maxQueued waiting, dropping (and counting) the rest', async () => {
    const target = await silentServer();
    const delivery = new ApiDestinationDelivery({ maxInFlight: 1, maxQueued: 1, timeoutMs: 60_000 });
    try {
      expect([delivery.enqueue(post(target.url)), delivery.enqueue(post(target.url)), delivery.enqueue(post(target.url))]).toEqual([true, true, false]);
      expect(delivery.stats()).toMatchObject({ inFlight: 1, queued: 1, dropped: 1 });
    } finally {
      await delivery.close();
      await closeServer(target.server);
    }
    // Closing drops the waiting one and aborts the one in flight.
    expect(delivery.stats()).toMatchObject({ inFlight: 0, queued: 0, dropped: 3, delivered: 0 });
    expect(delivery.enqueue(post(target.url))).toBe(false);
  });

  it('times a silent endpoint out and retries it, then gives up', async () => {
    const target = await silentServer();
    const delivery = new ApiDestinationDelivery({ timeoutMs: 50, backoffMs: 1 });
    try {
      delivery.enqueue(post(target.url, 2));
      await delivery.idle();
      expect(target.requests()).toBe(3);
      expect(delivery.stats()).toMatchObject({ retries: 2, failed: 1, delivered: 0 });
    } finally {
      await delivery.close();
      await closeServer(target.server);
    }
  });

  it('stops retrying when Retry-After is negative', async () => {
    let requests = 0;
    const server = createServer((_req, res) => {
      requests++;
      res.writeHead(503, { 'retry-after': '-1' });
      res.end();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const delivery = new ApiDestinationDelivery({ backoffMs: 1 });
    try {
      delivery.enqueue(post(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`, 3));
      await delivery.idle();
      expect(requests).toBe(1);
      expect(delivery.stats()).toMatchObject({ retries: 0, failed: 1 });
    } finally {
      await delivery.close();
      await closeServer(server);
    }
  });
});
