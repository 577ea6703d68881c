// Retrieval the caller may see (docs/retrieval.md): OpenAI-compatible vector stores whose search returns only
// the chunks the PDP allows *for the calling principal*. Each chunk carries tenant, classification, source digest,
// access list and data subject; its text is sealed with the envelope module; its embedding and every query's
// come from Warden's own /v1/embeddings path (the caller must be allowed the store's embedding model). Tenant and
// the caller's clearance are pushed into the nearest-neighbour query as filters (they only ever narrow); every
// candidate left is then decided by the PDP one by one, and more candidates are fetched while fewer than asked
// are allowed: a denied chunk is never in the answer.
import { createHash, randomUUID } from 'node:crypto';
import type { Clock } from '../../core/clock.js';
import { BadRequest, FailClosed, Forbidden, NotFound, WardenError } from '../../core/errors.js';
import { withoutDuties } from '../../core/decisions.js';
import { newId } from '../../core/ids.js';
import type { Action, Classification, Decision, Findings, Principal } from '../../core/types.js';
import { DEFAULT_SCHEME, type ClassificationScheme } from '../../inspect/index.js';
import { FileIdTaken, chunkAad, uploadAad, type ChunkRecord, type NewChunk, type RetrievalStore, type UploadRecord, type VectorFileRecord, type VectorStoreRecord } from '../../store/retrieval-store.js';
import { SubjectErased, sealBlob, type Keyring, type SubjectKeys } from '../crypto/index.js';
import { chunkText, parseChunkingStrategy } from './chunk.js';

export type RetrievalResource =
  | { type: 'VectorStore'; id: string; attrs: { tenant: string; classification: string } }
  | { type: 'Chunk'; id: string; attrs: { tenant: string; store: string; classification: string; dataset: string; access: string[]; subject?: string } }
  | { type: 'Upload'; id: string; attrs: { tenant: string; createdBy: string } };

export interface RetrievalDeps {
  store: RetrievalStore;
  keyring: Keyring;
  /** Per-subject keys: chunks naming a subject and uploads (subject: the uploader) are sealed under them (erasure crypto-shreds). */
  subjectKeys: SubjectKeys;
  clock: Clock;
  /** The PDP (behind the credential's scope ceiling), with the findings the decision's context carries. */
  authorize(p: Principal, action: Action, resource: RetrievalResource, findings: Findings | null, sourceIp: string): Decision;
  /** The inspector (src/inspect inspectText): run on every chunk as it is added. */
  inspect(text: string): Findings;
  /** Embedding model for a store created without `embedding_model` (null: it must be given). */
  defaultEmbeddingModel: string | null;
  /** Why this Warden's stores may not hold a tenant's data (residency, src/data/placement.ts), or null. */
  storeRefusal?: (tenant: string) => string | null;
  /** When a chunk of `classification` stored at `nowMs` expires (placement.classes.<class>.retention; null: never). */
  expiryFor?: (classification: Classification, nowMs: number) => number | null;
  /** How long an upload (/v1/files) is kept for adding to a store (default one day). */
  uploadTtlMs?: number;
  /**
   * The configured classification levels (absent: the four built-in ones): labels given to stores and files are
   * parsed against them, and a chunk's stored rank is its level's rank in them.
   */
  classification?: ClassificationScheme;
}

/** What one call on the listener knows: who, from where, and how to embed through Warden's own path. */
export interface RetrievalCall {
  principal: Principal;
  sourceIp: string;
  /** Runs /v1/embeddings for this caller through the gateway's model stages (its own ledger entry). */
  embed(model: string, input: string[], classification?: Classification): Promise<number[][]>;
  /** Told of every store-level decision (the gateway records the deciding policies in the entry). */
  decided(d: Decision, resource: { type: 'VectorStore' | 'Upload'; id: string }): void;
}

export interface RetrievalAnswer {
  status: number;
  body: unknown;
  /** Flat facts for the request's ledger entry. */
  details: Record<string, string | number | boolean>;
  /** Bytes sent as they are instead of `body` as JSON (a file's content). */
  content?: { bytes: Buffer; type: string };
}

