// Why a model key was not released. Refusals are 403 (the workload is not entitled to the key);
// a key that cannot be unwrapped is a key-store failure (503, fail closed).
import { FailClosed, Forbidden } from '../core/errors.js';

export class KeyReleaseRefused extends Forbidden {}

/** The evidence object did not come out of a verifier (a copy, a literal, a deserialized cache entry). */
export class KeyReleaseEvidenceNotVerified extends KeyReleaseRefused {
  constructor() {
    super('key_release_evidence_not_verified', 'key release requires evidence produced by the attestation verifier');
  }
}

/** The evidence was verified against other reference values, or its measurements do not match them. */
export class KeyReleaseReferenceMismatch extends KeyReleaseRefused {
  constructor(message: string) {
    super('key_release_reference_mismatch', message);
  }
}

export class KeyReleaseEvidenceStale extends KeyReleaseRefused {
  constructor(message: string) {
    super('key_release_evidence_stale', message);
  }
}

/** The reference pins no image measurement (Nitro PCR0, SEV-SNP measurement, TDX MRTD, a JWT image claim): it identifies no code to release a key to. */
export class KeyReleaseReferenceUnmeasured extends KeyReleaseRefused {
  constructor(message: string) {
    super('key_release_reference_unmeasured', message);
  }
}

/** The evidence binds no public key, so there is nothing the key could be wrapped to. */
export class KeyReleaseNoBoundKey extends KeyReleaseRefused {
  constructor() {
    super('key_release_no_bound_key', 'the verified evidence binds no usable public key; the model key is never released in the clear');
  }
}

export class KeyReleaseUnsupportedKey extends KeyReleaseRefused {
  constructor(message: string) {
    super('key_release_unsupported_key', message);
  }
}

/** The wrapped key belongs to another model than the one this deployment serves. */
export class KeyReleaseModelMismatch extends KeyReleaseRefused {
  constructor(message: string) {
    super('key_release_model_mismatch', message);
  }
}

/** The stored envelope does not open with the KEK (wrong KEK, tampered or relabeled record). */
export class KeyUnwrapFailed extends FailClosed {
  constructor(message: string) {
    super('key_unwrap_failed', message);
  }
}
