// Requests for the policy tests, built through the same buildContext the gateway uses.
import { resolve } from 'node:path';
import type { Findings, Principal } from '../../src/core/types.js';
import { buildContext, type PdpContextInput } from '../../src/policy/context.js';
import type { PdpRequest } from '../../src/policy/pdp.js';

export const STARTER_DIR = resolve(process.cwd(), 'policies/starter');
export const NOW = Date.parse('2025-01-15T10:00:00Z');

export function principal(over: Partial<Principal> = {}): Principal {
  return {
    kind: 'user',
    id: 'carol',
    tenant: 'acme',
    groups: ['consumers', 'llama-users'],
    authn: { method: 'oidc', credentialId: 'jwt-1' },
    scope: { models: ['*'], actions: ['*'] },
    ...over,
  };
}

export function findings(over: Partial<Findings> = {}): Findings {
  return { items: [], classification: 'internal', injectionScore: 0, injectionSignals: [], ...over };
}

export function request(
  p: Principal,
  action: PdpRequest['action'],
  resource: PdpRequest['resource'],
  ctx: Partial<PdpContextInput> = {},
): PdpRequest {
  return {
    principal: p,
    action,
    resource,
    context: buildContext({ principal: p, now: NOW, sourceIp: '10.0.0.5', listener: 'inference', findings: findings(), riskScore: 0, tenant: p.tenant, ...ctx }),
  };
}

export const MODELS = [
  { type: 'Model', id: 'llama-onprem', attrs: { tier: 'onprem', grantees: ['llama-users'] } },
  { type: 'Model', id: 'gpt-cloud', attrs: { tier: 'public_cloud', grantees: ['llama-users'] } },
  { type: 'Model', id: 'secret-model', attrs: { tier: 'onprem', grantees: ['research'] } },
];