/** The search loop fetches at least this many candidates per round, and never scans past MAX_CANDIDATES. */
const MIN_CANDIDATES = 16;
export const MAX_CANDIDATES = 1024;
const MAX_RESULTS = 50;
const MAX_QUERY_CHARS = 8192;
const EMBED_BATCH = 64;
const GROUP_RE = /^[A-Za-z0-9._:@-]{1,128}$/;
const DIGEST_RE = /^sha256:[0-9a-f]{64}$/;

/**
 * The highest classification a principal's groups can reach (`clearance:<level>`; every member reaches where contact
 * data lands, `internal` by default), as the starter policy `retrieve-within-clearance` grants it: the SQL filter uses
 * it to skip what the PDP would refuse anyway. It only narrows: a chunk above it is never fetched, a chunk under it
 * is still decided by the PDP.
 */
export function clearanceOf(p: Principal, scheme: ClassificationScheme = DEFAULT_SCHEME): Classification {
  return scheme.clearanceOf(p.groups);
}

function str(body: Record<string, unknown>, field: string, max: number, required: boolean): string | undefined {
  const v = body[field];
  if (v === undefined || v === null) {
    if (required) throw new BadRequest('missing_field', `${field} is required`, field);
    return undefined;
  }
  if (typeof v !== 'string' || v.length === 0 || v.length > max) throw new BadRequest('invalid_field', `${field} must be a non-empty string of at most ${max} characters`, field);
  return v;
}

function storeJson(s: VectorStoreRecord, files?: VectorFileRecord[]): Record<string, unknown> {
  return {
    id: s.id,
    object: 'vector_store',
    created_at: Math.floor(s.createdAt / 1000),
    name: s.name,
    status: 'completed',
    ...(files ? { file_counts: { in_progress: 0, completed: files.length, failed: 0, cancelled: 0, total: files.length } } : {}),
    metadata: {},
    warden: { tenant: s.tenant, classification: s.classification, embedding_model: s.embeddingModel },
  };
}

function fileJson(f: VectorFileRecord): Record<string, unknown> {
  return {
    id: f.id,
    object: 'vector_store.file',
    created_at: Math.floor(f.createdAt / 1000),
    vector_store_id: f.storeId,
    status: 'completed',
    last_error: null,
    attributes: { filename: f.filename, classification: f.classification, dataset_digest: f.datasetDigest },
    warden: { chunks: f.chunks, access: f.access, ...(f.subject ? { subject: f.subject } : {}) },
  };
}

/** The purposes an upload may declare: content for vector stores (OpenAI's `assistants`, and `user_data`). */
const UPLOAD_PURPOSES = new Set(['assistants', 'user_data']);

function uploadJson(u: UploadRecord): Record<string, unknown> {
  return {
    id: u.id,
    object: 'file',
    bytes: u.bytes,
    created_at: Math.floor(u.createdAt / 1000),
    expires_at: Math.floor(u.expiresAt / 1000),
    filename: u.filename,
    purpose: u.purpose,
    status: 'processed',
    status_details: null,
  };
}

/**
 * A chunk as the PDP sees it. Its Cedar id names its file (`<store>/<file>`): a policy can name a file's chunks,
 * and the chunks of one file with the same attributes and findings share the decision cache (each new resource
 * id costs the PDP a new slice: ~1.4 ms per candidate (decision, row, unseal) with per-chunk ids against ~0.45 ms this way, bench/retrieval).
 * Every chunk is still decided on its own attributes and findings.
 */
function chunkResource(c: ChunkRecord): RetrievalResource {
  return {
    type: 'Chunk',
    id: `${c.storeId}/${c.fileId}`,
    attrs: { tenant: c.tenant, store: c.storeId, classification: c.classification, dataset: c.datasetDigest, access: c.access, ...(c.subject ? { subject: c.subject } : {}) },
  };
}

/** A chunk's stored findings as the PDP context reads them (the injection score decides `deny-likely-injection`). */
function chunkFindings(c: ChunkRecord): Findings {
  return {
    items: c.findings.types.map((t) => {
      const [category, type] = t.split('.', 2) as [Findings['items'][number]['category'], string];
      return { category, type: type ?? category, start: 0, end: 0, confidence: 1 };
    }),
    classification: c.classification as Classification,
    injectionScore: c.findings.injectionScore,
    injectionSignals: c.findings.injectionSignals,
  };
}

