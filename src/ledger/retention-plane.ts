// Payload retention with crypto-shredding (the SIEM export of ledger entries is src/ledger/export/).
// The tree never holds prompts or answers; when retention is on they go to a separate store, sealed with a
// per-principal data key, and erasing the principal destroys that key (the tree stays verifiable).
import type { Classification, Principal } from '../core/types.js';
import { expiryFor } from '../data/placement.js';
import { join } from 'node:path';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import type { Clock } from '../core/clock.js';
import { BadRequest, FailClosed, NotFound } from '../core/errors.js';
import { adminTenantScope } from '../core/tenant.js';
import { classificationSchemeOf, type WardenConfig } from '../config/config.js';
import type { AdminRequest } from '../admin/admin.js';
import type { ApiKeyService } from '../identity/api-keys.js';
import type { IdentityStore } from '../store/identity-store.js';
import { openSqlite, readSqliteFile } from '../store/sqlite.js';
import { SqlitePayloadStore } from '../store/ledger-payloads-sqlite.js';
import type { PayloadStore } from '../store/sealed-store.js';
import { PayloadVault } from './retention.js';
import type { Keyring } from '../data/crypto/index.js';
import type { SubjectHoldings } from '../data/retrieval/index.js';
import type { Ledger } from './ledger.js';
import { sendJson } from '../http/respond.js';

export interface Retention {
  /** Stores the request and response of an answered request (only when retention is on). */
  /** Keeps a request's body and its answer, sealed (the gateway's context names who and which request). */
  retain: ((ctx: { principal?: Principal; requestId: string; rawBody: Buffer; findings?: { classification: Classification } }, response: Buffer) => Promise<void>) | undefined;
  /** Retained payloads whose class's retention has ended (for the retention sweep, src/data/retention-sweep.ts). */
  expired: { count(nowMs: number): Promise<number>; delete(nowMs: number): Promise<number> } | null;
  adminRoute(req: IncomingMessage, res: ServerResponse, ar: AdminRequest): Promise<boolean>;
  /**
   * Every principal's wrapped payload data key, also with retention off when an earlier payloads.db is in the
   * data dir (forgetting a tenant's KEK checks none is left); FailClosed when the shared store is not open here.
   */
  payloadKeys(): Promise<{ principal: string; wrapped: Buffer }[]>;
  close(): Promise<void>;
}

