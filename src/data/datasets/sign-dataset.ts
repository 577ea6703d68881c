// `warden data sign`: hash every file (and every record of JSONL/CSV shards), build the dataset statement,
// sign it as DSSE with the data source's key, and wrap it in the same Sigstore-shaped bundle as models.
import { writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { makeBundle, serializeBundle, type SignatureBundle } from '../../workload/signing/bundle.js';
import { signEnvelope } from '../../workload/signing/dsse.js';
import type { HashOptions } from '../../workload/signing/hash-pool.js';
import type { Signer } from '../../workload/signing/keys.js';
import { DEFAULT_IGNORE_PATHS, pathInside } from '../../workload/signing/sign-model.js';
import { IN_TOTO_PAYLOAD_TYPE } from '../../workload/signing/statement.js';
import { hashDataset } from './hash-dataset.js';
import { buildDatasetStatement, checkMetadata, datasetDigestOf, type DatasetFileEntry, type DatasetMetadata } from './manifest.js';
import { buildSidecar, DEFAULT_RECORDS_NAME, serializeSidecar, type RecordSidecar } from './sidecar.js';

export const DEFAULT_DATASET_SIGNATURE_NAME = 'dataset.sig';

export interface DatasetPaths {
  /** Where the bundle lives (default `<dir>/dataset.sig`); excluded from the manifest when inside the dataset. */
  signaturePath?: string;
  /** Where the record sidecar lives (default `<dir>/dataset.records`); likewise excluded. */
  recordsPath?: string;
  ignorePaths?: string[];
  hash?: HashOptions;
  /** The levels the classification may name (a gateway's configured levels; default the four built-in ones). */
  classifications?: readonly string[];
}

export interface SignedDataset {
  bundle: SignatureBundle;
  sidecar: RecordSidecar;
  files: DatasetFileEntry[];
  digest: string;
  records: number;
  bytes: number;
}

/** The paths a dataset's manifest leaves out: the defaults, the caller's, and the signature and sidecar inside it. */
export function datasetIgnorePaths(dir: string, o: DatasetPaths): { ignorePaths: string[]; signaturePath: string; recordsPath: string } {
  const signaturePath = resolve(o.signaturePath ?? resolve(dir, DEFAULT_DATASET_SIGNATURE_NAME));
  const recordsPath = resolve(o.recordsPath ?? resolve(dir, DEFAULT_RECORDS_NAME));
  const inside = [pathInside(dir, signaturePath), pathInside(dir, recordsPath)].filter((x): x is string => x !== undefined);
  return { ignorePaths: [...new Set([...DEFAULT_IGNORE_PATHS, ...(o.ignorePaths ?? []), ...inside])], signaturePath, recordsPath };
}

export async function signDataset(dir: string, metadata: Record<string, unknown>, signer: Signer, o: DatasetPaths = {}): Promise<SignedDataset> {
  const meta: DatasetMetadata = checkMetadata(metadata, o.classifications);
  const { ignorePaths } = datasetIgnorePaths(dir, o);
  const hashed = await hashDataset(dir, ignorePaths, o.hash);
  const statement = buildDatasetStatement(meta, hashed.files, ignorePaths);
  const envelope = await signEnvelope(IN_TOTO_PAYLOAD_TYPE, Buffer.from(JSON.stringify(statement), 'utf8'), signer);
  return {
    bundle: makeBundle(envelope, signer.publicKey),
    sidecar: buildSidecar(hashed.trees),
    files: hashed.files,
    digest: datasetDigestOf(hashed.files),
    records: hashed.files.reduce((s, f) => s + (f.records?.count ?? 0), 0),
    bytes: hashed.bytes,
  };
}

export async function writeDatasetSignature(signed: SignedDataset, signaturePath: string, recordsPath: string): Promise<void> {
  await writeFile(signaturePath, serializeBundle(signed.bundle), { mode: 0o644 });
  await writeFile(recordsPath, serializeSidecar(signed.sidecar), { mode: 0o644 });
}