export class RetrievalPlane {
  private readonly scheme: ClassificationScheme;

  readonly d: RetrievalDeps;

  constructor(deps: RetrievalDeps) {
    // Retrieval honours no duty: an allow that carries an obligation is a refusal on every decision below
    // (stores, files, chunks), never an allow whose duty is dropped.
    this.d = { ...deps, authorize: (...a) => withoutDuties(deps.authorize(...a), 'retrieval') };
    this.scheme = deps.classification ?? DEFAULT_SCHEME;
  }

  /** The store a call names, decided for `action`; another tenant's store is a PDP refusal, not a lookup miss. */
  private async storeFor(call: RetrievalCall, id: string, action: Action): Promise<VectorStoreRecord> {
    const s = await this.d.store.getStoreAnyTenant(id);
    if (!s) throw new NotFound('vector_store_not_found', `no vector store ${id}`);
    this.decide(call, action, s);
    return s;
  }

  /** An upload as the PDP sees it. */
  private decideUpload(call: RetrievalCall, action: Action, u: Pick<UploadRecord, 'id' | 'tenant' | 'createdBy'>): void {
    const resource = { type: 'Upload' as const, id: u.id };
    const d = this.d.authorize(call.principal, action, { ...resource, attrs: { tenant: u.tenant, createdBy: u.createdBy } }, null, call.sourceIp);
    call.decided(d, resource);
    if (!d.allow) throw new Forbidden('policy_denied', `${action} on file ${u.id} is not allowed: ${d.reasons.join('; ') || 'no policy permits it'}`);
  }

  /** The upload a call names, decided for `action`; another tenant's upload is a PDP refusal, not a lookup miss. */
  private async uploadFor(call: RetrievalCall, id: string, action: Action): Promise<UploadRecord & { sealed: Buffer }> {
    const u = await this.d.store.getUpload(id, this.d.clock.now());
    if (!u) throw new NotFound('file_not_found', `no file ${id} (or it expired: uploads are kept ${Math.round(this.uploadTtlMs / 3_600_000)} h for adding to a vector store)`);
    // An erased uploader's file (a copy restored from a backup taken before the erasure) is gone: its key is.
    if ((await this.d.subjectKeys.erasedAmong(u.tenant, [u.createdBy])).size) throw new NotFound('file_not_found', `no file ${id} (its uploader was erased)`);
    this.decideUpload(call, action, u);
    return u;
  }

  private get uploadTtlMs(): number {
    return this.d.uploadTtlMs ?? 86_400_000;
  }

