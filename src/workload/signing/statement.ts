// The signed manifest: an in-toto Statement v1 (in-toto/attestation spec/v1/statement.md) in the
// OpenSSF model-signing layout (sigstore/model-transparency docs/model_signing_format.md).
//   v1.0 (`https://model_signing/signature/v1.0`, what we write): one subject = the model, whose
//        sha256 is SHA-256 over the raw bytes of every file digest in name order; each file is a
//        `predicate.resources[]` entry {name, algorithm: sha256, digest}.
//   v0.1 (`https://model_signing/Digests/v0.1`, read only): one subject per file.
import { createHash } from 'node:crypto';
import { ModelManifestInvalid } from './errors.js';

export const IN_TOTO_PAYLOAD_TYPE = 'application/vnd.in-toto+json';
export const IN_TOTO_STATEMENT_V1 = 'https://in-toto.io/Statement/v1';
export const MODEL_SIGNING_V1 = 'https://model_signing/signature/v1.0';
export const MODEL_SIGNING_DIGESTS_V01 = 'https://model_signing/Digests/v0.1';

/** One file of the model: POSIX path relative to the model root (`.` when the model is one file). */
export interface ManifestEntry {
  name: string;
  /** Lowercase hex SHA-256 of the file's bytes. */
  sha256: string;
}

export interface ModelManifest {
  predicateType: string;
  modelName: string;
  /** Sorted by name. */
  entries: ManifestEntry[];
  /** Paths the signer excluded (signed, so trusted as the signer's intent). */
  ignorePaths: string[];
  allowSymlinks: boolean;
  /** `sha256:<hex>` digest of the whole model (the v1.0 subject digest). */
  modelDigest: string;
}

const HEX64 = /^[0-9a-f]{64}$/;

export function byName(a: ManifestEntry, b: ManifestEntry): number {
  return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
}

/** The v1.0 subject digest: SHA-256 over the concatenated raw file digests, in name order. */
export function modelDigestOf(entries: ManifestEntry[]): string {
  const h = createHash('sha256');
  for (const e of [...entries].sort(byName)) h.update(Buffer.from(e.sha256, 'hex'));
  return h.digest('hex');
}

export function buildStatement(modelName: string, entries: ManifestEntry[], ignorePaths: string[]): Record<string, unknown> {
  const sorted = [...entries].sort(byName);
  return {
    _type: IN_TOTO_STATEMENT_V1,
    subject: [{ name: modelName, digest: { sha256: modelDigestOf(sorted) } }],
    predicateType: MODEL_SIGNING_V1,
    predicate: {
      serialization: { method: 'files', hash_type: 'sha256', allow_symlinks: false, ignore_paths: [...ignorePaths].sort() },
      resources: sorted.map((e) => ({ algorithm: 'sha256', name: e.name, digest: e.sha256 })),
    },
  };
}

/** A resource name must be a plain relative path: no `..`, no absolute path, no empty segment. */
function checkEntryName(name: unknown): string {
  if (typeof name !== 'string' || name === '') throw new ModelManifestInvalid('resource without a name');
  if (name === '.') return name;
  if (name.startsWith('/') || name.includes('\\') || name.includes('\0')) throw new ModelManifestInvalid(`resource name ${JSON.stringify(name)} is not a relative POSIX path`);
  for (const seg of name.split('/')) {
    if (seg === '' || seg === '.' || seg === '..') throw new ModelManifestInvalid(`resource name ${JSON.stringify(name)} has a bad segment`);
  }
  return name;
}

function asObject(v: unknown, what: string): Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new ModelManifestInvalid(`${what} is not an object`);
  return v as Record<string, unknown>;
}

function hex(v: unknown, what: string): string {
  if (typeof v !== 'string' || !HEX64.test(v)) throw new ModelManifestInvalid(`${what} is not a lowercase hex SHA-256`);
  return v;
}

