// The built-in DEMO upstream: an OpenAI-compatible fake model server so that `warden up` works with nothing
// else installed. It is not a language model: it echoes the prompt. Every model it lists says "demo".
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createHash } from 'node:crypto';
import type { AddressInfo } from 'node:net';

export const DEMO_MODELS = ['demo-chat', 'demo-embed'] as const;
export const DEMO_OWNER = 'warden-demo (fake echo model, not a real LLM)';
/** The artifact digest the demo reports, as a real server would report the weights it serves. */
export const DEMO_ARTIFACT_DIGEST = 'sha256:' + createHash('sha256').update('warden-demo-echo-model-v1').digest('hex');

type Msg = { role?: string; content?: unknown };

function textOf(content: unknown): string {
  if (typeof content === 'string') return content;
  if (Array.isArray(content)) {
    return content.map((p) => (p && typeof p === 'object' && typeof (p as { text?: unknown }).text === 'string' ? (p as { text: string }).text : '')).join(' ');
  }
  return '';
}

function words(s: string): number {
  return s.split(/\s+/).filter(Boolean).length;
}

function send(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), 'x-model-artifact-digest': DEMO_ARTIFACT_DIGEST });
  res.end(text);
}

function embedding(text: string, dims = 16): number[] {
  const h = createHash('sha256').update(text).digest();
  const v = Array.from({ length: dims }, (_, i) => (h[i % h.length]! - 128) / 128);
  const n = Math.hypot(...v) || 1;
  return v.map((x) => Number((x / n).toFixed(6)));
}

function handleChat(body: Record<string, unknown>, res: ServerResponse): void {
  const messages = (Array.isArray(body.messages) ? body.messages : []) as Msg[];
  const lastUser = [...messages].reverse().find((m) => m.role === 'user');
  const prompt = textOf(lastUser?.content);
  const model = String(body.model);
  const id = 'chatcmpl-demo' + createHash('sha256').update(prompt).digest('hex').slice(0, 12);
  const created = Math.floor(Date.now() / 1000);
  const tools = Array.isArray(body.tools) ? (body.tools as { function?: { name?: string } }[]) : [];
  const choice = body.tool_choice as unknown;
  const forced =
    choice === 'required' ? tools[0]?.function?.name : choice && typeof choice === 'object' ? (choice as { function?: { name?: string } }).function?.name : undefined;
  const toolCalls = forced ? [{ id: 'call_demo_1', type: 'function', function: { name: forced, arguments: JSON.stringify({ query: prompt }) } }] : undefined;
  const reply = toolCalls ? '' : `You said: ${prompt}`;
  const usage = { prompt_tokens: messages.reduce((n, m) => n + words(textOf(m.content)), 0), completion_tokens: words(reply) + (toolCalls ? 4 : 0), total_tokens: 0 };
  usage.total_tokens = usage.prompt_tokens + usage.completion_tokens;
  if (body.stream === true) {
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', 'x-model-artifact-digest': DEMO_ARTIFACT_DIGEST });
    const chunk = (delta: Record<string, unknown>, finish: string | null) =>
      `data: ${JSON.stringify({ id, object: 'chat.completion.chunk', created, model, choices: [{ index: 0, delta, finish_reason: finish }] })}\n\n`;
    res.write(chunk({ role: 'assistant', content: '' }, null));
    if (toolCalls) {
      res.write(chunk({ tool_calls: toolCalls.map((t, index) => ({ index, ...t })) }, null));
    } else {
      const pieces = reply.match(/\S+\s*/g) ?? [];
      for (const p of pieces) res.write(chunk({ content: p }, null));
    }
    res.write(chunk({}, toolCalls ? 'tool_calls' : 'stop'));
    const opts = body.stream_options as { include_usage?: boolean } | undefined;
    if (opts?.include_usage) res.write(`data: ${JSON.stringify({ id, object: 'chat.completion.chunk', created, model, choices: [], usage })}\n\n`);
    res.end('data: [DONE]\n\n');
    return;
  }
  send(res, 200, {
    id,
    object: 'chat.completion',
    created,
    model,
    choices: [
      {
        index: 0,
        message: toolCalls ? { role: 'assistant', content: null, tool_calls: toolCalls } : { role: 'assistant', content: reply },
        finish_reason: toolCalls ? 'tool_calls' : 'stop',
      },
    ],
    usage,
  });
}

