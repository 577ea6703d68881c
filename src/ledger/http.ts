// Read-only audit API (served on the admin listener): C2SP checkpoint and tiles, RFC 9162 proofs as
// JSON with base64 hashes, and the ledger's public key.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { isWardenError, WardenError } from '../core/errors.js';
import { newRequestId } from '../core/ids.js';
import { LedgerBadRequest } from './errors.js';
import { publicLedgerKey, publicLedgerKeyOf } from './key.js';
import type { PreviousLedgerKey } from './key-ring.js';
import { parseVerifierKey } from './note.js';
import type { Ledger } from './ledger.js';
import { parseTilePath } from './tiles.js';

export const AUDIT_PREFIX = '/audit/v1';

class MethodNotAllowed extends WardenError {
  constructor() {
    super(405, 'invalid_request_error', 'method_not_allowed', 'the audit API is read-only: use GET or HEAD', { allow: 'GET, HEAD' });
  }
}
class RouteNotFound extends WardenError {
  constructor(path: string) {
    super(404, 'not_found_error', 'not_found', `no audit resource at ${path}`);
  }
}

function param(q: URLSearchParams, name: string): number {
  const v = q.get(name);
  if (v === null) throw new LedgerBadRequest('missing_parameter', `query parameter ${name} is required`, name);
  if (!/^(0|[1-9][0-9]{0,15})$/.test(v) || !Number.isSafeInteger(Number(v))) throw new LedgerBadRequest('invalid_parameter', `${name} must be a non-negative decimal integer`, name);
  return Number(v);
}

function send(res: ServerResponse, req: IncomingMessage, status: number, type: string, body: string | Buffer, cache: string): void {
  res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(body), 'cache-control': cache, 'x-content-type-options': 'nosniff' });
  res.end(req.method === 'HEAD' ? undefined : body);
}

export interface AuditHandlerOptions {
  /**
   * Gate for entry bundles (`tile/entries/*`): the entries name principals, models, tools and decisions,
   * so by default only an admin allowed `readAudit` reads them. Checkpoints, hash tiles, proofs and keys
   * reveal only hashes and sizes and stay public (witnesses and receipt holders need them). Throws to refuse.
   */
  authorizeEntries?: (req: IncomingMessage, requestId: string) => Promise<unknown>;
  /** The latest checkpoint with its witness cosignatures (C2SP tlog-cosignature), null until one was cosigned. */
  witnessedCheckpoint?: () => string | null;
  /** The keys the ledger's current key replaced (newest first), published beside it at /audit/v1/keys. */
  previousKeys?: () => readonly PreviousLedgerKey[];
  /** When the current key began signing (ms). */
  currentSince?: () => number | null;
  /** The clock that says whether a replaced key still co-signs (default Date.now). */
  now?: () => number;
}

class NotWitnessed extends WardenError {
  constructor() {
    super(404, 'not_found_error', 'not_witnessed', 'no witness has cosigned a checkpoint of this log yet');
  }
}

/** Returns a request listener fragment: true if it handled the request (any /audit/v1 path), false otherwise. */
export function createAuditHandler(ledger: Ledger, opts: AuditHandlerOptions = {}): (req: IncomingMessage, res: ServerResponse) => boolean {
  // The current key at the top level (as before key rotation existed), every key in `keys` (JWK Set) and in
  // `history` with what it is for now: current, cosigning (a replaced key during its overlap) or retired.
  const keysBody = (): string => {
    const current = ledger.key;
    const previous = opts.previousKeys?.() ?? [];
    const now = opts.now?.() ?? Date.now();
    const earlier = previous.map((p) => ({ pub: publicLedgerKeyOf(parseVerifierKey(p.vkey).publicKey, current.name), p }));
    return JSON.stringify({
      keys: [current.publicJwk, ...earlier.map((e) => e.pub.publicJwk)],
      ...publicLedgerKey(current),
      history: [
        { vkey: current.vkey, kid: current.kid, status: 'current', since: opts.currentSince?.() ?? null },
        ...earlier.map(({ pub, p }) => ({ vkey: p.vkey, kid: pub.publicJwk.kid, status: now < p.overlapUntil ? 'cosigning' : 'retired', since: p.since, retiredAt: p.retiredAt, overlapUntil: p.overlapUntil })),
      ].map((h) => ({ ...h, since: h.since === null ? null : new Date(h.since).toISOString(), ...('retiredAt' in h ? { retiredAt: new Date(h.retiredAt).toISOString(), overlapUntil: new Date(h.overlapUntil).toISOString() } : {}) })),
    });
  };
  const json = (res: ServerResponse, req: IncomingMessage, status: number, v: unknown, cache = 'no-store') => send(res, req, status, 'application/json', JSON.stringify(v), cache);

  async function route(req: IncomingMessage, res: ServerResponse, url: URL, requestId: string): Promise<void> {
    if (req.method !== 'GET' && req.method !== 'HEAD') throw new MethodNotAllowed();
    const path = url.pathname.slice(AUDIT_PREFIX.length + 1);
    // Replicas share one log: answer with the shared latest tree, not the one this replica last appended to.
    if (path === 'checkpoint' || path.startsWith('proof/') || path.startsWith('tile/')) await ledger.refresh();
    if (path === 'checkpoint') return send(res, req, 200, 'text/plain; charset=utf-8', ledger.latestCheckpoint().note, 'no-cache, max-age=2');
    if (path === 'witnessed-checkpoint') {
      const note = opts.witnessedCheckpoint?.() ?? null;
      if (note === null) throw new NotWitnessed();
      return send(res, req, 200, 'text/plain; charset=utf-8', note, 'no-cache, max-age=2');
    }
    if (path === 'keys') return send(res, req, 200, 'application/json', keysBody(), 'max-age=60');
    if (path === 'proof/inclusion') return json(res, req, 200, await ledger.inclusionProof(param(url.searchParams, 'index'), param(url.searchParams, 'size')));
    if (path === 'proof/consistency') return json(res, req, 200, await ledger.consistencyProof(param(url.searchParams, 'old'), param(url.searchParams, 'size')));
    if (path.startsWith('tile/')) {
      const ref = parseTilePath(path);
      if (!ref) throw new LedgerBadRequest('invalid_tile_path', `${path} is not a C2SP tile path`);
      if (ref.level === 'entries' && opts.authorizeEntries) {
        await opts.authorizeEntries(req, requestId);
        // Entries behind credentials must not sit in shared caches.
        return send(res, req, 200, 'application/octet-stream', await ledger.readTile(ref), 'private, no-store');
      }
      // Tiles are immutable once published (tlog-tiles), so they may be cached for long.
      return send(res, req, 200, 'application/octet-stream', await ledger.readTile(ref), 'public, max-age=31536000, immutable');
    }
    throw new RouteNotFound(url.pathname);
  }

  return (req, res) => {
    const url = new URL(req.url ?? '/', 'http://audit.invalid');
    if (url.pathname !== AUDIT_PREFIX && !url.pathname.startsWith(AUDIT_PREFIX + '/')) return false;
    const requestId = newRequestId();
    route(req, res, url, requestId).catch((e: unknown) => {
      const err = isWardenError(e) ? e : new WardenError(500, 'server_error', 'audit_internal_error', 'the audit API failed to answer');
      if (res.headersSent) return res.destroy();
      res.writeHead(err.status, { 'content-type': 'application/json', ...err.headers });
      res.end(JSON.stringify(err.toBody(requestId)));
    });
    return true;
  };
}