  /**
   * POST /v1/files (OpenAI's Files API, multipart/form-data: `file`, `purpose`, optional `expires_after`): a UTF-8
   * text file to add to a vector store by `file_id`. Sealed under the tenant's KEK; kept until deleted or expired.
   */
  async upload(call: RetrievalCall, raw: Buffer, contentType: string | undefined): Promise<RetrievalAnswer> {
    if (!contentType || !/^multipart\/form-data\s*;/i.test(contentType)) {
      throw new WardenError(415, 'invalid_request_error', 'unsupported_media_type', 'POST /v1/files takes multipart/form-data with the fields file and purpose');
    }
    let form: FormData;
    try {
      // The WHATWG multipart parser Node ships (undici); the body is already bounded by the listener's limit.
      form = await new Response(raw, { headers: { 'content-type': contentType } }).formData();
    } catch {
      throw new BadRequest('invalid_multipart', 'the body is not valid multipart/form-data');
    }
    const purpose = form.get('purpose');
    if (typeof purpose !== 'string') throw new BadRequest('missing_field', 'purpose is required', 'purpose');
    if (!UPLOAD_PURPOSES.has(purpose)) throw new BadRequest('unsupported_purpose', `purpose ${JSON.stringify(purpose.slice(0, 64))} is not supported: Warden keeps files for vector stores only (${[...UPLOAD_PURPOSES].join(', ')})`, 'purpose');
    const file = form.get('file');
    if (file === null || typeof file === 'string') throw new BadRequest('missing_field', 'file is required (a file part)', 'file');
    const bytes = Buffer.from(await file.arrayBuffer());
    if (bytes.length === 0) throw new BadRequest('invalid_field', 'file is empty', 'file');
    const filename = (file.name || 'upload.txt').slice(0, 256);
    let text: string;
    try {
      text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
    } catch {
      text = '\0';
    }
    if (text.includes('\0')) throw new WardenError(415, 'invalid_request_error', 'unsupported_file_type', `${filename} is not UTF-8 text: only text files can be added to vector stores (PDF, Office documents and images are not parsed)`);
    let ttl = this.uploadTtlMs;
    const anchor = form.get('expires_after[anchor]');
    const seconds = form.get('expires_after[seconds]');
    if (anchor !== null || seconds !== null) {
      const n = typeof seconds === 'string' && /^\d{1,10}$/.test(seconds) ? Number(seconds) : NaN;
      if (anchor !== 'created_at' || !(n >= 3600 && n <= 2_592_000)) throw new BadRequest('invalid_field', 'expires_after must be { anchor: "created_at", seconds: 3600..2592000 }', 'expires_after');
      ttl = Math.min(ttl, n * 1000);
    }
    const refusal = this.d.storeRefusal?.(call.principal.tenant);
    if (refusal) throw new Forbidden('placement_refused', refusal);
    const now = this.d.clock.now();
    const u: UploadRecord = { id: `file-${randomUUID().replace(/-/g, '').slice(0, 24)}`, tenant: call.principal.tenant, filename, purpose, bytes: bytes.length, createdBy: call.principal.id, createdAt: now, expiresAt: now + ttl };
    this.decideUpload(call, 'uploadFile', u);
    // Sealed under the uploader's own key: erasing it shreds every copy, a backup's included.
    await this.d.store.putUpload(u, await this.d.subjectKeys.seal(u.tenant, u.createdBy, uploadAad(u.id), bytes));
    return { status: 200, body: uploadJson(u), details: { file: u.id, bytes: u.bytes } };
  }

  /** GET /v1/files: the caller's tenant's uploads the PDP lets it read. */
  async listUploads(call: RetrievalCall): Promise<RetrievalAnswer> {
    const listed = await this.d.store.listUploads(call.principal.tenant, this.d.clock.now());
    const erased = await this.d.subjectKeys.erasedAmong(call.principal.tenant, listed.map((u) => u.createdBy));
    const all = listed.filter((u) => !erased.has(u.createdBy));
    const visible = all.filter((u) => this.d.authorize(call.principal, 'readFile', { type: 'Upload', id: u.id, attrs: { tenant: u.tenant, createdBy: u.createdBy } }, null, call.sourceIp).allow);
    return { status: 200, body: { object: 'list', data: visible.map(uploadJson), has_more: false, first_id: visible[0]?.id ?? null, last_id: visible.at(-1)?.id ?? null }, details: { listed: visible.length } };
  }

  async getUpload(call: RetrievalCall, id: string): Promise<RetrievalAnswer> {
    const u = await this.uploadFor(call, id, 'readFile');
    return { status: 200, body: uploadJson(u), details: { file: u.id } };
  }

  /**
   * GET /v1/files/{id}/content (OpenAI's `files.content`): the uploaded bytes, opened with the tenant's keyring (a
   * withdrawn KEK is 503 kek_unavailable, never content). Uploads are UTF-8 text only, so the type is text/plain.
   */
  async uploadContent(call: RetrievalCall, id: string): Promise<RetrievalAnswer> {
    const u = await this.uploadFor(call, id, 'readFile');
    const bytes = await this.d.subjectKeys.open(uploadAad(u.id), u.sealed);
    return { status: 200, body: null, content: { bytes, type: 'text/plain; charset=utf-8' }, details: { file: u.id, bytes: bytes.length } };
  }

  async deleteUpload(call: RetrievalCall, id: string): Promise<RetrievalAnswer> {
    const u = await this.uploadFor(call, id, 'deleteFile');
    await this.d.store.deleteUpload(u.tenant, u.id);
    return { status: 200, body: { id: u.id, object: 'file', deleted: true }, details: { file: u.id } };
  }

