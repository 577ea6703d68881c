// `warden data verify`: authenticate the bundle under a data source's key, then recompute every file digest
// and record tree. Any changed, added, removed or renamed file fails with the file named, and with the record
// sidecar (when it rebuilds the signed root) each changed, added or removed record is named too.
import type { KeyObject } from 'node:crypto';
import type { SignatureBundle } from '../../workload/signing/bundle.js';
import { verifyEnvelope } from '../../workload/signing/dsse.js';
import type { HashOptions } from '../../workload/signing/hash-pool.js';
import { IN_TOTO_PAYLOAD_TYPE } from '../../workload/signing/statement.js';
import { diffManifest, signerIdentityOf } from '../../workload/signing/verify-model.js';
import { DatasetManifestInvalid, DatasetManifestMismatch, type RecordMismatch } from './errors.js';
import { hashDataset } from './hash-dataset.js';
import { parseDatasetStatement, type DatasetManifest } from './manifest.js';
import { diffRecords } from './records.js';
import { authenticatedLeaves } from './sidecar.js';

export interface VerifyDatasetOptions {
  ignorePaths?: string[];
  /** The parsed record sidecar, if there is one; without it a changed shard is named but not its record. */
  sidecar?: unknown;
  hash?: HashOptions;
}

export interface VerifiedDataset {
  manifest: DatasetManifest;
  digest: string;
  signerIdentity: string;
  files: number;
  bytes: number;
  records: number;
}

/** Authenticates the envelope under `key` and returns the manifest it signs (no files are read). */
export function authenticateManifest(bundle: SignatureBundle, key: KeyObject): DatasetManifest {
  return parseDatasetStatement(verifyEnvelope(bundle.dsseEnvelope, key, IN_TOTO_PAYLOAD_TYPE));
}

export async function verifyDataset(dir: string, bundle: SignatureBundle, key: KeyObject, o: VerifyDatasetOptions = {}): Promise<VerifiedDataset> {
  const manifest = authenticateManifest(bundle, key);
  const ignorePaths = [...manifest.ignorePaths, ...(o.ignorePaths ?? [])];
  const hashed = await hashDataset(dir, ignorePaths, o.hash);
  const singleSigned = manifest.files.length === 1 && manifest.files[0]!.name === '.';
  const singleOnDisk = hashed.files.length === 1 && hashed.files[0]!.name === '.';
  if (singleSigned !== singleOnDisk) throw new DatasetManifestInvalid(singleSigned ? 'the signature covers a single file but a directory was given' : 'the signature covers a directory but a single file was given');
  const fileDiff = diffManifest(new Map(manifest.files.map((f) => [f.name, f.sha256])), new Map(hashed.files.map((f) => [f.name, f.sha256])));
  if (fileDiff) {
    const records: RecordMismatch[] = [];
    for (const name of fileDiff.changed) {
      const entry = manifest.files.find((f) => f.name === name)!;
      const tree = hashed.trees.get(name);
      if (!entry.records || !tree || o.sidecar === undefined) continue;
      // A sidecar that does not rebuild the signed root is refused rather than trusted to name records.
      for (const c of diffRecords(authenticatedLeaves(o.sidecar, entry), tree)) records.push({ file: name, ...c });
    }
    throw new DatasetManifestMismatch({ changed: fileDiff.changed, added: fileDiff.added, removed: fileDiff.removed, renamed: fileDiff.renamed, records });
  }
  // Same bytes give the same tree; a signed root that differs means the signer's manifest was wrong.
  for (const f of manifest.files) {
    const t = hashed.trees.get(f.name);
    if ((f.records?.root ?? null) !== (t?.root ?? null) || (f.records?.count ?? 0) !== (t?.count ?? 0)) {
      throw new DatasetManifestInvalid(`${f.name}: the signed record tree does not match the file's records`);
    }
  }
  return {
    manifest,
    digest: manifest.digest,
    signerIdentity: signerIdentityOf(key),
    files: hashed.files.length,
    bytes: hashed.bytes,
    records: manifest.files.reduce((s, f) => s + (f.records?.count ?? 0), 0),
  };
}