function handle(req: IncomingMessage, res: ServerResponse, raw: string): void {
  const url = req.url ?? '/';
  if (req.method === 'GET' && url === '/v1/models') {
    send(res, 200, { object: 'list', data: DEMO_MODELS.map((id) => ({ id, object: 'model', created: 0, owned_by: DEMO_OWNER, artifact_digest: DEMO_ARTIFACT_DIGEST })) });
    return;
  }
  if (req.method !== 'POST') return send(res, 404, { error: { message: 'not found' } });
  let body: Record<string, unknown>;
  try {
    body = JSON.parse(raw) as Record<string, unknown>;
  } catch {
    return send(res, 400, { error: { message: 'invalid JSON' } });
  }
  if (!DEMO_MODELS.includes(body.model as (typeof DEMO_MODELS)[number])) {
    return send(res, 404, { error: { message: `the demo server has no model ${JSON.stringify(body.model)}` } });
  }
  if (url === '/v1/chat/completions') return handleChat(body, res);
  if (url === '/v1/completions') {
    const prompt = Array.isArray(body.prompt) ? body.prompt.join(' ') : String(body.prompt ?? '');
    const text = ` (demo echo) ${prompt}`;
    const usage = { prompt_tokens: words(prompt), completion_tokens: words(text), total_tokens: words(prompt) + words(text) };
    if (body.stream === true) {
      // Streamed like a real server (vLLM, llama.cpp): text_completion chunks with choices[].text, then [DONE].
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', 'x-model-artifact-digest': DEMO_ARTIFACT_DIGEST });
      const created = Math.floor(Date.now() / 1000);
      const chunk = (piece: string, finish: string | null) =>
        `data: ${JSON.stringify({ id: 'cmpl-demo', object: 'text_completion', created, model: body.model, choices: [{ index: 0, text: piece, finish_reason: finish, logprobs: null }] })}\n\n`;
      for (const piece of text.match(/\s*\S+/g) ?? []) res.write(chunk(piece, null));
      res.write(chunk('', 'stop'));
      const opts = body.stream_options as { include_usage?: boolean } | undefined;
      if (opts?.include_usage) res.write(`data: ${JSON.stringify({ id: 'cmpl-demo', object: 'text_completion', created, model: body.model, choices: [], usage })}\n\n`);
      res.end('data: [DONE]\n\n');
      return;
    }
    return send(res, 200, {
      id: 'cmpl-demo',
      object: 'text_completion',
      created: Math.floor(Date.now() / 1000),
      model: body.model,
      choices: [{ index: 0, text, finish_reason: 'stop', logprobs: null }],
      usage,
    });
  }
  if (url === '/v1/embeddings') {
    const inputs = Array.isArray(body.input) ? body.input.map(String) : [String(body.input ?? '')];
    const n = inputs.reduce((a, s) => a + words(s), 0);
    return send(res, 200, {
      object: 'list',
      model: body.model,
      data: inputs.map((s, index) => ({ object: 'embedding', index, embedding: embedding(s) })),
      usage: { prompt_tokens: n, total_tokens: n },
    });
  }
  send(res, 404, { error: { message: 'not found' } });
}

export function createDemoUpstream(): Server {
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => handle(req, res, Buffer.concat(chunks).toString('utf8')));
  });
  server.keepAliveTimeout = 65_000;
  return server;
}

export async function startDemoUpstream(port = 0, host = '127.0.0.1'): Promise<{ server: Server; url: string }> {
  const server = createDemoUpstream();
  await new Promise<void>((res, rej) => {
    server.once('error', rej);
    server.listen(port, host, () => res());
  });
  const addr = server.address() as AddressInfo;
  return { server, url: `http://${host}:${addr.port}/v1` };
}
