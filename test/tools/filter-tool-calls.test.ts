// filterToolCalls over a model's chat completion, with the real PDP (starter set + the tools test
// policies), the real registry and the real injection detector.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import pino from 'pino';
import { FixedClock } from '../../src/core/clock.js';
import type { Principal } from '../../src/core/types.js';
import { PolicyDecisionPoint, buildContext, loadPolicyDir, parsePolicies } from '../../src/policy/index.js';
import { inspectText, countFindings, redact } from '../../src/inspect/index.js';
import { openSqlite } from '../../src/store/sqlite.js';
import { SqliteToolStore } from '../../src/store/tools-sqlite.js';
import { EgressGuard } from '../../src/network/egress.js';
import { ApprovalService, ToolCredentialIssuer, ToolMediator, ToolRegistry, filterToolCalls, pdpToolDecider } from '../../src/tools/index.js';
import { ToolPins } from '../../src/tools/pins.js';
import { TEST_POLICY } from './fixtures.js';
import { ToolQuarantines } from '../../src/tools/quarantine.js';

async function world() {
  const clock = new FixedClock(Date.UTC(2026, 0, 5, 10));
  const pdp = new PolicyDecisionPoint();
  pdp.replacePolicies([...loadPolicyDir('policies/starter'), ...parsePolicies(TEST_POLICY, 'tools-test.cedar')]);
  const store = new SqliteToolStore(openSqlite(':memory:'));
  const registry = new ToolRegistry(store, clock);
  const def = (name: string, risk: string, props: Record<string, unknown>) =>
    registry.create(registry.parse({ name, risk, grantees: ['consumers'], input_schema: { type: 'object', properties: props, additionalProperties: false }, backend: { type: 'http', url: 'https://tools.example.com/x' }, egress: ['https://tools.example.com'] }));
  await def('orders_lookup', 'read', { customer_id: { type: 'string' } });
  await def('delete_record', 'destructive', { record_id: { type: 'string' } });
  const quarantines = new ToolQuarantines(store, clock);
  const mediator = new ToolMediator({
    clock,
    log: pino({ level: 'silent' }),
    registry,
    approvals: new ApprovalService(store, clock),
    decide: pdpToolDecider(pdp, buildContext),
    inspector: { inspect: inspectText, count: countFindings, redact },
    egress: new EgressGuard(),
    credentials: new ToolCredentialIssuer('https://warden.test', clock),
    pins: new ToolPins(store, clock, { inspect: inspectText }),
    quarantines,
    audit: { append: async () => ({}) },
  });
  return { mediator, quarantines };
}

const alice: Principal = {
  kind: 'user', id: 'alice', tenant: 'acme', groups: ['consumers'],
  authn: { method: 'jit_token', credentialId: 'jti-1' }, scope: { models: ['*'], actions: ['callTool'] },
  actor: [{ kind: 'agent', id: 'agent-1', tenant: 'acme' }],
};

const call = (id: string, name: string, args: unknown) => ({ id, type: 'function', function: { name, arguments: typeof args === 'string' ? args : JSON.stringify(args) } });
const completion = (calls: unknown[]) => ({ id: 'chatcmpl-1', object: 'chat.completion', choices: [{ index: 0, finish_reason: 'tool_calls', message: { role: 'assistant', content: null, tool_calls: calls } }] });

test('calls the user may make are kept; others removed with a reason; approval-bound calls marked', async () => {
  const { mediator } = await world();
  const decide = (p: Principal, tool: string, args: unknown) => mediator.assess(p, tool, args, '10.0.0.1');
  const input = completion([
    call('c1', 'orders_lookup', { customer_id: 'alice' }),
    call('c2', 'orders_lookup', { customer_id: 'bob' }),
    call('c3', 'delete_record', { record_id: 'r1' }),
    call('c4', 'no_such_tool', {}),
    call('c5', 'orders_lookup', '{not json'),
    call('c6', 'orders_lookup', { customer_id: 'alice', extra: 1 }),
  ]);
  const r = filterToolCalls(input, alice, decide);
  assert.equal(r.changed, true);
  const msg = (r.json as ReturnType<typeof completion>).choices[0]!.message as unknown as { tool_calls: { id: string }[]; warden_tool_calls: { id: string; outcome: string; reason: string }[] };
  assert.deepEqual(msg.tool_calls.map((c) => c.id), ['c1', 'c3']);
  const byId = Object.fromEntries(msg.warden_tool_calls.map((n) => [n.id, n]));
  assert.equal(byId.c2!.outcome, 'removed');
  assert.match(byId.c2!.reason, /orders-alice-own-only/);
  assert.equal(byId.c3!.outcome, 'approval_required');
  assert.equal(byId.c4!.reason, 'tool_not_found');
  assert.equal(byId.c5!.reason, 'arguments are not valid JSON');
  assert.equal(byId.c6!.reason, 'tool_arguments_invalid');
  assert.equal(r.kept, 2);
  // the input object is left as it was
  assert.equal(input.choices[0]!.message.tool_calls.length, 6);
});

test('a model\'s proposed call of a quarantined tool is removed (tool_quarantined) until the tool is released', async () => {
  const { mediator, quarantines } = await world();
  const decide = (p: Principal, tool: string, args: unknown) => mediator.assess(p, tool, args, '10.0.0.1');
  const kept = () => (filterToolCalls(completion([call('c1', 'orders_lookup', { customer_id: 'alice' })]), alice, decide).json as { choices: { message: { tool_calls?: unknown[]; warden_tool_calls?: { reason: string }[] } }[] }).choices[0]!.message;
  assert.equal(kept().tool_calls?.length, 1);
  await quarantines.quarantine('orders_lookup', 'suspected exfiltration', 'bob');
  assert.equal(kept().tool_calls, undefined);
  assert.equal(kept().warden_tool_calls![0]!.reason, 'tool_quarantined');
  await quarantines.release('orders_lookup');
  assert.equal(kept().tool_calls?.length, 1);
});

test('an agent on its own authority gets every call removed and finish_reason becomes stop', async () => {
  const { mediator } = await world();
  const agent: Principal = { ...alice, kind: 'agent', id: 'agent-1', actor: undefined as never };
  delete (agent as { actor?: unknown }).actor;
  const r = filterToolCalls(completion([call('c1', 'orders_lookup', { customer_id: 'alice' })]), agent, (p, t, a) => mediator.assess(p, t, a, '10.0.0.1'));
  const ch = (r.json as { choices: { finish_reason: string; message: { tool_calls?: unknown; content: unknown; warden_tool_calls: { reason: string }[] } }[] }).choices[0]!;
  assert.equal(ch.finish_reason, 'stop');
  assert.equal(ch.message.tool_calls, undefined);
  assert.equal(ch.message.content, '');
  assert.equal(ch.message.warden_tool_calls[0]!.reason, 'delegation_required');
});

test('a response without tool calls is returned untouched (same object)', async () => {
  const { mediator } = await world();
  const plain = { choices: [{ index: 0, finish_reason: 'stop', message: { role: 'assistant', content: 'hi' } }] };
  const r = filterToolCalls(plain, alice, (p, t, a) => mediator.assess(p, t, a, '10.0.0.1'));
  assert.equal(r.changed, false);
  assert.equal(r.json, plain);
  assert.equal(filterToolCalls(null, alice, () => ({ allow: true, approvalRequired: false, decision: null, reason: null })).changed, false);
});