/** Parses the authenticated DSSE payload (only ever call this with bytes the signature covered). */
export function parseStatement(payload: Uint8Array): ModelManifest {
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(payload).toString('utf8'));
  } catch {
    throw new ModelManifestInvalid('statement is not JSON');
  }
  const st = asObject(value, 'statement');
  if (st._type !== IN_TOTO_STATEMENT_V1) throw new ModelManifestInvalid(`statement _type ${JSON.stringify(st._type)} is not ${IN_TOTO_STATEMENT_V1}`);
  if (!Array.isArray(st.subject) || st.subject.length === 0) throw new ModelManifestInvalid('statement has no subject');
  const subjects = st.subject.map((s, i) => asObject(s, `subject ${i}`));
  let manifest: ModelManifest;
  if (st.predicateType === MODEL_SIGNING_V1) manifest = parseV1(subjects, asObject(st.predicate, 'predicate'));
  else if (st.predicateType === MODEL_SIGNING_DIGESTS_V01) manifest = parseDigestsV01(subjects);
  else throw new ModelManifestInvalid(`predicateType ${JSON.stringify(st.predicateType)} is not a model-signing manifest`);
  const seen = new Set<string>();
  for (const e of manifest.entries) {
    if (seen.has(e.name)) throw new ModelManifestInvalid(`resource ${e.name} is listed twice`);
    seen.add(e.name);
  }
  return manifest;
}

function parseV1(subjects: Record<string, unknown>[], predicate: Record<string, unknown>): ModelManifest {
  const ser = asObject(predicate.serialization, 'predicate.serialization');
  // Only whole-file hashing is accepted; `shards` and other hash types would need their own verifier.
  if (ser.method !== 'files') throw new ModelManifestInvalid(`serialization method ${JSON.stringify(ser.method)} is not supported (only "files")`);
  if (ser.hash_type !== 'sha256') throw new ModelManifestInvalid(`hash_type ${JSON.stringify(ser.hash_type)} is not supported (only "sha256")`);
  const ignorePaths = ser.ignore_paths === undefined ? [] : ser.ignore_paths;
  if (!Array.isArray(ignorePaths) || !ignorePaths.every((p) => typeof p === 'string')) throw new ModelManifestInvalid('ignore_paths is not a list of strings');
  if (!Array.isArray(predicate.resources)) throw new ModelManifestInvalid('predicate.resources missing');
  const entries = predicate.resources.map((r, i) => {
    const o = asObject(r, `resource ${i}`);
    if (o.algorithm !== 'sha256') throw new ModelManifestInvalid(`resource ${i} algorithm ${JSON.stringify(o.algorithm)} is not sha256`);
    return { name: checkEntryName(o.name), sha256: hex(o.digest, `resource ${i} digest`) };
  });
  entries.sort(byName);
  if (subjects.length !== 1) throw new ModelManifestInvalid(`expected one subject (the model), found ${subjects.length}`);
  const subject = subjects[0]!;
  const subjectDigest = hex(asObject(subject.digest, 'subject digest').sha256, 'subject sha256');
  // The subject digest binds the resource list; a mismatch means the predicate was assembled wrongly.
  const recomputed = modelDigestOf(entries);
  if (subjectDigest !== recomputed) throw new ModelManifestInvalid(`subject digest ${subjectDigest} does not match the resources (${recomputed})`);
  return {
    predicateType: MODEL_SIGNING_V1,
    modelName: typeof subject.name === 'string' ? subject.name : '',
    entries,
    ignorePaths: ignorePaths as string[],
    allowSymlinks: ser.allow_symlinks === true,
    modelDigest: `sha256:${recomputed}`,
  };
}

function parseDigestsV01(subjects: Record<string, unknown>[]): ModelManifest {
  const entries = subjects.map((s, i) => ({ name: checkEntryName(s.name), sha256: hex(asObject(s.digest, `subject ${i} digest`).sha256, `subject ${i} sha256`) }));
  entries.sort(byName);
  return { predicateType: MODEL_SIGNING_DIGESTS_V01, modelName: '', entries, ignorePaths: [], allowSymlinks: false, modelDigest: `sha256:${modelDigestOf(entries)}` };
}
