// Typed failures of the policy plane. Load-time problems are 400s (the author must fix the policy);
// evaluation problems never escape decide(): they become a deny with a reason (fail closed).
import { BadRequest } from '../core/errors.js';

/** Cedar could not parse the policy text. */
export class PolicyParseFailed extends BadRequest {
  constructor(source: string, cedarMessage: string) {
    super('policy_parse_failed', `${source}: ${cedarMessage}`);
  }
}

/** The policy set parsed but does not validate against the Warden schema (Cedar strict validation). */
export class PolicyValidationFailed extends BadRequest {
  readonly problems: { policyId: string; message: string }[];
  constructor(problems: { policyId: string; message: string }[]) {
    super('policy_invalid', 'policy set failed schema validation: ' + problems.map((p) => `${p.policyId}: ${p.message}`).join('; '));
    this.problems = problems;
  }
}

export class PolicyIdConflict extends BadRequest {
  constructor(id: string, where: string) {
    super('policy_id_conflict', `policy id ${JSON.stringify(id)} is defined twice (${where})`);
  }
}

/** Templates (`?principal` slots) are not supported: every Warden policy is static and reviewable as written. */
export class PolicyTemplateUnsupported extends BadRequest {
  constructor(source: string) {
    super('policy_template_unsupported', `${source}: policy templates (?principal / ?resource slots) are not supported`);
  }
}

/** A policy carries an @obligation annotation that is not in the obligation vocabulary. */
export class ObligationUnknown extends BadRequest {
  constructor(obligation: string, where: string) {
    super('obligation_unknown', `${where}: unknown obligation ${JSON.stringify(obligation)}`);
  }
}

/** The request context given to buildContext does not fit the schema's RequestContext. */
export class ContextInvalid extends BadRequest {
  constructor(message: string, field?: string) {
    super('policy_context_invalid', message, field);
  }
}

/** An entity (principal, resource, stored entity) cannot be expressed in the Warden schema. */
export class EntityInvalid extends BadRequest {
  constructor(message: string) {
    super('policy_entity_invalid', message);
  }
}

/** The schema file is missing or does not parse: nothing can be decided. */
export class SchemaInvalid extends BadRequest {
  constructor(message: string) {
    super('policy_schema_invalid', message);
  }
}
