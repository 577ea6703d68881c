// The upstream client: one keep-alive undici Pool per upstream, timeouts, and clear 502/503/504 errors.
import { EventEmitter } from 'node:events';
import { readFileSync } from 'node:fs';
import { loadServerCertificate, ServerCertificateInvalid } from './server-cert.js';
import { errors as undiciErrors, type Dispatcher, type Pool } from 'undici';
import { UpstreamError, WardenError } from '../core/errors.js';
import type { UpstreamConfig } from '../config/config.js';
import { makeCanary } from '../inspect/index.js';
import type { OutputPolicy } from '../inspect/output/policy.js';
import { EndpointPool, openPool, type UpstreamAttempt } from './upstream-pool.js';
import { readApiKeySourceSync } from './upstream-credential.js';

export interface UpstreamTarget {
  name: string;
  /** Base URL including the API prefix, e.g. http://127.0.0.1:8000/v1 */
  baseUrl: string;
  basePath: string;
  pool: Pool;
  /** The pool's connection count: what per-principal shares (upstream-share.ts) are fractions of. */
  connections: number;
  demo: boolean;
  tier?: string;
  region?: string;
  /** What every answer from this upstream must satisfy before it is released. */
  output: OutputPolicy;
  headersTimeoutMs: number;
  bodyTimeoutMs: number;
  /** For a stream: the longest wait for its next byte before it is ended as stalled. */
  streamStallMs: number;
  /** Several endpoints (upstreams[].endpoints): calls go through it; `pool` is its first endpoint's. */
  endpoints?: EndpointPool;
  /** Upstream credential, read from the environment or its apiKeySource (never from the YAML). */
  authorization?: string;
  /** Its apiKeySource could not be read at the last refresh: calls are refused (fail closed). */
  credentialUnavailable?: boolean;
}

/** A rotated secret, or null when the source could not be read: every call then refuses with 503. */
export function setUpstreamSecret(t: UpstreamTarget, secret: string | null): void {
  t.credentialUnavailable = secret === null;
  if (secret === null) return;
  t.authorization = `Bearer ${secret}`;
  t.endpoints?.setAuthorization(t.authorization);
}

export function createUpstreamTarget(cfg: UpstreamConfig): UpstreamTarget {
  const url = new URL(cfg.baseUrl);
  if (cfg.clientTls && url.protocol !== 'https:') throw new ServerCertificateInvalid(`upstream ${cfg.name}: clientTls needs an https baseUrl`);
  const client = cfg.clientTls ? loadServerCertificate(cfg.clientTls.certFile, cfg.clientTls.keyFile) : null;
  const ca = cfg.caFile ? readFileSync(cfg.caFile, 'utf8') : undefined;
  const key = cfg.apiKeySource ? readApiKeySourceSync(cfg.name, cfg.apiKeySource) : cfg.apiKeyEnv ? process.env[cfg.apiKeyEnv] : undefined;
  const authorization = key ? `Bearer ${key}` : undefined;
  const conn = { connections: cfg.connections, connectTimeoutMs: cfg.connectTimeoutMs, ...(ca ? { ca } : {}), ...(client ? { cert: client.certPem, key: client.keyPem } : {}) };
  const endpoints = cfg.pool ? new EndpointPool(cfg.name, cfg.pool, { ...conn, ...(authorization ? { authorization } : {}) }) : undefined;
  const pool = endpoints?.primary ?? openPool(url.origin, conn);
  return {
    name: cfg.name,
    baseUrl: cfg.baseUrl,
    basePath: url.pathname.replace(/\/+$/, ''),
    pool,
    connections: cfg.connections,
    demo: cfg.demo === true,
    ...(cfg.tier ? { tier: cfg.tier } : cfg.demo ? { tier: 'onprem' } : {}),
    ...(cfg.region ? { region: cfg.region } : {}),
    output: { rules: cfg.outputRules ?? [], canary: cfg.canary ? makeCanary(cfg.name) : null },
    headersTimeoutMs: cfg.headersTimeoutMs,
    bodyTimeoutMs: cfg.bodyTimeoutMs,
    streamStallMs: cfg.streamStallMs ?? cfg.bodyTimeoutMs,
    ...(endpoints ? { endpoints } : {}),
    ...(authorization ? { authorization } : {}),
  };
}

function mapError(e: unknown, target: UpstreamTarget): WardenError {
  if (e instanceof WardenError) return e;
  const err = e as { code?: string; name?: string; message?: string };
  if (e instanceof undiciErrors.ConnectTimeoutError || err.code === 'UND_ERR_CONNECT_TIMEOUT') {
    return new UpstreamError(504, 'upstream_connect_timeout', `upstream ${target.name} did not accept a connection in time`);
  }
  if (e instanceof undiciErrors.HeadersTimeoutError || e instanceof undiciErrors.BodyTimeoutError) {
    return new UpstreamError(504, 'upstream_timeout', `upstream ${target.name} did not answer in time`);
  }
  if (err.code === 'ECONNREFUSED' || err.code === 'ENOTFOUND' || err.code === 'EHOSTUNREACH' || err.code === 'ECONNRESET' || err.code === 'UND_ERR_SOCKET') {
    return new UpstreamError(502, 'upstream_unreachable', `upstream ${target.name} is unreachable (${err.code})`);
  }
  if (err.name === 'AbortError' || err.code === 'UND_ERR_ABORTED') {
    return new UpstreamError(502, 'upstream_aborted', `request to upstream ${target.name} was aborted`);
  }
  return new UpstreamError(502, 'upstream_failed', `request to upstream ${target.name} failed`);
}

