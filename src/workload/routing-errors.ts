// Why the route stage refused a registered model. Each is a typed, fail-closed denial with its own code.
import { FailClosed, Forbidden } from '../core/errors.js';

/** `workload.requireRegistered`: only models in the registry receive traffic. */
export class ModelNotRegistered extends Forbidden {
  constructor(model: string) {
    super('model_not_registered', `model ${JSON.stringify(model)} is not in the model registry and this gateway routes only registered models`);
  }
}

/** The registry knows the model but none of its deployments is promoted (registered, verified, quarantined or retired only). */
export class NoPromotedDeployment extends FailClosed {
  constructor(model: string) {
    super('no_promoted_deployment', `model ${JSON.stringify(model)} has no promoted deployment; nothing verified may serve it`);
  }
}

/** Promoted confidential deployments exist for the placement, but none holds fresh, matching attestation. */
export class DeploymentUntrusted extends FailClosed {
  constructor(model: string, reason: string) {
    super('deployment_not_attested', `no deployment of ${JSON.stringify(model)} holds fresh, matching attestation evidence (${reason})`);
  }
}
