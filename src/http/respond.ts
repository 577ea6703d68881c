// The edge's answers: JSON bodies and the one JSON error writer (every listener uses these).
import type { ServerResponse } from 'node:http';
import type { WardenError } from '../core/errors.js';

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

export function sendError(res: ServerResponse, err: WardenError, requestId: string, close = false): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const headers: Record<string, string> = { 'x-request-id': requestId, ...err.headers };
  if (close) headers.connection = 'close';
  sendJson(res, err.status, err.toBody(requestId), headers);
}