/**
 * Cancels one upstream call. undici accepts an EventEmitter as `signal`; this one costs a plain object per
 * request where an AbortController costs an EventTarget, an AbortSignal and their listener bookkeeping
 * (about 4% of the gateway's event loop in bench/results/gateway-profile.md).
 */
export class UpstreamAbort extends EventEmitter {
  aborted = false;
  reason: unknown = undefined;

  abort(reason?: unknown): void {
    if (this.aborted) return;
    this.aborted = true;
    this.reason = reason;
    this.emit('abort');
  }
}

/** Closes an upstream's connections (every endpoint's, and its health checks). */
export function closeUpstreamTarget(t: UpstreamTarget): Promise<void> {
  return t.endpoints ? t.endpoints.close() : t.pool.close();
}

/** A relayed stream that failed: stalled (no byte within streamStallMs), or failed otherwise. */
export function upstreamStreamError(target: UpstreamTarget, e: unknown): WardenError {
  if (e instanceof WardenError) return e;
  if (e instanceof undiciErrors.BodyTimeoutError) return new UpstreamError(504, 'upstream_stream_stalled', `the stream from upstream ${target.name} sent nothing for ${target.streamStallMs} ms`);
  return new WardenError(502, 'upstream_error', 'upstream_stream_failed', `the stream from upstream ${target.name} failed`);
}

/** What a call reports back and reads (the gateway passes its request context). */
export interface UpstreamCallContext {
  stream: boolean;
  model: string | null;
  /** Filled by pooled upstreams: each endpoint tried, for the ledger entry. */
  upstreamAttempts?: UpstreamAttempt[];
  /** With tracing on: the upstream span's W3C traceparent, sent to the upstream. */
  trace?: { readonly traceparent: string | undefined };
}

export interface UpstreamResponse {
  statusCode: number;
  headers: Dispatcher.ResponseData['headers'];
  body: Dispatcher.ResponseData['body'];
}

export async function callUpstream(
  target: UpstreamTarget,
  method: 'GET' | 'POST',
  path: string,
  body: Buffer | null,
  requestId: string,
  signal?: UpstreamAbort | AbortSignal,
  call?: UpstreamCallContext,
): Promise<UpstreamResponse> {
  const headers: Record<string, string> = { accept: 'application/json, text/event-stream', 'x-request-id': requestId };
  if (body) headers['content-type'] = 'application/json';
  if (target.credentialUnavailable) throw new UpstreamError(503, 'upstream_credential_unavailable', `upstream ${target.name}: its credential could not be read at the last rotation; nothing is sent until it can be`);
  if (target.authorization) headers.authorization = target.authorization;
  const traceparent = call?.trace?.traceparent;
  if (traceparent) headers.traceparent = traceparent;
  try {
    const bodyTimeout = call?.stream ? target.streamStallMs : target.bodyTimeoutMs;
    const r = target.endpoints
      ? await target.endpoints.request({ method, path, headers, body, headersTimeout: target.headersTimeoutMs, bodyTimeout, ...(signal ? { signal } : {}) }, call?.model ?? null, call ? (call.upstreamAttempts ??= []) : null)
      : await target.pool.request({
          method,
          path: target.basePath + path,
          headers,
          body,
          headersTimeout: target.headersTimeoutMs,
          bodyTimeout,
          ...(signal ? { signal } : {}),
        });
    return { statusCode: r.statusCode, headers: r.headers, body: r.body };
  } catch (e) {
    throw mapError(e, target);
  }
}

/**
 * Drops an upstream answer unread (a refused or unusable response). undici's body emits 'error' when destroyed
 * before its end; without a listener that would be an uncaught exception, so one is attached first.
 */
export function discardUpstreamBody(r: UpstreamResponse): void {
  r.body.on('error', () => undefined);
  r.body.destroy();
}

export async function readUpstreamBody(target: UpstreamTarget, r: UpstreamResponse, limit = 64 * 1024 * 1024): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let n = 0;
  try {
    for await (const c of r.body) {
      n += (c as Buffer).length;
      if (n > limit) throw new UpstreamError(502, 'upstream_response_too_large', `upstream ${target.name} response exceeds ${limit} bytes`);
      chunks.push(c as Buffer);
    }
  } catch (e) {
    throw mapError(e, target);
  }
  return Buffer.concat(chunks, n);
}

/** Maps a non-2xx upstream status to a Warden error carrying a short, sanitized upstream message. */
export function upstreamStatusError(target: UpstreamTarget, status: number, body: Buffer): WardenError {
  let detail = '';
  try {
    const j = JSON.parse(body.toString('utf8')) as { error?: { message?: unknown } | string; message?: unknown };
    const m = typeof j.error === 'string' ? j.error : j.error?.message ?? j.message;
    if (typeof m === 'string') detail = ': ' + m.slice(0, 300);
  } catch {
    /* non-JSON upstream error body: report the status only */
  }
  if (status === 503 || status === 429) return new UpstreamError(503, 'upstream_unavailable', `upstream ${target.name} is unavailable (HTTP ${status})${detail}`);
  if (status >= 500) return new UpstreamError(502, 'upstream_error', `upstream ${target.name} failed (HTTP ${status})${detail}`);
  if (status === 404) return new WardenError(404, 'not_found_error', 'upstream_not_found', `upstream ${target.name} does not know this model or path${detail}`);
  return new WardenError(status >= 400 && status < 500 ? status : 502, status < 500 && status >= 400 ? 'invalid_request_error' : 'upstream_error', 'upstream_rejected_request', `upstream ${target.name} rejected the request (HTTP ${status})${detail}`);
}
