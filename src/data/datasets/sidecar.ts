// The record sidecar: every record's leaf hash per JSONL/CSV file, written beside the signature. It is not
// signed itself: it is trusted only when it rebuilds the record root the signed manifest carries, and then it
// lets `verify` name the record that changed and lets anyone prove one record in or out.
import { RecordSidecarInvalid } from './errors.js';
import type { DatasetFileEntry } from './manifest.js';
import { merkleRootOfPacked, type RecordTree } from './records.js';

export const RECORDS_MEDIA_TYPE = 'application/vnd.warden.dataset-records.v1+json';
export const DEFAULT_RECORDS_NAME = 'dataset.records';

export interface RecordSidecar {
  mediaType: string;
  /** file name → base64 of the concatenated 32-byte leaf hashes. */
  files: Record<string, string>;
}

export function buildSidecar(trees: ReadonlyMap<string, RecordTree>): RecordSidecar {
  const files: Record<string, string> = {};
  for (const [name, t] of [...trees].sort(([a], [b]) => (a < b ? -1 : 1))) files[name] = t.leaves.toString('base64');
  return { mediaType: RECORDS_MEDIA_TYPE, files };
}

export function serializeSidecar(s: RecordSidecar): string {
  return JSON.stringify(s) + '\n';
}

/** The signed leaves of `entry` (packed), or throws when the sidecar is malformed or does not rebuild the signed root. */
export function authenticatedLeaves(sidecar: unknown, entry: DatasetFileEntry): Buffer {
  if (!entry.records) throw new RecordSidecarInvalid(`${entry.name} has no record tree in the manifest`);
  const s = sidecar as Partial<RecordSidecar> | null;
  if (typeof s !== 'object' || s === null || s.mediaType !== RECORDS_MEDIA_TYPE || typeof s.files !== 'object' || s.files === null) {
    throw new RecordSidecarInvalid(`the record sidecar is not ${RECORDS_MEDIA_TYPE}`);
  }
  const b64 = (s.files as Record<string, unknown>)[entry.name];
  if (typeof b64 !== 'string') throw new RecordSidecarInvalid(`the record sidecar has no leaves for ${entry.name}`);
  const raw = Buffer.from(b64, 'base64');
  if (raw.length !== entry.records.count * 32) throw new RecordSidecarInvalid(`the record sidecar holds ${raw.length / 32} leaves for ${entry.name}, the manifest ${entry.records.count}`);
  if (merkleRootOfPacked(raw).toString('hex') !== entry.records.root) throw new RecordSidecarInvalid(`the record sidecar's leaves for ${entry.name} do not rebuild the signed record root`);
  return raw;
}
