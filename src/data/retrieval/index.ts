// The retrieval plane's composition: the store (embedded: SQLite + sqlite-vec, <dataDir>/retrieval.db; in a cluster
// the PostgreSQL one every replica shares), the
// listener routes (/v1/vector_stores, called by the gateway after identity and network), and the admin routes
// behind `warden vector-stores` (GET /admin/v1/vector-stores[/{id}], DELETE /admin/v1/vector-stores/{id}).
import { join } from 'node:path';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import type { AdminRequest } from '../../admin/admin.js';
import { NotFound } from '../../core/errors.js';
import { adminTenantScope, crossTenantRefusal } from '../../core/tenant.js';
import { sendJson } from '../../http/respond.js';
import type { RetrievalRoutes } from '../../gateway/gateway.js';
import { SqliteRetrievalStore } from '../../store/retrieval-sqlite.js';
import type { RetrievalStore } from '../../store/retrieval-store.js';
import { SqliteSubjectKeyStore, type SubjectKeyStore } from '../../store/subject-keys-store.js';
import { SubjectKeys } from '../crypto/subject-keys.js';
import { openSqlite } from '../../store/sqlite.js';
import { RetrievalPlane, type RetrievalDeps } from './plane.js';

export { RetrievalPlane, clearanceOf, MAX_CANDIDATES, type RetrievalCall, type RetrievalDeps, type RetrievalResource, type SubjectHoldings } from './plane.js';
export { chunkText, parseChunkingStrategy, DEFAULT_CHUNKING } from './chunk.js';

export interface RetrievalConfig {
  /** Embedding model for stores created without `embedding_model`. */
  embeddingModel?: string;
  /** `exact-scan` forces the exact cosine scan even where sqlite-vec loads. */
  index: 'auto' | 'exact-scan';
  /** How long an upload (/v1/files) is kept for adding to a store. */
  uploadTtlMs?: number;
}

/**
 * `shared`: the cluster's PostgreSQL store (store.postgres), owned and closed by the cluster stores, whose pool also
 * holds the subject keys; without it the embedded SQLite store in the data dir and the subject-key store in
 * `subjectKeysFile` (beside the KEKs, never in a backup), owned here.
 */
export function buildRetrievalPlane(dataDir: string, config: RetrievalConfig, deps: Omit<RetrievalDeps, 'store' | 'defaultEmbeddingModel' | 'subjectKeys'> & { log: Logger; subjectKeysFile: string }, shared: (RetrievalStore & { subjectKeys(): SubjectKeyStore }) | null = null) {
  let store: RetrievalStore;
  const keyStore: SubjectKeyStore = shared ? shared.subjectKeys() : SqliteSubjectKeyStore.open(deps.subjectKeysFile);
  const subjectKeys = new SubjectKeys(deps.keyring, keyStore, () => deps.clock.now());
  if (shared) store = shared;
  else {
    const local = new SqliteRetrievalStore(openSqlite(join(dataDir, 'retrieval.db')), { index: config.index });
    if (local.fallbackReason && config.index !== 'exact-scan') deps.log.warn({ reason: local.fallbackReason }, 'sqlite-vec did not load: vector search is an exact cosine scan');
    store = local;
  }
  const plane = new RetrievalPlane({ ...deps, store, subjectKeys, defaultEmbeddingModel: config.embeddingModel ?? null, ...(config.uploadTtlMs ? { uploadTtlMs: config.uploadTtlMs } : {}) });
  const routes: RetrievalRoutes = {
    async serve(route, call, id, body, raw) {
      switch (route) {
        case 'files.upload':
          return plane.upload(call, raw?.bytes ?? Buffer.alloc(0), raw?.contentType);
        case 'files.list':
          return plane.listUploads(call);
        case 'files.get':
          return plane.getUpload(call, id!);
        case 'files.content':
          return plane.uploadContent(call, id!);
        case 'files.delete':
          return plane.deleteUpload(call, id!);
        case 'vector_stores.files.get': {
          // The route's parameter is `<store>/files/<file>` (one pattern group): split at the first "/files/".
          const i = id!.indexOf('/files/');
          return plane.getStoreFile(call, id!.slice(0, i), id!.slice(i + 7));
        }
        case 'vector_stores.create':
          return plane.create(call, body);
        case 'vector_stores.list':
          return plane.list(call);
        case 'vector_stores.get':
          return plane.get(call, id!);
        case 'vector_stores.delete':
          return plane.delete(call, id!);
        case 'vector_stores.files.add':
          return plane.addFile(call, id!, body);
        case 'vector_stores.files.list':
          return plane.listFiles(call, id!);
        case 'vector_stores.search':
          return plane.search(call, id!, body);
      }
    },
  };
  /**
   * The admin view (the admin dispatcher asked readRegistry / manageDatasets first): a platform admin sees every
   * tenant's stores, any other admin only its own tenant's (another tenant's store is not found: not revealed).
   */
  async function adminRoute(req: IncomingMessage, res: ServerResponse, ar: AdminRequest): Promise<boolean> {
    const hdr = { 'x-request-id': ar.requestId };
    const scope = adminTenantScope(ar.principal);
    const now = deps.clock.now();
    if (ar.path === '/admin/v1/vector-stores' && req.method === 'GET') {
      const asked = new URL(req.url ?? '/', 'https://admin.invalid').searchParams.get('tenant');
      const refused = asked === null ? null : crossTenantRefusal(ar.principal, asked);
      if (refused) {
        await ar.record('vector_store.list', { type: 'System', id: 'vector-stores' }, { tenant: asked! }, refused);
        throw refused;
      }
      const stores = await store.listStores(asked ?? scope);
      const out = [];
      for (const s of stores) out.push({ ...s, files: (await store.listFiles(s.tenant, s.id, now)).length });
      sendJson(res, 200, { vector_stores: out }, hdr);
      return true;
    }
    const m = /^\/admin\/v1\/vector-stores\/([^/]+)$/.exec(ar.path);
    if (!m) return false;
    const id = decodeURIComponent(m[1]!);
    const s = scope === null ? await store.getStoreAnyTenant(id) : await store.getStore(scope, id);
    if (!s) {
      const err = new NotFound('vector_store_not_found', `no vector store ${id}`);
      // Recorded when the store exists in another tenant: an attempt across tenants is in the ledger.
      if (scope !== null && (await store.getStoreAnyTenant(id))) await ar.record(`vector_store.${req.method === 'DELETE' ? 'delete' : 'get'}`, { type: 'VectorStore', id }, { crossTenant: true }, err);
      throw err;
    }
    if (req.method === 'GET') {
      sendJson(res, 200, { ...s, files: await store.listFiles(s.tenant, s.id, now) }, hdr);
      return true;
    }
    if (req.method === 'DELETE') {
      const held = await store.listFiles(s.tenant, s.id, now);
      // Recorded before it happens (fail closed): a deletion the ledger does not show never happens.
      await ar.record('vector_store.delete', { type: 'VectorStore', id }, { tenant: s.tenant, files: held.length, chunks: held.reduce((n, f) => n + f.chunks, 0) });
      const gone = await store.deleteStore(s.tenant, s.id);
      sendJson(res, 200, { id, deleted: true, files: gone.files, chunks: gone.chunks }, hdr);
      return true;
    }
    return false;
  }
  return { plane, store, subjectKeys, routes, adminRoute, close: () => (shared ? Promise.resolve() : Promise.all([store.close(), keyStore.close()]).then(() => undefined)) };
}
