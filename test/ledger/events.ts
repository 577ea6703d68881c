// Realistic audit events for ledger tests: the shape the gateway records for one inference request.
import type { AuditEvent } from '../../src/core/types.js';
import { sha256Digest } from '../../src/core/digest.js';

export function inferenceEvent(i: number, over: Partial<AuditEvent> = {}): AuditEvent {
  return {
    time: new Date(Date.UTC(2025, 0, 1, 0, 0, 0, i)).toISOString(),
    requestId: `req_${i.toString(16).padStart(24, '0')}`,
    kind: 'inference',
    principal: { id: `user-${i % 7}`, kind: 'user', tenant: 'acme', authn: 'api_key' },
    action: 'chat',
    resource: { type: 'Model', id: 'llama-3-8b' },
    decision: i % 5 === 0 ? 'deny' : 'allow',
    ...(i % 5 === 0 ? { stage: 'policy' } : {}),
    policyIds: ['permit-chat-acme'],
    policyVersion: 'sha256:4b2f0c1d',
    findings: i % 3 === 0 ? { 'pii:email': 1 } : {},
    deployment: { id: 'dep-a', artifactDigest: sha256Digest('model weights') },
    requestDigest: sha256Digest(`request ${i}`),
    responseDigest: i % 5 === 0 ? null : sha256Digest(`response ${i}`),
    status: i % 5 === 0 ? 403 : 200,
    latencyMs: 12 + (i % 40),
    ...over,
  };
}
