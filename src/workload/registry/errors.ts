import { Conflict, Forbidden, NotFound } from '../../core/errors.js';
import type { DeploymentState } from '../../store/registry-store.js';

export class DeploymentNotFound extends NotFound {
  constructor(id: string) {
    super('deployment_not_found', `no deployment ${id}`);
  }
}

/** The requested transition is not allowed from the deployment's current state. */
export class InvalidTransition extends Conflict {
  constructor(id: string, from: DeploymentState, action: string) {
    super('invalid_transition', `deployment ${id} is ${from}; cannot ${action}`);
  }
}

/** Same model and version registered again with a different artifact digest. */
export class VersionDigestConflict extends Conflict {
  constructor(model: string, version: string) {
    super('version_digest_conflict', `${model}@${version} is already registered with another artifact digest`);
  }
}

/** The artifact's evidence (signature, scan, provenance, SBOM) does not meet the registry policy. */
export class ArtifactVerificationFailed extends Forbidden {
  constructor(code: string, message: string) {
    super(code, message);
  }
}

/** The PDP said no to promoteModel. */
export class PromotionDenied extends Forbidden {
  constructor(message: string) {
    super('promotion_denied', message);
  }
}

/** Promotion needs a second, different approver. */
export class SecondApproverRequired extends Forbidden {
  constructor(message: string) {
    super('second_approver_required', message);
  }
}

export class NoKnownGoodVersion extends Conflict {
  constructor(model: string) {
    super('no_known_good_version', `no earlier known-good deployment of ${model} to roll back to`);
  }
}

/** The deployment is not promoted, so it must not receive traffic. */
export class DeploymentNotRoutable extends Forbidden {
  constructor(id: string, state: DeploymentState) {
    super('deployment_not_routable', `deployment ${id} is ${state}, not promoted`);
  }
}

/** The upstream reported serving a different artifact than the one pinned: quarantined. */
export class ServedDigestMismatch extends Forbidden {
  constructor(id: string, expected: string, reported: string) {
    super('served_digest_mismatch', `deployment ${id} serves ${reported || '(nothing reported)'} but ${expected} is pinned; quarantined`);
  }
}
