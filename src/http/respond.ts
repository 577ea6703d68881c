// The edge's answers: JSON bodies and the one JSON error writer (every listener uses these).
import type { ServerResponse } from 'node:http';
import type { WardenError } from '../core/errors.js';

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

/** Bytes as they are, with their media type (a file's content: GET /v1/files/{id}/content). */
export function sendBytes(res: ServerResponse, status: number, bytes: Buffer, contentType: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': contentType, 'content-length': bytes.length, 'x-content-type-options': 'nosniff', ...headers });
  res.end(bytes);
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
