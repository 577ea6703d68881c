// Public surface of the policy plane.
export { PolicyDecisionPoint, type PdpRequest, type PdpOptions, type ShadowDiff, type PolicySetChange } from './pdp.js';
export { buildContext, contextFromPlain, PdpContext, type PdpContextInput } from './context.js';
export { KNOWN_OBLIGATIONS, parseObligation, parseDecisionObligations, type ParsedObligation } from './obligations.js';
export { policiesForKeyScope, keyPolicyIds } from './key-scope.js';
export { parsePolicies, loadPolicyDir, validatePolicies, policySetVersion, type PolicyEntry } from './policy-set.js';
export { WardenSchema, defaultSchema, DEFAULT_SCHEMA_PATH } from './schema.js';
export type { StoredEntityInput } from './entities.js';
export * from './errors.js';
export { PolicyAdmin, type PublishResult } from './policy-admin.js';
export { explain, type Explanation, type PolicyVerdict } from './explain.js';
export { diffPolicySets, type PolicySetDiff } from './diff.js';
export { runPolicyTests, type PolicyTestResult } from './policy-tests.js';
export { entriesFromStored, PolicyVersionMismatch } from './policy-set.js';
export { keyScopeShape } from './key-scope.js';
export { effectivePermissions, MODEL_ACTIONS, type EffectivePermissions, type EffectiveQuestions } from './effective.js';
