// Typed refusals of the A2A gateway: each name says what failed; each maps to one status and a stable code.
import { BadRequest, Conflict, Forbidden, NotFound, UpstreamError } from '../core/errors.js';

export class AgentNotFound extends NotFound {
  constructor(id: string) {
    super('a2a_agent_not_found', `no agent named ${JSON.stringify(id)} is registered`);
  }
}

export class AgentDefinitionInvalid extends BadRequest {
  constructor(message: string, field: string) {
    super('a2a_agent_invalid', message, field);
  }
}

export class AgentExists extends Conflict {
  constructor(id: string) {
    super('a2a_agent_exists', `an agent named ${JSON.stringify(id)} is already registered`);
  }
}

/** The agent card could not be fetched, parsed, or does not describe the registered endpoint. */
export class AgentCardInvalid extends BadRequest {
  constructor(code: 'a2a_card_unavailable' | 'a2a_card_invalid' | 'a2a_card_url_mismatch' | 'a2a_card_signature_invalid' | 'a2a_card_injection', message: string) {
    super(code, message, 'card');
  }
}

/** The card the agent serves now differs from the pinned one: this call is refused and the agent quarantined. */
export class AgentCardChanged extends UpstreamError {
  details: Record<string, string> = {};
  constructor(id: string) {
    super(502, 'a2a_card_changed', `the agent ${id} now serves a different agent card; it is quarantined until an admin re-approves the new card`);
  }
}

export class AgentQuarantined extends Forbidden {
  constructor(id: string, why: string) {
    super('a2a_agent_quarantined', `the agent ${id} is quarantined: ${why}`);
  }
}

export class AgentCardNotPending extends Conflict {
  constructor(message: string) {
    super('a2a_card_not_pending', message);
  }
}

export class A2AMethodNotSupported extends BadRequest {
  constructor(method: string) {
    super('a2a_method_not_supported', `the A2A gateway relays SendMessage, SendStreamingMessage, GetTask and CancelTask (and their v0.3 names message/send, message/stream, tasks/get, tasks/cancel), not ${JSON.stringify(method)}`, 'method');
  }
}

export class A2ARequestInvalid extends BadRequest {
  constructor(message: string, field: string) {
    super('a2a_request_invalid', message, field);
  }
}

export class A2ASkillRequired extends BadRequest {
  constructor(agent: string) {
    super('a2a_skill_required', `the agent ${agent} has several skills: name one in the message's metadata["warden/skill"]`, 'params.message.metadata');
  }
}

export class A2ASkillUnknown extends NotFound {
  constructor(agent: string, skill: string) {
    super('a2a_skill_unknown', `the pinned agent card of ${agent} lists no skill ${JSON.stringify(skill)}`);
  }
}

export class A2ATaskUnknown extends NotFound {
  constructor(id: string) {
    super('a2a_task_unknown', `no task ${JSON.stringify(id)} was started through this gateway by this caller`);
  }
}

export class A2AOutsideTokenScope extends Forbidden {
  constructor() {
    super('a2a_outside_token_scope', 'the credential does not include the callAgent action');
  }
}

/** The caller's delegation chain is already as deep as the gateway allows (agents.maxDepth). */
export class A2ADepthExceeded extends Forbidden {
  constructor(depth: number, max: number) {
    super('a2a_depth_exceeded', `this call would be hop ${depth + 1} of an agent-to-agent chain; at most ${max} are allowed`);
  }
}

export class A2ACallDenied extends Forbidden {
  constructor(reasons: string[]) {
    super('a2a_call_denied', reasons.length ? `the policy denies this agent call (${reasons.join('; ')})` : 'the policy denies this agent call');
  }
}

/** What the agent answered (a result or a streamed update) was refused by policy after inspection. */
export class A2AResultBlocked extends Forbidden {
  constructor(reasons: string[]) {
    super('a2a_result_blocked', reasons.length ? `the agent's answer was withheld (${reasons.join('; ')})` : "the agent's answer was withheld by policy");
  }
}

export class A2AAgentFailed extends UpstreamError {
  constructor(message: string) {
    super(502, 'a2a_agent_failed', message);
  }
}