export function buildRetention(
  config: WardenConfig,
  o: {
    clock: Clock;
    log: Logger;
    ledger: Ledger;
    identityStore: IdentityStore;
    keys: ApiKeyService;
    keyring: Keyring;
    /** Other content of a subject that erasure removes: retrieval chunks and files about it, uploads it made (src/data/retrieval). */
    subjectData?: { subjectHoldings(id: string, tenant: string): Promise<SubjectHoldings>; eraseSubject(id: string, tenant: string): Promise<SubjectHoldings> };
    /**
     * Dataset records naming the subject in their dataset's declared subject field (src/data/datasets): counted,
     * then withheld from the data read API (the customer's files are not Warden's to delete).
     */
    datasetRecords?: { subjectRecords(id: string, tenant: string): Promise<unknown[]>; eraseSubject(id: string, tenant: string): Promise<number> };
    /** With store.postgres: the replicas' one payload store. */
    shared?: PayloadStore | null;
  },
): Retention {
  // With store.postgres the replicas' one store (o.shared); otherwise payloads.db in the data dir.
  const db = config.ledger.retainPayloads && !o.shared ? openSqlite(join(config.dataDir, 'payloads.db')) : null;
  const store: PayloadStore | null = config.ledger.retainPayloads ? (o.shared ?? new SqlitePayloadStore(db!)) : null;
  const vault = store ? new PayloadVault(store, o.keyring, o.clock) : null;
  const unknownClass = classificationSchemeOf(config).highest;

  return {
    retain: vault
      ? async (ctx, response) => {
        const who = ctx.principal!;
        // Kept as long as the request's class allows (what the inspector found in it; unknown: the highest level).
        const expiresAt = expiryFor(config.placement, ctx.findings?.classification, o.clock.now(), unknownClass);
        await vault.put(who, ctx.requestId, 'request', ctx.rawBody, expiresAt);
        await vault.put(who, ctx.requestId, 'response', response, expiresAt);
      }
      : undefined,
    expired: vault?.expired ?? null,
    async adminRoute(req, res, ar) {
      const hdr = { 'x-request-id': ar.requestId };
      const erase = /^\/admin\/v1\/principals\/([^/]+)\/erase$/.exec(ar.path);
      if (erase && req.method === 'POST') {
        const id = decodeURIComponent(erase[1]!);
        const p = await o.identityStore.getPrincipal(id);
        // An admin outside the platform tenant erases only its own tenant's principals (others: not found).
        const scope = adminTenantScope(ar.principal);
        if (!p) throw new NotFound('principal_not_found', `no principal ${id}`);
        if (scope !== null && p.tenant !== scope) {
          const err = new NotFound('principal_not_found', `no principal ${id}`);
          await ar.record('principal.erase', { type: 'Principal', id }, { crossTenant: true }, err);
          throw err;
        }
        // Recorded first (fail closed): an erasure the ledger does not show never happens. The one entry says what
        // goes: the retained payloads (deleted) and the data key (destroyed: any copy elsewhere is shredded).
        const holdings = vault ? await vault.holdings(id) : { key: false, payloads: 0 };
        const none: SubjectHoldings = { files: 0, chunks: 0, uploads: 0, keys: 0 };
        const held = (await o.subjectData?.subjectHoldings(id, p.tenant)) ?? none;
        const records = (await o.datasetRecords?.subjectRecords(id, p.tenant))?.length ?? 0;
        await ar.record('principal.erase', { type: 'Principal', id }, { payloadsDeleted: holdings.payloads, dataKeyDestroyed: holdings.key, apiKeysRevoked: true, retrievalChunksDeleted: held.chunks, retrievalFilesDeleted: held.files, retrievalUploadsDeleted: held.uploads, subjectKeysDestroyed: held.keys, datasetRecordsErased: records });
        const shredded = vault ? await vault.erase(id) : { keyDestroyed: false, payloadsUnreadable: 0 };
        const gone = (await o.subjectData?.eraseSubject(id, p.tenant)) ?? none;
        const withheld = (await o.datasetRecords?.eraseSubject(id, p.tenant)) ?? 0;
        await o.identityStore.updatePrincipal({ ...p, erasedAt: o.clock.now() });
        await o.keys.principalRemoved(id);
        sendJson(res, 200, { principal: id, erased: true, key_destroyed: shredded.keyDestroyed, payloads_deleted: shredded.payloadsUnreadable, payloads_unreadable: shredded.payloadsUnreadable, retrieval_chunks_deleted: gone.chunks, retrieval_files_deleted: gone.files, retrieval_uploads_deleted: gone.uploads, subject_keys_destroyed: gone.keys, dataset_records_erased: withheld }, hdr);
        return true;
      }
      const pay = /^\/admin\/v1\/payloads\/([^/]+)$/.exec(ar.path);
      if (pay && req.method === 'GET') {
        if (!vault) throw new NotFound('retention_disabled', 'payload retention is not enabled (ledger.retainPayloads)');
        const url = new URL(req.url ?? '/', 'https://admin.invalid');
        const principal = url.searchParams.get('principal');
        const kind = url.searchParams.get('kind') ?? 'request';
        if (!principal) throw new BadRequest('missing_field', 'principal is required', 'principal');
        // An admin outside the platform tenant reads only its own tenant's principals' payloads (others: not found).
        const scope = adminTenantScope(ar.principal);
        if (scope !== null && (await o.identityStore.getPrincipal(principal))?.tenant !== scope) {
          const err = new NotFound('payload_not_found', `no ${kind} payload for ${decodeURIComponent(pay[1]!)}`);
          await ar.record('payload.read', { type: 'Principal', id: principal }, { requestId: decodeURIComponent(pay[1]!), kind, crossTenant: true }, err);
          throw err;
        }
        if (kind !== 'request' && kind !== 'response') throw new BadRequest('invalid_field', 'kind must be request or response', 'kind');
        const data = await vault.get(principal, decodeURIComponent(pay[1]!), kind);
        await ar.record('payload.read', { type: 'Principal', id: principal }, { requestId: decodeURIComponent(pay[1]!), kind });
        res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': data.length, ...hdr });
        res.end(data);
        return true;
      }
      return false;
    },
    async payloadKeys() {
      if (store) return store.listKeys();
      if (config.store.postgres) throw new FailClosed('payload_store_unavailable', 'ledger.retainPayloads is off on this replica, so it cannot read the shared payload keys; ask a replica with retention on');
      return readSqliteFile(join(config.dataDir, 'payloads.db'), [], (earlier) => new SqlitePayloadStore(earlier).listKeys());
    },
    async close() {
      db?.close();
    },
  };
}
