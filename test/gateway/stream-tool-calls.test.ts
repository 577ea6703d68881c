import { test } from 'node:test';
import assert from 'node:assert/strict';
import { StreamToolCallGate } from '../../src/gateway/stream-tool-calls.js';
import { filterToolCalls } from '../../src/tools/index.js';
import type { Principal } from '../../src/core/types.js';

const user: Principal = { kind: 'user', id: 'u', tenant: 't', groups: [], authn: { method: 'api_key', credentialId: 'k' }, scope: { models: ['*'], actions: ['*'] } };
// The decision function stands in for the PDP: `search` is allowed, `wire_money` is not.
const gate = () => new StreamToolCallGate((json) => filterToolCalls(json, user, (_p, tool) => ({ allow: tool === 'search', approvalRequired: false, decision: null, reason: tool === 'search' ? null : 'denied by policy' })));

const chunk = (delta: Record<string, unknown>, finish: string | null = null) => ({ id: 'c', object: 'chat.completion.chunk', choices: [{ index: 0, delta, finish_reason: finish }] });

test('an allowed call split across chunks is released whole just before the finish; content is never held', () => {
  const g = gate();
  const out = [
    ...g.process(chunk({ role: 'assistant', content: 'Let me look. ' })),
    ...g.process(chunk({ tool_calls: [{ index: 0, id: 'call_1', type: 'function', function: { name: 'search', arguments: '{"q":' } }] })),
    ...g.process(chunk({ tool_calls: [{ index: 0, function: { arguments: '"llamas"}' } }] })),
    ...g.process(chunk({}, 'tool_calls')),
  ];
  assert.equal((out[0]!.choices as { delta: { content: string } }[])[0]!.delta.content, 'Let me look. ');
  const released = out.find((c) => JSON.stringify(c).includes('tool_calls":[')) as { choices: { delta: { tool_calls: { function: { name: string; arguments: string } }[] } }[] };
  assert.deepEqual(released.choices[0]!.delta.tool_calls[0]!.function, { name: 'search', arguments: '{"q":"llamas"}' });
  assert.equal((out.at(-1)!.choices as { finish_reason: string }[])[0]!.finish_reason, 'tool_calls');
});

test('a denied call is removed with a note and the finish becomes stop; a stream cut before finish still judges held calls', () => {
  const g = gate();
  const out = [...g.process(chunk({ tool_calls: [{ index: 0, id: 'call_9', type: 'function', function: { name: 'wire_money', arguments: '{}' } }] })), ...g.process(chunk({}, 'tool_calls'))];
  const text = JSON.stringify(out);
  assert.doesNotMatch(text, /"tool_calls":\[\{"index"/);
  assert.match(text, /"outcome":"removed"/);
  assert.equal((out.at(-1)!.choices as { finish_reason: string }[])[0]!.finish_reason, 'stop');
  const g2 = gate();
  g2.process(chunk({ tool_calls: [{ index: 0, id: 'call_2', type: 'function', function: { name: 'search', arguments: '{}' } }] }));
  const tail = g2.finish(chunk({}));
  assert.equal(tail.length, 1);
  assert.match(JSON.stringify(tail[0]), /"name":"search"/);
});
