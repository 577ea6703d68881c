// The signed dataset manifest: an in-toto Statement v1 (in-toto/attestation spec/v1/statement.md), the same
// shape as OpenSSF model signing (src/workload/signing/statement.ts): one subject = the dataset, whose
// sha256 is SHA-256 over the raw file digests in name order; each file is a `predicate.resources[]` entry.
// The predicate adds what a dataset carries: its source, owner, licence, classification, categories,
// retention, and for JSONL/CSV shards the record count and the RFC 9162 Merkle root over the records.
import { IN_TOTO_STATEMENT_V1, modelDigestOf } from '../../workload/signing/statement.js';
import { BUILT_IN_LEVELS, LEVEL_NAME } from '../../inspect/classification.js';
import { DatasetManifestInvalid } from './errors.js';
import type { RecordFormat } from './records.js';

export const DATASET_MANIFEST_V1 = 'https://warden.dev/dataset-manifest/v1';

/** The levels a manifest may declare when signed without a config naming others (the four built-in levels). */
export const CLASSIFICATIONS: readonly string[] = BUILT_IN_LEVELS;

export interface DatasetMetadata {
  name: string;
  version: string;
  /** The registered data source id whose key signs this manifest. */
  source: string;
  owner: string;
  licence: string;
  classification: string;
  /** Declared data categories (pii, health, financial, ...). */
  categories: string[];
  /** ISO 8601 duration (e.g. `P365D`) or `indefinite`. */
  retention: string;
}

export interface DatasetFileEntry {
  name: string;
  sha256: string;
  size: number;
  records?: { format: RecordFormat; count: number; root: string };
}

export interface DatasetManifest {
  metadata: DatasetMetadata;
  /** Sorted by name. */
  files: DatasetFileEntry[];
  ignorePaths: string[];
  /** `sha256:<hex>`: the subject digest. */
  digest: string;
}

const HEX64 = /^[0-9a-f]{64}$/;
const NAME = /^[A-Za-z0-9][A-Za-z0-9._:/@-]{0,127}$/;
const RETENTION = /^(indefinite|P(?!$)(\d+Y)?(\d+M)?(\d+W)?(\d+D)?)$/;
const CATEGORY = /^[a-z][a-z0-9_-]{0,31}$/;

const byName = (a: { name: string }, b: { name: string }) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);

export function datasetDigestOf(files: readonly DatasetFileEntry[]): string {
  return `sha256:${modelDigestOf(files.map((f) => ({ name: f.name, sha256: f.sha256 })))}`;
}

/**
 * Checks declared metadata; the same rules hold when signing and when a signed manifest is read. The classification
 * must be one of `classifications` (the signer's levels); reading (null) checks its shape only, and the registry
 * then checks it against the gateway's configured levels (the deployment decides which levels exist).
 */
export function checkMetadata(m: Record<string, unknown>, classifications: readonly string[] | null = CLASSIFICATIONS): DatasetMetadata {
  const str = (k: string, re?: RegExp) => {
    const v = m[k];
    if (typeof v !== 'string' || v === '' || v.length > 256) throw new DatasetManifestInvalid(`dataset ${k} must be a non-empty string`);
    if (re && !re.test(v)) throw new DatasetManifestInvalid(`dataset ${k} ${JSON.stringify(v)} is not valid`);
    return v;
  };
  const classification = str('classification');
  if (classifications === null ? !LEVEL_NAME.test(classification) : !classifications.includes(classification)) {
    throw new DatasetManifestInvalid(classifications === null ? `classification ${JSON.stringify(classification)} is not a level name` : `classification ${JSON.stringify(classification)} is not one of ${classifications.join(', ')}`);
  }
  const cats = m.categories ?? [];
  if (!Array.isArray(cats) || !cats.every((c) => typeof c === 'string' && CATEGORY.test(c))) throw new DatasetManifestInvalid('dataset categories must be a list of lowercase names');
  return {
    name: str('name', NAME),
    version: str('version', NAME),
    source: str('source', NAME),
    owner: str('owner'),
    licence: str('licence'),
    classification,
    categories: [...new Set(cats as string[])].sort(),
    retention: str('retention', RETENTION),
  };
}

export function buildDatasetStatement(metadata: DatasetMetadata, files: DatasetFileEntry[], ignorePaths: string[]): Record<string, unknown> {
  const sorted = [...files].sort(byName);
  return {
    _type: IN_TOTO_STATEMENT_V1,
    subject: [{ name: metadata.name, digest: { sha256: datasetDigestOf(sorted).slice('sha256:'.length) } }],
    predicateType: DATASET_MANIFEST_V1,
    predicate: {
      dataset: metadata,
      serialization: { method: 'files', hash_type: 'sha256', ignore_paths: [...ignorePaths].sort() },
      resources: sorted.map((f) => ({ algorithm: 'sha256', name: f.name, digest: f.sha256, size: f.size, ...(f.records ? { records: f.records } : {}) })),
    },
  };
}

