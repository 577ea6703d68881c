import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import fc from 'fast-check';
import { UpstreamError } from '../../src/core/errors.js';
import {
  createChatStreamRedactors,
  finishChatStream,
  redact,
  redactChatChunk,
  redactChatResponse,
} from '../../src/inspect/index.js';

const TARGETS = ['pii', 'secret'];

function chunkOf(choices: unknown[]): Record<string, unknown> {
  return { id: 'chatcmpl-1', object: 'chat.completion.chunk', created: 1700000000, model: 'm', choices };
}

function responseOf(contents: (string | null)[]): Record<string, unknown> {
  return {
    id: 'chatcmpl-1',
    object: 'chat.completion',
    created: 1700000000,
    model: 'm',
    choices: contents.map((content, index) => ({ index, message: { role: 'assistant', content }, finish_reason: 'stop' })),
    usage: { prompt_tokens: 1, completion_tokens: 2, total_tokens: 3 },
  };
}

/** What a client assembles from the chunks the gateway relays: the content per choice index. */
function assemble(chunks: Record<string, unknown>[]): Map<number, string> {
  const out = new Map<number, string>();
  for (const ch of chunks) {
    for (const c of ch.choices as { index: number; delta?: { content?: string | null } }[]) {
      if (typeof c.delta?.content === 'string') out.set(c.index, (out.get(c.index) ?? '') + c.delta.content);
    }
  }
  return out;
}

test('a non-stream answer has its message contents redacted, everything else kept', () => {
  const json = responseOf(['Write to jane.doe@example.com today.', null]);
  const red = redactChatResponse(json, TARGETS);
  const choices = red.choices as { message: { content: string | null; role: string } }[];
  assert.equal(choices[0]!.message.content, 'Write to [REDACTED:email] today.');
  assert.equal(choices[0]!.message.role, 'assistant');
  assert.equal(choices[1]!.message.content, null);
  assert.deepEqual(red.usage, json.usage);
  assert.equal((json.choices as { message: { content: string } }[])[0]!.message.content, 'Write to jane.doe@example.com today.', 'input untouched');
});

test('an e-mail split across SSE chunks is redacted, and the held tail is released with finish_reason', () => {
  const r = createChatStreamRedactors(TARGETS);
  const deltas = ['Mail jane', '.doe@exa', 'mple.com', ' now'];
  const out = deltas.map((content, i) => redactChatChunk(chunkOf([{ index: 0, delta: i === 0 ? { role: 'assistant', content } : { content }, finish_reason: null }]), r));
  out.push(redactChatChunk(chunkOf([{ index: 0, delta: {}, finish_reason: 'stop' }]), r));
  assert.equal(assemble(out).get(0), 'Mail [REDACTED:email] now');
  const last = out.at(-1)!.choices as { finish_reason: string; delta: { content: string } }[];
  assert.equal(last[0]!.finish_reason, 'stop');
  assert.equal(last[0]!.delta.content, 'now');
  assert.equal((out[0]!.choices as { delta: { role: string } }[])[0]!.delta.role, 'assistant', 'other delta fields are kept');
  assert.equal(out[0]!.id, 'chatcmpl-1');
});

test('an upstream that ends without finish_reason still gets its held text out, through finishChatStream', () => {
  const r = createChatStreamRedactors(TARGETS);
  const first = redactChatChunk(chunkOf([{ index: 0, delta: { content: 'call +1 415-555-0100' }, finish_reason: null }]), r);
  const tail = finishChatStream(r, first);
  assert.ok(tail !== null);
  assert.equal(tail.id, 'chatcmpl-1');
  assert.equal(assemble([first, tail]).get(0), 'call [REDACTED:phone]');
  assert.equal(finishChatStream(r), null, 'nothing left after finishing');
});

