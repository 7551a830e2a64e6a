import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda';

/** An error a route turns into an HTTP answer with a JSON body naming the problem. */
export class HttpError extends Error {
  constructor(
    public readonly statusCode: number,
    public readonly code: string,
    message: string,
    public readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = 'HttpError';
  }
}

export type JsonResult = APIGatewayProxyStructuredResultV2 & { statusCode: number; headers: Record<string, string> };

export function json(statusCode: number, body: unknown, headers: Record<string, string> = {}): JsonResult {
  return {
    statusCode,
    headers: { 'content-type': 'application/json', 'cache-control': 'no-store', ...headers },
    body: JSON.stringify(body),
  };
}

/** `{ "error": code, "message": ... }` — never a stack trace. */
export function errorResult(error: HttpError, requestId?: string): JsonResult {
  return json(error.statusCode, { error: error.code, message: error.message, ...(requestId ? { requestId } : {}) }, error.headers);
}

/** Parses a JSON request body, or answers 400 naming the problem. */
export function parseJsonBody(body: string | undefined, isBase64Encoded = false): unknown {
  if (body === undefined || body === '') throw new HttpError(400, 'invalid-body', 'The request needs a JSON body.');
  const text = isBase64Encoded ? Buffer.from(body, 'base64').toString('utf8') : body;
  try {
    return JSON.parse(text);
  } catch {
    throw new HttpError(400, 'invalid-body', 'The request body is not valid JSON.');
  }
}
