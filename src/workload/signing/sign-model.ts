// `warden model sign`: hash every file, build the model-signing statement, sign it as DSSE, wrap it
// in a Sigstore-shaped bundle.
import { writeFile } from 'node:fs/promises';
import { basename, relative, resolve, sep } from 'node:path';
import { makeBundle, serializeBundle, type SignatureBundle } from './bundle.js';
import { signEnvelope } from './dsse.js';
import { hashFiles, type HashOptions } from './hash-pool.js';
import type { Signer } from './keys.js';
import { buildStatement, IN_TOTO_PAYLOAD_TYPE, modelDigestOf, type ManifestEntry } from './statement.js';
import { listModelFiles } from './walk.js';

/** What model_signing ignores by default; recorded in the signed predicate so verifiers agree. */
export const DEFAULT_IGNORE_PATHS = ['.git', '.gitattributes', '.github', '.gitignore'];
export const DEFAULT_SIGNATURE_NAME = 'model.sig';

export interface SignModelOptions {
  /** Extra paths (relative to the model root) to leave out of the manifest. */
  ignorePaths?: string[];
  /** Where the bundle will be written; excluded from the manifest when it lies inside the model dir. */
  signaturePath?: string;
  hash?: HashOptions;
}

export interface SignedModel {
  bundle: SignatureBundle;
  entries: ManifestEntry[];
  /** `sha256:<hex>`: the model digest the registry and upstreams pin. */
  modelDigest: string;
}

/** Path of `inner` relative to `root` when it lies inside it, else undefined. */
export function pathInside(root: string, inner: string): string | undefined {
  const rel = relative(resolve(root), resolve(inner));
  if (rel === '' || rel.startsWith('..') || resolve(rel) === rel) return undefined;
  return rel.split(sep).join('/');
}

export async function signModel(modelPath: string, signer: Signer, opts: SignModelOptions = {}): Promise<SignedModel> {
  const sigRel = pathInside(modelPath, opts.signaturePath ?? resolve(modelPath, DEFAULT_SIGNATURE_NAME));
  const ignorePaths = [...new Set([...DEFAULT_IGNORE_PATHS, ...(opts.ignorePaths ?? []), ...(sigRel ? [sigRel] : [])])];
  const files = await listModelFiles(modelPath, ignorePaths);
  const digests = await hashFiles(files, opts.hash);
  const entries = files.map((f) => ({ name: f.name, sha256: digests.get(f.name)! }));
  const statement = buildStatement(basename(resolve(modelPath)), entries, ignorePaths);
  const envelope = await signEnvelope(IN_TOTO_PAYLOAD_TYPE, Buffer.from(JSON.stringify(statement), 'utf8'), signer);
  return { bundle: makeBundle(envelope, signer.publicKey), entries, modelDigest: `sha256:${modelDigestOf(entries)}` };
}

export async function writeSignature(path: string, bundle: SignatureBundle): Promise<void> {
  await writeFile(path, serializeBundle(bundle), { mode: 0o644 });
}