  /** GET /v1/vector_stores/{id}/files/{file_id}: one file of a store (what a client polls after adding it). */
  async getStoreFile(call: RetrievalCall, storeId: string, fileId: string): Promise<RetrievalAnswer> {
    const s = await this.storeFor(call, storeId, 'readVectorStore');
    const f = (await this.liveFiles(s)).find((x) => x.id === fileId);
    if (!f) throw new NotFound('file_not_found', `vector store ${s.id} has no file ${fileId}`);
    return { status: 200, body: fileJson(f), details: { vectorStore: s.id, file: f.id } };
  }

  /** A store's files, without those about an erased subject (copies restored from a backup taken before the erasure). */
  private async liveFiles(s: VectorStoreRecord): Promise<VectorFileRecord[]> {
    const files = await this.d.store.listFiles(s.tenant, s.id, this.d.clock.now());
    const erased = await this.d.subjectKeys.erasedAmong(s.tenant, files.flatMap((f) => (f.subject ? [f.subject] : [])));
    return erased.size ? files.filter((f) => !f.subject || !erased.has(f.subject)) : files;
  }

  private decide(call: RetrievalCall, action: Action, s: Pick<VectorStoreRecord, 'id' | 'tenant' | 'classification'>): void {
    const resource = { type: 'VectorStore' as const, id: s.id };
    const d = this.d.authorize(call.principal, action, { ...resource, attrs: { tenant: s.tenant, classification: s.classification } }, null, call.sourceIp);
    call.decided(d, resource);
    if (!d.allow) throw new Forbidden('policy_denied', `${action} on vector store ${s.id} is not allowed: ${d.reasons.join('; ') || 'no policy permits it'}`);
  }

  async create(call: RetrievalCall, body: Record<string, unknown>): Promise<RetrievalAnswer> {
    const name = str(body, 'name', 256, false) ?? '';
    const classification = body.classification === undefined ? this.scheme.builtIn.internal : this.scheme.parse(body.classification, 'classification');
    const model = str(body, 'embedding_model', 256, false) ?? this.d.defaultEmbeddingModel;
    if (!model) throw new BadRequest('missing_field', 'embedding_model is required (no retrieval.embeddingModel is configured)', 'embedding_model');
    if (body.expires_after !== undefined) throw new BadRequest('unsupported_field', 'expires_after is not supported: what a store holds expires with its class (placement.classes.<class>.retention)', 'expires_after');
    const fileIds = body.file_ids ?? [];
    if (!Array.isArray(fileIds) || fileIds.length > 100 || !fileIds.every((f) => typeof f === 'string' && f.length > 0 && f.length <= 128) || new Set(fileIds).size !== fileIds.length) {
      throw new BadRequest('invalid_field', 'file_ids must be a list of at most 100 distinct file ids', 'file_ids');
    }
    const refusal = this.d.storeRefusal?.(call.principal.tenant);
    if (refusal) throw new Forbidden('placement_refused', refusal);
    const s: VectorStoreRecord = { id: newId('vs'), tenant: call.principal.tenant, name, classification, embeddingModel: model, createdBy: call.principal.id, createdAt: this.d.clock.now(), dims: null };
    this.decide(call, 'createVectorStore', s);
    // Every file named must be there and readable before the store exists: a refused one creates nothing.
    for (const f of fileIds as string[]) await this.uploadFor(call, f, 'readFile');
    await this.d.store.createStore(s);
    for (const f of fileIds as string[]) await this.addFile(call, s.id, { file_id: f });
    const files = fileIds.length ? await this.liveFiles(s) : [];
    return { status: 200, body: storeJson(s, files), details: { vectorStore: s.id, ...(fileIds.length ? { files: fileIds.length } : {}) } };
  }

  async list(call: RetrievalCall): Promise<RetrievalAnswer> {
    // Only the caller's tenant is read; each store is still one the PDP lets it read.
    const visible = (await this.d.store.listStores(call.principal.tenant)).filter((s) => this.d.authorize(call.principal, 'readVectorStore', { type: 'VectorStore', id: s.id, attrs: { tenant: s.tenant, classification: s.classification } }, null, call.sourceIp).allow);
    return { status: 200, body: { object: 'list', data: visible.map((s) => storeJson(s)), has_more: false }, details: { listed: visible.length } };
  }