test('malformed upstream chunks and responses are refused (502), not relayed unredacted', () => {
  const r = createChatStreamRedactors(TARGETS);
  const bad: unknown[] = [
    null,
    { choices: 'x' },
    chunkOf([7]),
    chunkOf([{ delta: { content: 'x' } }]),
    chunkOf([{ index: -1, delta: { content: 'x' } }]),
    chunkOf([{ index: 0, delta: 'x' }]),
    chunkOf([{ index: 0, delta: { content: ['x'] } }]),
  ];
  for (const b of bad) {
    assert.throws(() => redactChatChunk(b, r), (e: unknown) => e instanceof UpstreamError && e.status === 502 && e.code === 'invalid_upstream_response', JSON.stringify(b));
  }
  redactChatChunk(chunkOf([{ index: 0, delta: { content: 'a' }, finish_reason: 'stop' }]), r);
  assert.throws(() => redactChatChunk(chunkOf([{ index: 0, delta: { content: 'more' }, finish_reason: null }]), r), UpstreamError, 'a finished choice cannot continue');
  for (const b of [null, { choices: {} }, { choices: [1] }, { choices: [{ index: 0 }] }, { choices: [{ index: 0, message: { content: 3 } }] }]) {
    assert.throws(() => redactChatResponse(b, TARGETS), UpstreamError, JSON.stringify(b));
  }
});

const PIECES = [
  'jane.doe@example.com', '+1 415-555-0100', '4111 1111 1111 1111', '123-45-6788', 'SSN ', 'Dear Mr. ', 'John Smith',
  '221 Baker Street', 'ghp_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa', 'DE89 3704 0044 0532 0130 00', 'born on ', '12 March 1980',
  '10.0.0.1', 'password: Xk9#mQ2$vL8pZ', ' ', ' ', '\n', ', ', '. ', 'and', 'the', 'Hello', 'x', '1', '-', '@', '.', 'A',
];

test('property: streaming chunks through redactChatChunk gives what redactChatResponse gives, per choice, for any chunking and interleaving', () => {
  fc.assert(
    fc.property(
      fc.array(fc.array(fc.constantFrom(...PIECES), { maxLength: 20 }), { minLength: 1, maxLength: 3 }),
      fc.array(fc.nat({ max: 1000 }), { maxLength: 40 }),
      fc.array(fc.nat({ max: 2 }), { maxLength: 60 }),
      fc.boolean(),
      (choicePieces, cuts, order, withFinishReason) => {
        const contents = choicePieces.map((p) => p.join(''));
        // Split each choice's content at the cut points, then interleave the deltas of the choices.
        const queues = contents.map((t) => {
          const pos = [...new Set(cuts.map((c) => c % (t.length + 1)))].sort((a, b) => a - b);
          const parts: string[] = [];
          let prev = 0;
          for (const p of [...pos, t.length]) {
            parts.push(t.slice(prev, p));
            prev = p;
          }
          return parts;
        });
        const r = createChatStreamRedactors(TARGETS);
        const relayed: Record<string, unknown>[] = [];
        let k = 0;
        while (queues.some((q) => q.length > 0)) {
          const i = (order[k++ % Math.max(1, order.length)] ?? 0) % queues.length;
          const q = queues[i]!.length > 0 ? queues[i]! : queues.find((x) => x.length > 0)!;
          const index = queues.indexOf(q);
          relayed.push(redactChatChunk(chunkOf([{ index, delta: { content: q.shift()! }, finish_reason: null }]), r));
        }
        if (withFinishReason) {
          relayed.push(redactChatChunk(chunkOf(contents.map((_, index) => ({ index, delta: {}, finish_reason: 'stop' }))), r));
        } else {
          const tail = finishChatStream(r);
          if (tail !== null) relayed.push(tail);
        }
        const whole = redactChatResponse(responseOf(contents), TARGETS).choices as { message: { content: string } }[];
        const streamedContents = assemble(relayed);
        contents.forEach((_, i) => {
          assert.equal(streamedContents.get(i) ?? '', whole[i]!.message.content);
          assert.equal(whole[i]!.message.content, redact(contents[i]!, TARGETS));
        });
      },
    ),
    { numRuns: 300 },
  );
});
