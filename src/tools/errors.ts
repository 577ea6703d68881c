// Typed refusals of the tools plane: each name says what failed; each maps to one status.
import { BadRequest, Conflict, Forbidden, NotFound, Unauthenticated, WardenError } from '../core/errors.js';

export class ToolNotFound extends NotFound {
  constructor(name: string) {
    super('tool_not_found', `no tool named ${JSON.stringify(name)} is registered`);
  }
}

/** The arguments do not satisfy the tool's JSON Schema; `field` is the JSON Pointer of the first failure. */
export class ToolArgumentsInvalid extends BadRequest {
  constructor(message: string, field: string) {
    super('tool_arguments_invalid', message, field);
  }
}

/**
 * An argument substituted into a backend URL template would change the path it names (`..`, `/`, `\`, their
 * percent-escapes, or nothing at all): refused before anything is sent, so a tool cannot be steered to
 * another endpoint of its backend (path traversal).
 */
export class ToolUrlSegmentInvalid extends BadRequest {
  constructor(name: string, why: string) {
    super('tool_url_segment_invalid', `the argument ${name} cannot be used in the backend URL: ${why}`, `/${name}`);
  }
}

export class ToolDefinitionInvalid extends BadRequest {
  constructor(message: string, field: string) {
    super('tool_definition_invalid', message, field);
  }
}

/** Tool calls carry a human's delegated authority: an agent or service acting on its own may not call tools. */
export class DelegationRequired extends Forbidden {
  constructor(kind: string) {
    super('delegation_required', `a ${kind} cannot call tools on its own authority; present a token delegated by the user it acts for (RFC 8693 act)`);
  }
}

/** The token was narrowed to another tool (JIT `tool` claim) or its scope lacks callTool. */
export class ToolOutsideTokenScope extends Forbidden {
  constructor(message: string) {
    super('tool_outside_token_scope', message);
  }
}

export class ToolCallDenied extends Forbidden {
  constructor(reasons: string[]) {
    super('tool_call_denied', reasons.length ? `the policy denies this tool call (${reasons.join('; ')})` : 'the policy denies this tool call');
  }
}

/** The tool's result was refused by policy after inspection (e.g. a likely indirect prompt injection). */
export class ToolResultBlocked extends WardenError {
  constructor(reasons: string[]) {
    super(502, 'upstream_error', 'tool_result_blocked', `the tool's result was withheld by policy${reasons.length ? ` (${reasons.join('; ')})` : ''}`);
  }
}

export class ToolBackendFailed extends WardenError {
  constructor(status: number) {
    super(502, 'upstream_error', 'tool_backend_failed', `the tool backend answered with status ${status}`);
  }
}

export class ApprovalNotFound extends NotFound {
  constructor(id: string) {
    super('approval_not_found', `no approval request ${JSON.stringify(id)}`);
  }
}

/** The approval does not cover this call: another requester, agent, tool, arguments or policy version. */
export class ApprovalMismatch extends Forbidden {
  constructor(what: string) {
    super(`approval_${what}_mismatch`, `the approval does not cover this call: its ${what.replace('_', ' ')} differs (a changed call needs a new approval)`);
  }
}

export class ApprovalNotApproved extends Forbidden {
  constructor(status: string) {
    super('approval_not_approved', `the approval request is ${status}, not approved`);
  }
}

export class ApprovalExpired extends Forbidden {
  constructor() {
    super('approval_expired', 'the approval request has expired');
  }
}

export class ApprovalAlreadyUsed extends Conflict {
  constructor() {
    super('approval_already_used', 'the approved call has already been executed; an approval is good for one call');
  }
}

export class ApprovalAlreadyDecided extends Conflict {
  constructor(status: string) {
    super('approval_already_decided', `the approval request is already ${status}`);
  }
}

/** The approver is the requester, the acting agent, not a human, delegated, or lacks the `approve` permission. */
export class ApproverNotPermitted extends Forbidden {
  constructor(message: string) {
    super('approver_not_permitted', message);
  }
}

/** RFC 9470: the approver's authentication is not recent MFA; the challenge says what is needed. */
export class ApproverStepUpRequired extends Unauthenticated {
  constructor(maxAgeSec: number, why: string) {
    super('insufficient_user_authentication', `approving needs multi-factor authentication within the last ${maxAgeSec} s (${why})`, `Bearer error="insufficient_user_authentication", error_description="recent MFA required", max_age=${maxAgeSec}`);
  }
}

/**
 * Tool poisoning: a description (the registry's, or the one an MCP server serves) reads as instructions to the
 * model. Refused before any agent can see it, at registration and at re-approval.
 */
export class ToolDescriptionInjection extends BadRequest {
  constructor(field: string, score: number, signals: string[]) {
    super('tool_description_injection', `${field}: the description reads as injected instructions (score ${score.toFixed(2)}${signals.length ? `, ${signals.join(', ')}` : ''}); agents would obey it`, field);
  }
}

/** The MCP server could not say what the tool is (unreachable, or it does not list it): nothing to pin. */
export class ToolDefinitionUnavailable extends WardenError {
  constructor(message: string) {
    super(502, 'upstream_error', 'tool_definition_unavailable', message);
  }
}

/** A "rug pull": the MCP server now serves a different definition than the pinned one. The tool is quarantined. */
export class ToolDefinitionChanged extends WardenError {
  constructor(name: string) {
    super(502, 'upstream_error', 'tool_definition_changed', `the MCP server changed the definition of ${name} since it was approved; the tool is quarantined until an admin re-approves it`);
  }
}

export class ToolQuarantined extends Forbidden {
  constructor(name: string, why: string) {
    super('tool_quarantined', `the tool ${name} is quarantined: ${why}`);
  }
}

export class ToolAlreadyQuarantined extends Conflict {
  constructor(name: string) {
    super('tool_already_quarantined', `the tool ${name} is quarantined already; release it first to quarantine it again`);
  }
}

export class ToolNotQuarantined extends Conflict {
  constructor(name: string) {
    super('tool_not_quarantined', `the tool ${name} is not quarantined`);
  }
}

/** An admin approves a served definition only by the digest they were shown. */
export class ToolDefinitionNotPending extends Conflict {
  constructor(message: string) {
    super('tool_definition_not_pending', message);
  }
}