  async get(call: RetrievalCall, id: string): Promise<RetrievalAnswer> {
    const s = await this.storeFor(call, id, 'readVectorStore');
    return { status: 200, body: storeJson(s, await this.liveFiles(s)), details: { vectorStore: s.id } };
  }

  async delete(call: RetrievalCall, id: string): Promise<RetrievalAnswer> {
    const s = await this.storeFor(call, id, 'writeVectorStore');
    const gone = await this.d.store.deleteStore(s.tenant, s.id);
    return { status: 200, body: { id: s.id, object: 'vector_store.deleted', deleted: true }, details: { vectorStore: s.id, filesDeleted: gone.files, chunksDeleted: gone.chunks } };
  }

  async listFiles(call: RetrievalCall, id: string): Promise<RetrievalAnswer> {
    const s = await this.storeFor(call, id, 'readVectorStore');
    const files = await this.liveFiles(s);
    return { status: 200, body: { object: 'list', data: files.map(fileJson), has_more: false }, details: { vectorStore: s.id, listed: files.length } };
  }

  /** Adds text content: chunked, each chunk inspected, classed, embedded through Warden and sealed. */
  async addFile(call: RetrievalCall, id: string, body: Record<string, unknown>): Promise<RetrievalAnswer> {
    const s = await this.storeFor(call, id, 'writeVectorStore');
    // Content comes inline (`content`, Warden's form) or from an upload (`file_id`, OpenAI's): one of the two.
    let content: string;
    let filename: string;
    let fileId: string;
    if (body.file_id !== undefined) {
      if (body.content !== undefined) throw new BadRequest('invalid_request', 'give either file_id or content, not both', 'file_id');
      const upload = await this.uploadFor(call, str(body, 'file_id', 128, true)!, 'readFile');
      content = (await this.d.subjectKeys.open(uploadAad(upload.id), upload.sealed)).toString('utf8');
      filename = str(body, 'filename', 256, false) ?? upload.filename;
      // The store's file carries the upload's id, as OpenAI's does (a client polls /vector_stores/{id}/files/{file_id}).
      fileId = upload.id;
    } else {
      content = str(body, 'content', Number.MAX_SAFE_INTEGER, true)!;
      filename = str(body, 'filename', 256, false) ?? 'content.txt';
      fileId = newId('file');
    }
    const declared = body.classification === undefined ? (s.classification as Classification) : this.scheme.parse(body.classification, 'classification');
    const access = body.access ?? [];
    if (!Array.isArray(access) || access.length > 32 || !access.every((g) => typeof g === 'string' && GROUP_RE.test(g))) {
      throw new BadRequest('invalid_field', 'access must be a list of at most 32 group names', 'access');
    }
    const datasetDigest = str(body, 'dataset_digest', 80, false) ?? 'sha256:' + createHash('sha256').update(content).digest('hex');
    if (!DIGEST_RE.test(datasetDigest)) throw new BadRequest('invalid_field', 'dataset_digest must be sha256:<64 hex digits>', 'dataset_digest');
    const subject = str(body, 'subject', 256, false) ?? null;
    const pieces = chunkText(content, parseChunkingStrategy(body.chunking_strategy));
    if (pieces.length === 0) throw new BadRequest('invalid_field', 'content has no text to index', 'content');
    if (pieces.length > 10_000) throw new BadRequest('invalid_field', 'content makes more than 10,000 chunks', 'content');

    const vectors: number[][] = [];
    // Declared confidential content is embedded as confidential: the placement table and the PDP see its class.
    for (let i = 0; i < pieces.length; i += EMBED_BATCH) vectors.push(...(await call.embed(s.embeddingModel, pieces.slice(i, i + EMBED_BATCH), declared)));
    if (vectors.length !== pieces.length) throw new FailClosed('embedding_mismatch', `the embedding model answered ${vectors.length} vectors for ${pieces.length} chunks`);

    const now = this.d.clock.now();
    let fileClass: Classification = declared;
    // The file's record lives as long as its longest-kept chunk (null: one is kept indefinitely).
    let fileExpiry: number | null = -Infinity;
    const chunks: NewChunk[] = [];
    for (let i = 0; i < pieces.length; i++) {
      const text = pieces[i]!;
      const f = this.d.inspect(text);
      // Data is classed by default: never below what the inspector finds in the text itself.
      const classification = this.scheme.max(declared, f.classification);
      fileClass = this.scheme.max(fileClass, classification);
      // Retention follows the chunk's own class (never below what the inspector found in it).
      const expiresAt = this.d.expiryFor?.(classification, now) ?? null;
      fileExpiry = fileExpiry === null || expiresAt === null ? null : Math.max(fileExpiry, expiresAt);
      // About a subject: under its own key (erasure shreds every copy); otherwise under the tenant's.
      const aad = chunkAad(s.id, fileId, i);
      const sealed = subject ? await this.d.subjectKeys.seal(s.tenant, subject, aad, Buffer.from(text, 'utf8')) : await sealBlob(this.d.keyring, s.tenant, aad, Buffer.from(text, 'utf8'));
      chunks.push({
        embedding: Float32Array.from(vectors[i]!),
        position: i,
        sealed,
        classification,
        rank: this.scheme.rank(classification),
        expiresAt,
        findings: { injectionScore: f.injectionScore, injectionSignals: f.injectionSignals, types: [...new Set(f.items.map((x) => `${x.category}.${x.type}`))] },
      });
    }
    const file: VectorFileRecord = { id: fileId, storeId: s.id, tenant: s.tenant, filename, datasetDigest, classification: fileClass, access: access as string[], subject, chunks: chunks.length, createdBy: call.principal.id, createdAt: now, expiresAt: fileExpiry };
    try {
      await this.d.store.addFile(file, chunks);
    } catch (e) {
      if (e instanceof WardenError) throw e;
      // The file's id is its upload's: one upload goes into one store.
      if (e instanceof FileIdTaken) {
        throw new WardenError(409, 'invalid_request_error', 'file_already_added', `file ${fileId} is already in a vector store; upload it again to add it to another`);
      }
      throw new BadRequest('invalid_content', (e as Error).message);
    }
    return { status: 200, body: fileJson(file), details: { vectorStore: s.id, file: fileId, chunks: chunks.length, classification: fileClass } };
  }

