// Attestation failures. Every one is a FailClosed (503): a deployment whose evidence cannot be
// verified is not routed to and gets no key — the request is refused, never waved through.
import { FailClosed } from '../../core/errors.js';

export class AttestationError extends FailClosed {}

/** The evidence does not parse as the declared format (CBOR, COSE_Sign1, report layout, JWT). */
export class AttestationMalformed extends AttestationError {
  constructor(message: string) {
    super('attestation_malformed', message);
  }
}

/** The signature over the evidence does not verify with the key the chain vouches for. */
export class AttestationSignatureInvalid extends AttestationError {
  constructor(message: string) {
    super('attestation_signature_invalid', message);
  }
}

/** The certificate chain does not lead to a pinned root, or a certificate in it is not valid at `now`. */
export class AttestationChainInvalid extends AttestationError {
  constructor(message: string) {
    super('attestation_chain_invalid', message);
  }
}

/** A measurement (PCR, launch digest, claim) differs from the deployment's reference value. */
export class AttestationMeasurementMismatch extends AttestationError {
  constructor(message: string) {
    super('attestation_measurement_mismatch', message);
  }
}

/** The evidence does not carry the nonce of this challenge: replayed or produced for someone else. */
export class AttestationNonceMismatch extends AttestationError {
  constructor(message: string) {
    super('attestation_nonce_mismatch', message);
  }
}

/** The evidence is older than the allowed age, or dated in the future. */
export class AttestationStale extends AttestationError {
  constructor(message: string) {
    super('attestation_stale', message);
  }
}

/** A platform policy field is not acceptable (debug enabled, migration agent, VMPL, TCB too old). */
export class AttestationPolicyViolation extends AttestationError {
  constructor(message: string) {
    super('attestation_policy_violation', message);
  }
}

/** The public key the evidence claims to bind is not actually bound by it. */
export class AttestationKeyBindingInvalid extends AttestationError {
  constructor(message: string) {
    super('attestation_key_binding_invalid', message);
  }
}

/** Reference values or trust anchors are missing or unusable: nothing to verify against. */
export class AttestationConfigurationInvalid extends AttestationError {
  constructor(message: string) {
    super('attestation_configuration_invalid', message);
  }
}

/** The deployment did not answer the challenge (fetch failed or timed out). */
export class AttestationUnavailable extends AttestationError {
  constructor(message: string) {
    super('attestation_unavailable', message);
  }
}
