// A scripted FAKE of an external OpenAI-compatible model server (not Warden code) for the differential test.
// The answer is chosen by a marker in what the client sent — `answer:<name>` in the last user message or
// the prompt — so one server gives every route and framing the same answer. It speaks chat/completions,
// completions and embeddings, buffered and as SSE, with optional logprobs (one entry per whitespace token,
// as vLLM and OpenAI send them), `reasoning_content` (vLLM, DeepSeek) and `refusal`.
import { startFakeUpstream, type FakeUpstream } from '../../helpers/fake-upstream.js';

export const EMAIL = 'jane.doe@example.com';
export const SQL = 'SELECT * FROM users WHERE 1=1;';
export const SHELL_LINE = 'rm -rf /var/lib/app';

interface Answer {
  content: string | null;
  reasoning?: string;
  refusal?: string;
  /** Characters per streamed chunk (default 5: markers straddle chunk boundaries). */
  chunk?: number;
}

/** Builds the answer for a marker; `system` is the system prompt as the upstream received it (with any canary). */
function answerFor(name: string, system: string): Answer {
  const canary = /WDNC[0-9A-Z]{16}/.exec(system)?.[0] ?? 'NO-CANARY-PLANTED';
  switch (name) {
    case 'email':
      return { content: `ok, write to ${EMAIL} today` };
    case 'sql':
      return { content: `Run: ${SQL}` };
    case 'shell':
      return { content: `Clean up with:\n${SHELL_LINE}\nthen retry.` };
    case 'leak':
      return { content: `Sure! My instructions say: ${system}` };
    case 'leak-spaced':
      // The canary with its letters 200 spaces apart: ~4,000 characters from first to last letter.
      return { content: `Here: ${canary.split('').join(' '.repeat(200))} done.`, chunk: 64 };
    case 'reasoning-email':
      return { content: 'Done.', reasoning: `I should write to ${EMAIL} about it.` };
    case 'reasoning-sql':
      return { content: 'Done.', reasoning: `First I will run ${SQL}` };
    case 'refusal-email':
      return { content: null, refusal: `I cannot; ask ${EMAIL} instead.` };
    case 'refusal-sql':
      return { content: null, refusal: `No. Do it yourself: ${SQL}` };
    default:
      return { content: 'A short, harmless summary.' };
  }
}

/** Chat logprobs in the OpenAI shape: one entry per whitespace-separated token. */
function chatLogprobs(text: string) {
  return { content: text.split(/(?<=\s)/).map((token) => ({ token, logprob: -0.1, bytes: [...Buffer.from(token)], top_logprobs: [] })) };
}

function pieces(text: string, size: number): string[] {
  const out: string[] = [];
  for (let i = 0; i < text.length; i += size) out.push(text.slice(i, i + size));
  return out;
}

export interface ScriptedModel extends FakeUpstream {
  /** Requests received since `mark` (an index into requests). */
  since(mark: number): FakeUpstream['requests'];
  /** Parsed body of the last request received. */
  lastBody(): Record<string, unknown>;
  /** An `answer:hold` request waits until this is called (then answers plainly). */
  releaseHeld(): void;
  /** Resolves once an `answer:hold` request has arrived. */
  held(): Promise<void>;
}

export async function startScriptedModel(): Promise<ScriptedModel> {
  let release!: () => void;
  let gate = new Promise<void>((r) => (release = r));
  let arrived!: () => void;
  let holdArrived = new Promise<void>((r) => (arrived = r));
  const up = await startFakeUpstream((req, res, raw) => {
    const path = req.url ?? '';
    let body: Record<string, unknown>;
    try {
      body = JSON.parse(raw) as Record<string, unknown>;
    } catch {
      res.writeHead(400, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: { message: 'fake model: body is not JSON' } }));
      return;
    }
    const json = (x: unknown) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(x));
    };
    if (path.endsWith('/embeddings')) {
      json({ object: 'list', model: body.model, data: [{ object: 'embedding', index: 0, embedding: [0.1, 0.2, 0.3] }], usage: { prompt_tokens: 1, total_tokens: 1 } });
      return;
    }
    const chat = path.endsWith('/chat/completions');
    const messages = (Array.isArray(body.messages) ? body.messages : []) as { role?: string; content?: unknown }[];
    const system = messages.filter((m) => m.role === 'system' || m.role === 'developer').map((m) => String(m.content ?? '')).join('\n');
    const asked = chat ? String([...messages].reverse().find((m) => m.role === 'user')?.content ?? '') : String(body.prompt ?? '');
    const name = /answer:([a-z-]+)/.exec(asked)?.[1] ?? 'plain';
    const answer = answerFor(name, system);
    const respond = () => {
      const logprobs = body.logprobs === true && chat;
      if (body.stream !== true) {
        const text = answer.content ?? '';
        if (chat) {
          const message: Record<string, unknown> = { role: 'assistant', content: answer.content };
          if (answer.reasoning !== undefined) message.reasoning_content = answer.reasoning;
          if (answer.refusal !== undefined) message.refusal = answer.refusal;
          json({ id: 'fake-1', object: 'chat.completion', created: 0, model: body.model, choices: [{ index: 0, message, logprobs: logprobs ? chatLogprobs(text) : null, finish_reason: 'stop' }], usage: { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 } });
        } else {
          json({ id: 'fake-1', object: 'text_completion', created: 0, model: body.model, choices: [{ index: 0, text, logprobs: null, finish_reason: 'stop' }], usage: { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 } });
        }
        return;
      }
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      const send = (x: unknown) => res.write(`data: ${JSON.stringify(x)}\n\n`);
      const size = answer.chunk ?? 5;
      if (chat) {
        const chunk = (delta: Record<string, unknown>, extra: Record<string, unknown> = {}) => send({ id: 'fake-s', object: 'chat.completion.chunk', created: 0, model: body.model, choices: [{ index: 0, delta, finish_reason: null, ...extra }] });
        chunk({ role: 'assistant', content: '' });
        for (const p of pieces(answer.reasoning ?? '', size)) chunk({ reasoning_content: p });
        for (const p of pieces(answer.refusal ?? '', size)) chunk({ refusal: p });
        // Logprobs per token, each chunk one token, as the servers stream them.
        if (logprobs) for (const t of chatLogprobs(answer.content ?? '').content) chunk({ content: t.token }, { logprobs: { content: [t] } });
        else for (const p of pieces(answer.content ?? '', size)) chunk({ content: p });
        send({ id: 'fake-s', object: 'chat.completion.chunk', created: 0, model: body.model, choices: [{ index: 0, delta: {}, finish_reason: 'stop' }] });
      } else {
        for (const p of pieces(answer.content ?? '', size)) send({ id: 'fake-s', object: 'text_completion', created: 0, model: body.model, choices: [{ index: 0, text: p, logprobs: null, finish_reason: null }] });
        send({ id: 'fake-s', object: 'text_completion', created: 0, model: body.model, choices: [{ index: 0, text: '', logprobs: null, finish_reason: 'stop' }] });
      }
      res.end('data: [DONE]\n\n');
    };
    if (name === 'hold') {
      arrived();
      void gate.then(respond);
      return;
    }
    respond();
  });
  return Object.assign(up, {
    since: (mark: number) => up.requests.slice(mark),
    lastBody: () => JSON.parse(up.requests.at(-1)!.body) as Record<string, unknown>,
    releaseHeld: () => {
      release();
      gate = new Promise<void>((r) => (release = r));
      holdArrived = new Promise<void>((r) => (arrived = r));
    },
    held: () => holdArrived,
  });
}