  async search(call: RetrievalCall, id: string, body: Record<string, unknown>): Promise<RetrievalAnswer> {
    const s = await this.storeFor(call, id, 'readVectorStore');
    const query = body.query;
    if (typeof query !== 'string' || query.length === 0 || query.length > MAX_QUERY_CHARS) throw new BadRequest('invalid_field', `query must be a non-empty string of at most ${MAX_QUERY_CHARS} characters`, 'query');
    const k = body.max_num_results ?? 10;
    if (typeof k !== 'number' || !Number.isInteger(k) || k < 1 || k > MAX_RESULTS) throw new BadRequest('invalid_field', `max_num_results must be an integer from 1 to ${MAX_RESULTS}`, 'max_num_results');
    for (const f of ['filters', 'ranking_options']) if (body[f] !== undefined) throw new BadRequest('unsupported_field', `${f} is not supported`, f);
    if (body.rewrite_query === true) throw new BadRequest('unsupported_field', 'rewrite_query is not supported', 'rewrite_query');
    if (s.dims === null) return { status: 200, body: page(query, []), details: { vectorStore: s.id, candidates: 0, denied: 0, returned: 0 } };
    const [vector] = await call.embed(s.embeddingModel, [query]);
    if (!vector || vector.length !== s.dims) throw new FailClosed('embedding_mismatch', `the embedding model answered a vector of ${vector?.length ?? 0} dimensions; the store holds ${s.dims}`);
    const out = await this.allowedNearest(call, s, Float32Array.from(vector), k);
    return { status: 200, body: page(query, out.results), details: { vectorStore: s.id, candidates: out.candidates, denied: out.denied, returned: out.results.length, clearance: clearanceOf(call.principal, this.scheme), ...(out.erased ? { erasedSubjectSkipped: out.erased } : {}) } };
  }

