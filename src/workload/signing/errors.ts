// Typed failures of model signing and verification. Each name says what failed; all are
// refusals (403) when the gateway surfaces them, and the CLI prints the message.
import { BadRequest, Forbidden } from '../../core/errors.js';

/** The signature bundle or its DSSE envelope is not well-formed. */
export class SignatureBundleMalformed extends BadRequest {
  constructor(message: string) {
    super('signature_bundle_malformed', message);
  }
}

/** The key is of a type we do not sign or verify with (we take Ed25519, ECDSA P-256 and P-384). */
export class UnsupportedKeyType extends BadRequest {
  constructor(message: string) {
    super('unsupported_key_type', message);
  }
}

/** No signature in the DSSE envelope verifies under the trusted key. */
export class ModelSignatureInvalid extends Forbidden {
  constructor(message: string) {
    super('model_signature_invalid', message);
  }
}

/** The signed statement is not an in-toto Statement v1 with a model-signing predicate we understand. */
export class ModelManifestInvalid extends Forbidden {
  constructor(message: string) {
    super('model_manifest_invalid', message);
  }
}

export interface RenamedFile {
  from: string;
  to: string;
}

/** The files on disk differ from the signed manifest. Every differing file is named. */
export class ModelManifestMismatch extends Forbidden {
  readonly changed: string[];
  readonly added: string[];
  readonly removed: string[];
  readonly renamed: RenamedFile[];
  constructor(diff: { changed: string[]; added: string[]; removed: string[]; renamed: RenamedFile[] }) {
    const parts: string[] = [];
    if (diff.changed.length) parts.push(`changed: ${diff.changed.join(', ')}`);
    if (diff.renamed.length) parts.push(`renamed: ${diff.renamed.map((r) => `${r.from} -> ${r.to}`).join(', ')}`);
    if (diff.added.length) parts.push(`added (not signed): ${diff.added.join(', ')}`);
    if (diff.removed.length) parts.push(`missing (signed but absent): ${diff.removed.join(', ')}`);
    super('model_manifest_mismatch', `model files do not match the signed manifest; ${parts.join('; ')}`);
    this.changed = diff.changed;
    this.added = diff.added;
    this.removed = diff.removed;
    this.renamed = diff.renamed;
  }
}

/** The model directory holds something the serialization refuses (a symlink, a special file). */
export class ModelTreeRefused extends Forbidden {
  readonly file: string;
  constructor(file: string, reason: string) {
    super('model_tree_refused', `${file}: ${reason}`);
    this.file = file;
  }
}

/** A PKCS#11 token or key could not be used. Signing fails closed. */
export class Pkcs11Unavailable extends BadRequest {
  constructor(message: string) {
    super('pkcs11_unavailable', message);
  }
}
