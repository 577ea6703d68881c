// The gateway's view of the policy decision point. Until the Cedar PDP is wired in, ScopeAuthorizer decides
// from the credential's scope; both answer with the same Decision shape.
import type { Action, Decision, Principal, Resource } from '../core/types.js';

export interface AuthorizationRequest {
  principal: Principal;
  action: Action;
  resource: Resource;
  context: Record<string, unknown>;
}

export interface Authorizer {
  authorize(req: AuthorizationRequest): Decision;
}

export class ScopeAuthorizer implements Authorizer {
  static readonly VERSION = 'key-scopes/1';
  authorize(req: AuthorizationRequest): Decision {
    const { scope } = req.principal;
    const actionOk = scope.actions.includes('*') || scope.actions.includes(req.action);
    const resourceOk = req.resource.type !== 'Model' || scope.models.includes('*') || scope.models.includes(req.resource.id);
    const allow = actionOk && resourceOk;
    return {
      allow,
      policyIds: [`scope:${req.principal.authn.credentialId}`],
      policyVersion: ScopeAuthorizer.VERSION,
      obligations: [],
      reasons: allow ? [] : [!actionOk ? `action ${req.action} is not in the credential's scope` : `model ${req.resource.id} is not in the credential's scope`],
    };
  }
}
