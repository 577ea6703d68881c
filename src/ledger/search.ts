// Server-side search of the ledger's entries (GET /admin/v1/audit/entries; `warden ledger search`; the console's
// Ledger page): by principal, model, decision, flag and time range, newest first. The ledger has no secondary index:
// a search reads entries backwards from the tree's end (or from `before`, the cursor a previous page returned)
// and stops at `limit` matches or after MAX_SCAN entries, answering where to continue. Bounded work per request.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { BadRequest } from '../core/errors.js';
import type { AuditDecision, AuditEvent } from '../core/types.js';
import { sendJson } from '../http/respond.js';

export interface LedgerQuery {
  principal?: string;
  model?: string;
  decision?: AuditDecision;
  /** A `flag:<label>` obligation's label: entries whose `details.flags` hold it (requests flagged for review). */
  flag?: string;
  /** Epoch ms, inclusive. */
  since?: number;
  /** Epoch ms, exclusive. */
  until?: number;
  /** Search entries with index < before (default: the whole tree). */
  before?: number;
  limit: number;
}

export interface LedgerSearchResult {
  entries: { index: number; entry: AuditEvent }[];
  /** Where the next page starts (pass as `before`); null when the scan reached index 0. */
  nextBefore: number | null;
  scanned: number;
}

export const MAX_LIMIT = 500;
export const MAX_SCAN = 20_000;
const CHUNK = 256;

/** The query string, checked (400 naming the field otherwise). */
export function parseLedgerQuery(params: URLSearchParams): LedgerQuery {
  const q: LedgerQuery = { limit: 100 };
  for (const key of params.keys()) {
    if (!['principal', 'model', 'decision', 'flag', 'since', 'until', 'before', 'limit'].includes(key)) throw new BadRequest('invalid_field', `unknown search parameter ${key}`, key);
  }
  const text = (name: 'principal' | 'model') => {
    const v = params.get(name);
    if (v === null) return;
    if (v.length === 0 || v.length > 256) throw new BadRequest('invalid_field', `${name} must be 1-256 characters`, name);
    q[name] = v;
  };
  text('principal');
  text('model');
  const decision = params.get('decision');
  if (decision !== null) {
    if (decision !== 'allow' && decision !== 'deny' && decision !== 'error') throw new BadRequest('invalid_field', 'decision must be allow, deny or error', 'decision');
    q.decision = decision;
  }
  const flag = params.get('flag');
  if (flag !== null) {
    if (!/^[a-z0-9][a-z0-9_-]{0,62}$/.test(flag)) throw new BadRequest('invalid_field', 'flag must be a flag:<label> label ([a-z0-9][a-z0-9_-], at most 63 characters)', 'flag');
    q.flag = flag;
  }
  for (const name of ['since', 'until'] as const) {
    const v = params.get(name);
    if (v === null) continue;
    const t = Date.parse(v);
    if (!/^\d{4}-\d{2}-\d{2}/.test(v) || !Number.isFinite(t)) throw new BadRequest('invalid_field', `${name} must be an ISO 8601 time`, name);
    q[name] = t;
  }
  if (q.since !== undefined && q.until !== undefined && q.since >= q.until) throw new BadRequest('invalid_field', 'since must be before until', 'since');
  const int = (name: 'before' | 'limit', min: number, max: number) => {
    const v = params.get(name);
    if (v === null) return;
    const n = Number(v);
    if (!/^\d+$/.test(v) || n < min || n > max) throw new BadRequest('invalid_field', `${name} must be an integer from ${min} to ${max}`, name);
    q[name] = n;
  };
  int('before', 0, Number.MAX_SAFE_INTEGER);
  int('limit', 1, MAX_LIMIT);
  return q;
}

function matches(e: AuditEvent, q: LedgerQuery): boolean {
  if (q.principal !== undefined && e.principal?.id !== q.principal) return false;
  if (q.model !== undefined && !(e.resource?.type === 'Model' && e.resource.id === q.model)) return false;
  if (q.decision !== undefined && e.decision !== q.decision) return false;
  if (q.flag !== undefined && !(typeof e.details?.flags === 'string' && e.details.flags.split(',').includes(q.flag))) return false;
  if (q.since !== undefined || q.until !== undefined) {
    const t = Date.parse(e.time);
    if (q.since !== undefined && !(t >= q.since)) return false;
    if (q.until !== undefined && !(t < q.until)) return false;
  }
  return true;
}

export async function searchLedger(read: (from: number, count: number) => Promise<Buffer[]>, size: number, q: LedgerQuery, maxScan = MAX_SCAN): Promise<LedgerSearchResult> {
  const entries: LedgerSearchResult['entries'] = [];
  let end = Math.min(q.before ?? size, size);
  let scanned = 0;
  while (end > 0 && entries.length < q.limit && scanned < maxScan) {
    const from = Math.max(0, end - Math.min(CHUNK, maxScan - scanned));
    const chunk = await read(from, end - from);
    for (let i = chunk.length - 1; i >= 0; i--) {
      const index = from + i;
      scanned++;
      const entry = JSON.parse(chunk[i]!.toString('utf8')) as AuditEvent;
      if (matches(entry, q)) {
        entries.push({ index, entry });
        if (entries.length === q.limit) {
          end = index;
          return { entries, nextBefore: index > 0 ? index : null, scanned };
        }
      }
    }
    end = from;
  }
  return { entries, nextBefore: end > 0 ? end : null, scanned };
}

/** The admin route (declared in src/admin/routes.ts as audit.search; the PDP has asked readAudit on System::audit). */
export function createLedgerSearchRoute(ledger: { size: number; readEntries(from: number, count: number): Promise<Buffer[]> }) {
  return async (req: IncomingMessage, res: ServerResponse, ar: { path: string; requestId: string; record: (action: string, resource: AuditEvent['resource'], details?: AuditEvent['details']) => Promise<void> }): Promise<boolean> => {
    if (ar.path !== '/admin/v1/audit/entries' || req.method !== 'GET') return false;
    const q = parseLedgerQuery(new URL(req.url ?? '/', 'https://admin.invalid').searchParams);
    const r = await searchLedger((from, count) => ledger.readEntries(from, count), ledger.size, q);
    // Who searched the audit trail for what is itself audit material.
    await ar.record('audit.search', { type: 'System', id: 'audit' }, {
      principal: q.principal ?? null,
      model: q.model ?? null,
      decision: q.decision ?? null,
      since: q.since !== undefined ? new Date(q.since).toISOString() : null,
      until: q.until !== undefined ? new Date(q.until).toISOString() : null,
      matched: r.entries.length,
    });
    sendJson(res, 200, { data: r.entries, next_before: r.nextBefore, scanned: r.scanned, max_scan: MAX_SCAN }, { 'x-request-id': ar.requestId });
    return true;
  };
}