function obj(v: unknown, what: string): Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new DatasetManifestInvalid(`${what} is not an object`);
  return v as Record<string, unknown>;
}

function hex(v: unknown, what: string): string {
  if (typeof v !== 'string' || !HEX64.test(v)) throw new DatasetManifestInvalid(`${what} is not a lowercase hex SHA-256`);
  return v;
}

function fileName(v: unknown): string {
  if (typeof v !== 'string' || v === '' || v.startsWith('/') || v.includes('\\') || v.includes('\0')) throw new DatasetManifestInvalid(`resource name ${JSON.stringify(v)} is not a relative POSIX path`);
  if (v !== '.' && v.split('/').some((s) => s === '' || s === '.' || s === '..')) throw new DatasetManifestInvalid(`resource name ${JSON.stringify(v)} has a bad segment`);
  return v;
}

function count(v: unknown, what: string): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) throw new DatasetManifestInvalid(`${what} is not a non-negative integer`);
  return v;
}

/** Parses the payload of a DSSE envelope (authenticated bytes only, except to read the source it names). */
export function parseDatasetStatement(payload: Uint8Array, classifications: readonly string[] | null = null): DatasetManifest {
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(payload).toString('utf8'));
  } catch {
    throw new DatasetManifestInvalid('statement is not JSON');
  }
  const st = obj(value, 'statement');
  if (st._type !== IN_TOTO_STATEMENT_V1) throw new DatasetManifestInvalid(`statement _type ${JSON.stringify(st._type)} is not ${IN_TOTO_STATEMENT_V1}`);
  if (st.predicateType !== DATASET_MANIFEST_V1) throw new DatasetManifestInvalid(`predicateType ${JSON.stringify(st.predicateType)} is not ${DATASET_MANIFEST_V1}`);
  if (!Array.isArray(st.subject) || st.subject.length !== 1) throw new DatasetManifestInvalid('expected one subject (the dataset)');
  const subject = obj(st.subject[0], 'subject');
  const predicate = obj(st.predicate, 'predicate');
  const metadata = checkMetadata(obj(predicate.dataset, 'predicate.dataset'), classifications);
  const ser = obj(predicate.serialization, 'predicate.serialization');
  if (ser.method !== 'files' || ser.hash_type !== 'sha256') throw new DatasetManifestInvalid('only serialization method "files" with hash_type "sha256" is supported');
  const ignorePaths = ser.ignore_paths ?? [];
  if (!Array.isArray(ignorePaths) || !ignorePaths.every((p) => typeof p === 'string')) throw new DatasetManifestInvalid('ignore_paths is not a list of strings');
  if (!Array.isArray(predicate.resources)) throw new DatasetManifestInvalid('predicate.resources missing');
  const seen = new Set<string>();
  const files = predicate.resources.map((r, i): DatasetFileEntry => {
    const o = obj(r, `resource ${i}`);
    if (o.algorithm !== 'sha256') throw new DatasetManifestInvalid(`resource ${i} algorithm is not sha256`);
    const name = fileName(o.name);
    if (seen.has(name)) throw new DatasetManifestInvalid(`resource ${name} is listed twice`);
    seen.add(name);
    const entry: DatasetFileEntry = { name, sha256: hex(o.digest, `resource ${i} digest`), size: count(o.size, `resource ${i} size`) };
    if (o.records !== undefined) {
      const rec = obj(o.records, `resource ${i} records`);
      if (rec.format !== 'jsonl' && rec.format !== 'csv') throw new DatasetManifestInvalid(`resource ${i} record format ${JSON.stringify(rec.format)} is not jsonl or csv`);
      entry.records = { format: rec.format, count: count(rec.count, `resource ${i} record count`), root: hex(rec.root, `resource ${i} record root`) };
    }
    return entry;
  });
  files.sort(byName);
  const digest = datasetDigestOf(files);
  const subjectDigest = hex(obj(subject.digest, 'subject digest').sha256, 'subject sha256');
  // The subject digest binds the resource list; a mismatch means the predicate was assembled wrongly.
  if (`sha256:${subjectDigest}` !== digest) throw new DatasetManifestInvalid(`subject digest sha256:${subjectDigest} does not match the resources (${digest})`);
  if (subject.name !== metadata.name) throw new DatasetManifestInvalid('subject name is not the dataset name');
  return { metadata, files, ignorePaths: ignorePaths as string[], digest };
}
