import { STATUS_CODES, Server } from 'node:http';
import type { Duplex } from 'node:stream';

/**
 * The requests Node's HTTP parser refuses before any handler sees them, answered with a JSON body
 * instead of Node's empty one. Node answers them itself only while a server has no `clientError`
 * listener (https://nodejs.org/api/http.html#event-clienterror), with the statuses this keeps:
 * a header block over `maxHeaderSize` is 431, chunk extensions over their limit 413, a request
 * that took too long 408, anything else the parser cannot read 400.
 */

/** A status Node's parser refuses a request with. */
export type ParserRefusalStatus = 400 | 408 | 413 | 431;

/** The status Node gives a parser error (its `code`). */
export function parserRefusalStatus(code: string | undefined): ParserRefusalStatus {
  switch (code) {
    case 'HPE_HEADER_OVERFLOW':
      return 431;
    case 'HPE_CHUNK_EXTENSIONS_OVERFLOW':
      return 413;
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return 408;
    default:
      return 400;
  }
}

/**
 * Makes `server` answer parser refusals with `bodyOf(status)` as JSON, then close the connection.
 * A socket that is already gone (the client reset it) is only destroyed.
 */
export function answerParserRefusalsWithJson(server: Server, bodyOf: (status: ParserRefusalStatus) => unknown): void {
  server.on('clientError', (error: NodeJS.ErrnoException, socket: Duplex) => {
    if (error.code === 'ECONNRESET' || !socket.writable) {
      socket.destroy();
      return;
    }
    const status = parserRefusalStatus(error.code);
    const body = JSON.stringify(bodyOf(status));
    socket.end(
      `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
  });
}
