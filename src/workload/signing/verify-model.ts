// `warden model verify`: authenticate the bundle under a trusted key, then recompute every file
// digest and compare with the signed manifest. Any changed, added, removed or renamed file fails
// with the file named. The key inside the bundle (if any) is never trusted: only `trustedKey` is.
import type { KeyObject } from 'node:crypto';
import { resolve } from 'node:path';
import type { SignatureBundle } from './bundle.js';
import { verifyEnvelope } from './dsse.js';
import { ModelManifestInvalid, ModelManifestMismatch, type RenamedFile } from './errors.js';
import { hashFiles, type HashOptions } from './hash-pool.js';
import { keyAlgorithmOf, publicKeyHint, type KeyAlgorithm } from './keys.js';
import { DEFAULT_SIGNATURE_NAME, pathInside } from './sign-model.js';
import { IN_TOTO_PAYLOAD_TYPE, parseStatement, type ModelManifest } from './statement.js';
import { listModelFiles } from './walk.js';

export interface VerifyModelOptions {
  /** Extra paths the verifier leaves out (model_signing `--ignore-paths`). */
  ignorePaths?: string[];
  /** Where the bundle lives; excluded from the comparison when inside the model dir. */
  signaturePath?: string;
  hash?: HashOptions;
}

export interface VerifiedModel {
  manifest: ModelManifest;
  /** `sha256:<hex>` over the file digests: what the registry and upstreams pin. */
  modelDigest: string;
  /** `key:sha256:<spki hex>`: the identity that signed, for the registry. */
  signerIdentity: string;
  algorithm: KeyAlgorithm;
  files: number;
  bytes: number;
}

export function signerIdentityOf(key: KeyObject): string {
  return `key:sha256:${publicKeyHint(key)}`;
}

export function diffManifest(expected: Map<string, string>, actual: Map<string, string>): ModelManifestMismatch | undefined {
  const changed: string[] = [];
  let removed: string[] = [];
  let added: string[] = [];
  for (const [name, digest] of expected) {
    const got = actual.get(name);
    if (got === undefined) removed.push(name);
    else if (got !== digest) changed.push(name);
  }
  for (const name of actual.keys()) if (!expected.has(name)) added.push(name);
  const renamed: RenamedFile[] = [];
  for (const from of [...removed]) {
    const to = added.find((a) => actual.get(a) === expected.get(from));
    if (to === undefined) continue;
    renamed.push({ from, to });
    removed = removed.filter((r) => r !== from);
    added = added.filter((a) => a !== to);
  }
  if (changed.length + removed.length + added.length + renamed.length === 0) return undefined;
  return new ModelManifestMismatch({ changed, added, removed, renamed });
}

export async function verifyModel(modelPath: string, bundle: SignatureBundle, trustedKey: KeyObject, opts: VerifyModelOptions = {}): Promise<VerifiedModel> {
  const algorithm = keyAlgorithmOf(trustedKey);
  const payload = verifyEnvelope(bundle.dsseEnvelope, trustedKey, IN_TOTO_PAYLOAD_TYPE);
  const manifest = parseStatement(payload);
  const sigRel = pathInside(modelPath, opts.signaturePath ?? resolve(modelPath, DEFAULT_SIGNATURE_NAME));
  const ignorePaths = [...manifest.ignorePaths, ...(opts.ignorePaths ?? []), ...(sigRel ? [sigRel] : [])];
  const files = await listModelFiles(modelPath, ignorePaths);
  const singleFileSigned = manifest.entries.length === 1 && manifest.entries[0]!.name === '.';
  const singleFileOnDisk = files.length === 1 && files[0]!.name === '.';
  if (singleFileSigned !== singleFileOnDisk) {
    throw new ModelManifestInvalid(singleFileSigned ? 'the signature covers a single file but a directory was given' : 'the signature covers a directory but a single file was given');
  }
  const actual = await hashFiles(files, opts.hash);
  const mismatch = diffManifest(new Map(manifest.entries.map((e) => [e.name, e.sha256])), actual);
  if (mismatch) throw mismatch;
  return {
    manifest,
    modelDigest: manifest.modelDigest,
    signerIdentity: signerIdentityOf(trustedKey),
    algorithm,
    files: files.length,
    bytes: files.reduce((s, f) => s + f.size, 0),
  };
}
