import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import { AnswerGuard, answerTexts } from '../../../src/inspect/index.js';

test('answerTexts: every text of a buffered chat answer, with stable field names', () => {
  const got = answerTexts({
    choices: [
      {
        index: 0,
        finish_reason: 'tool_calls',
        message: {
          role: 'assistant',
          content: [{ type: 'text', text: 'hello' }, { type: 'refusal', refusal: 'no' }],
          refusal: 'nope',
          reasoning_content: 'think',
          reasoning: 'also',
          audio: { id: 'a1', data: 'AAAA', transcript: 'spoken' },
          tool_calls: [{ id: 'c', type: 'function', function: { name: 'f', arguments: '{"a":1}' } }],
          function_call: { name: 'g', arguments: '{}' },
          annotations: [{ type: 'url_citation', url_citation: { title: 'T' } }],
        },
        logprobs: { content: [{ token: 'hel', logprob: -1, bytes: [104], top_logprobs: [{ token: 'he', logprob: -2 }] }], refusal: null },
      },
    ],
  });
  assert.deepEqual(
    got.map((t) => [t.path, t.field, t.kind, t.text]),
    [
      ['choices[0].message.content[0].text', 'content[0].text', 'text', 'hello'],
      ['choices[0].message.content[1].refusal', 'content[1].refusal', 'text', 'no'],
      ['choices[0].message.refusal', 'refusal', 'text', 'nope'],
      ['choices[0].message.reasoning_content', 'reasoning_content', 'text', 'think'],
      ['choices[0].message.reasoning', 'reasoning', 'text', 'also'],
      ['choices[0].message.audio.transcript', 'audio.transcript', 'text', 'spoken'],
      ['choices[0].message.tool_calls[0].function.name', 'tool_calls[0].function.name', 'call', 'f'],
      ['choices[0].message.tool_calls[0].function.arguments', 'tool_calls[0].function.arguments', 'call', '{"a":1}'],
      ['choices[0].message.function_call.name', 'function_call.name', 'call', 'g'],
      ['choices[0].message.function_call.arguments', 'function_call.arguments', 'call', '{}'],
      ['choices[0].message.annotations[0].type', 'message.annotations[0].type', 'other', 'url_citation'],
      ['choices[0].message.annotations[0].url_citation.title', 'message.annotations[0].url_citation.title', 'other', 'T'],
      ['choices[0].logprobs.content[0].token', 'logprobs.content[].token', 'logprob', 'hel'],
      ['choices[0].logprobs.content[0].top_logprobs[0].token', 'logprobs.content[].top_logprobs[].token', 'logprob', 'he'],
    ],
  );
});

test('answerTexts: stream deltas name tool calls by their index; completions text and logprobs', () => {
  const chunk = answerTexts({ choices: [{ index: 2, delta: { content: 'a', tool_calls: [{ index: 3, function: { arguments: '{' } }] } }] });
  assert.deepEqual(chunk.map((t) => [t.choice, t.field]), [[2, 'content'], [2, 'tool_calls[3].function.arguments']]);
  const cmpl = answerTexts({ object: 'text_completion', choices: [{ index: 0, text: 'hi', logprobs: { tokens: ['h', 'i'], token_logprobs: [-1, -1], top_logprobs: [{ h: -1 }], text_offset: [0, 1] } }] });
  assert.deepEqual(cmpl.map((t) => [t.field, t.text]), [['text', 'hi'], ['logprobs.tokens[]', 'h'], ['logprobs.tokens[]', 'i'], ['logprobs.top_logprobs[]#key', 'h']]);
});

test('answerTexts: embeddings carry no text; a body without choices has its strings read as choice -1', () => {
  const embeddings = { object: 'list', data: [{ object: 'embedding', embedding: [0.1, 0.2], index: 0 }], model: 'e', usage: { prompt_tokens: 1, total_tokens: 1 } };
  assert.deepEqual(answerTexts(embeddings), []);
  const g = new AnswerGuard({ rules: ['no_sql'], canary: null, redact: ['pii'], findings: true });
  assert.equal(g.whole(embeddings), embeddings);
  assert.deepEqual(g.findings(), []);
  assert.deepEqual(answerTexts({ error: { message: 'boom' } }).map((t) => [t.choice, t.path, t.kind]), [[-1, 'error.message', 'other']]);
});