  /**
   * The `k` nearest chunks the PDP allows: tenant and clearance filter the KNN query; each candidate is decided;
   * while fewer than `k` are allowed and the store has more, the next round fetches twice as many candidates.
   */
  async allowedNearest(call: Pick<RetrievalCall, 'principal' | 'sourceIp'>, s: VectorStoreRecord, embedding: Float32Array, k: number) {
    const maxRank = this.scheme.rank(clearanceOf(call.principal, this.scheme));
    const seen = new Set<number>();
    const nowMs = this.d.clock.now();
    const allowed: { chunk: ChunkRecord; distance: number; text: string }[] = [];
    let denied = 0;
    // Chunks about an erased subject (restored from a backup taken before the erasure): skipped and counted, never opened.
    let erased = 0;
    let limit = Math.max(MIN_CANDIDATES, k * 4);
    for (;;) {
      const found = await this.d.store.nearest({ tenant: call.principal.tenant, storeId: s.id, maxRank, embedding, limit, nowMs });
      const fresh = found.filter((c) => !seen.has(c.chunkId));
      const records = await this.d.store.chunks(fresh.map((c) => c.chunkId), nowMs);
      const gone = await this.d.subjectKeys.erasedAmong(call.principal.tenant, [...records.values()].flatMap((r) => (r.subject ? [r.subject] : [])));
      for (const c of fresh) {
        if (allowed.length >= k) break;
        seen.add(c.chunkId);
        const rec = records.get(c.chunkId);
        if (!rec) continue; // deleted between the two reads, or expired (retention by class)
        if (rec.subject && gone.has(rec.subject)) {
          erased++;
          continue;
        }
        const d = this.d.authorize(call.principal, 'retrieve', chunkResource(rec), chunkFindings(rec), call.sourceIp);
        if (!d.allow) {
          denied++;
          continue;
        }
        // Only allowed chunks are opened; one whose subject was erased meanwhile is skipped like the others.
        try {
          allowed.push({ chunk: rec, distance: c.distance, text: (await this.d.subjectKeys.open(chunkAad(rec.storeId, rec.fileId, rec.position), rec.sealed)).toString('utf8') });
        } catch (e) {
          if (!(e instanceof SubjectErased)) throw e;
          erased++;
        }
      }
      if (allowed.length >= k || found.length < limit || limit >= MAX_CANDIDATES) break;
      limit = Math.min(MAX_CANDIDATES, limit * 2);
    }
    const results = allowed.map((a) => ({ chunk: a.chunk, text: a.text, score: 1 - a.distance }));
    return { results, candidates: seen.size, denied, erased };
  }

  /**
   * Erasure of a data subject (a principal of `tenant`): the chunks and files added about it (`subject`) and the
   * uploads it made (`/v1/files`, its tenant only). Counts first, for the ledger entry, then the delete.
   */
  async subjectHoldings(subject: string, tenant: string): Promise<SubjectHoldings> {
    return { ...(await this.d.store.countSubject(subject)), uploads: await this.d.store.countUploadsBy(tenant, subject), keys: await this.d.subjectKeys.countLive(subject) };
  }

  /** Deletes what the stores hold, then destroys the subject's keys: copies the delete cannot reach (backups) stay unreadable. */
  async eraseSubject(subject: string, tenant: string): Promise<SubjectHoldings> {
    const gone = { ...(await this.d.store.eraseSubject(subject)), uploads: await this.d.store.eraseUploadsBy(tenant, subject) };
    return { ...gone, keys: await this.d.subjectKeys.erase(subject, tenant) };
  }
}

/** What erasure finds of a subject in retrieval: chunks and files about it, uploads it made. */
export interface SubjectHoldings {
  files: number;
  chunks: number;
  uploads: number;
  /** Its per-subject keys (one per tenant it has content in): destroyed by the erasure. */
  keys: number;
}

function page(query: string, results: { chunk: ChunkRecord; text: string; score: number }[]): Record<string, unknown> {
  return {
    object: 'vector_store.search_results.page',
    search_query: [query],
    data: results.map((r) => ({
      file_id: r.chunk.fileId,
      filename: null,
      score: Math.round(r.score * 1e6) / 1e6,
      attributes: { classification: r.chunk.classification, dataset_digest: r.chunk.datasetDigest },
      content: [{ type: 'text', text: r.text }],
      warden: { chunk: r.chunk.id, injection_score: Math.round(r.chunk.findings.injectionScore * 1000) / 1000 },
    })),
    has_more: false,
    next_page: null,
  };
}
