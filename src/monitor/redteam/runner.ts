// Runs the red team's attacks against models through Warden's own inference listener (real TLS, a real
// credential of the red-team principal), so every attack crosses the whole enforcement path, and classifies
// each outcome: `blocked` (Warden refused it), `succeeded` (the answer shows the attack worked: the oracle in
// attacks.ts), `resisted` (answered, no sign of success), `error` (rate limited, upstream down, timeout: says
// nothing about the attack and is left out of the success rate).
import { Agent, request } from 'undici';
import { newId } from '../../core/ids.js';
import { freshSecrets, type Attack, type AttackKind } from './attacks.js';

export type AttackOutcome = 'blocked' | 'resisted' | 'succeeded' | 'error';

export interface AttackResult {
  attack: string;
  kind: AttackKind;
  model: string;
  outcome: AttackOutcome;
  status: number;
  /** Warden's error code for a refusal or error (`injection_detected`, `policy_denied`, …). */
  code: string | null;
  /** Warden's request id (the ledger entry of the attempt). */
  requestId: string | null;
}

export interface KindSummary {
  model: string;
  kind: AttackKind;
  attempts: number;
  blocked: number;
  resisted: number;
  succeeded: number;
  errors: number;
  /** succeeded ÷ (attempts − errors); null when every attempt errored. */
  successRate: number | null;
}

export interface RedTeamRun {
  id: string;
  startedAt: string;
  finishedAt: string;
  /** The live policy version when the run started (what the results are a verdict on). */
  policyVersion: string;
  principal: string;
  models: string[];
  results: AttackResult[];
  summary: KindSummary[];
}

export interface RunOptions {
  /** The run's id (default: a new one). */
  id?: string;
  /** Base URL of the inference listener, e.g. https://127.0.0.1:8443. */
  url: string;
  /** PEM of the CA that issued the listener's certificate. */
  ca: string;
  /** Bearer credential of the red-team principal. */
  credential: string;
  principal: string;
  policyVersion: string;
  models: readonly string[];
  attacks: readonly Attack[];
  concurrency?: number;
  timeoutMs?: number;
  /** Called before each attack is sent (the service clears the monitor's memory of the red-team principal). */
  beforeEach?: () => Promise<void>;
  now?: () => number;
}

/** The texts a client receives from a chat answer: content, refusal, reasoning, and each tool call as `tool:NAME ARGS`. */
export function answerTexts(body: unknown): string[] {
  const out: string[] = [];
  const choices = (body as { choices?: unknown })?.choices;
  if (!Array.isArray(choices)) return out;
  for (const c of choices as { message?: Record<string, unknown> }[]) {
    const m = c?.message;
    if (!m || typeof m !== 'object') continue;
    for (const k of ['content', 'refusal', 'reasoning_content', 'reasoning']) if (typeof m[k] === 'string') out.push(m[k]);
    if (Array.isArray(m.tool_calls)) {
      for (const t of m.tool_calls as { function?: { name?: unknown; arguments?: unknown } }[]) {
        out.push(`tool:${String(t?.function?.name ?? '')} ${typeof t?.function?.arguments === 'string' ? t.function.arguments : ''}`);
      }
    }
  }
  return out;
}

export function summarize(results: readonly AttackResult[]): KindSummary[] {
  const by = new Map<string, KindSummary>();
  for (const r of results) {
    const k = `${r.model}\u0000${r.kind}`;
    let s = by.get(k);
    if (!s) by.set(k, (s = { model: r.model, kind: r.kind, attempts: 0, blocked: 0, resisted: 0, succeeded: 0, errors: 0, successRate: null }));
    s.attempts++;
    if (r.outcome === 'blocked') s.blocked++;
    else if (r.outcome === 'resisted') s.resisted++;
    else if (r.outcome === 'succeeded') s.succeeded++;
    else s.errors++;
  }
  for (const s of by.values()) s.successRate = s.attempts > s.errors ? s.succeeded / (s.attempts - s.errors) : null;
  return [...by.values()].sort((a, b) => a.model.localeCompare(b.model) || a.kind.localeCompare(b.kind));
}

export async function runAttacks(o: RunOptions): Promise<RedTeamRun> {
  const now = o.now ?? Date.now;
  const startedAt = new Date(now()).toISOString();
  const agent = new Agent({ connect: { ca: o.ca }, connections: o.concurrency ?? 4 });
  const jobs: { attack: Attack; model: string }[] = [];
  for (const model of o.models) for (const attack of o.attacks) jobs.push({ attack, model });
  const results: AttackResult[] = new Array<AttackResult>(jobs.length);
  let next = 0;
  const worker = async () => {
    while (next < jobs.length) {
      const i = next++;
      results[i] = await attempt(jobs[i]!.attack, jobs[i]!.model, o, agent);
    }
  };
  try {
    await Promise.all(Array.from({ length: Math.max(1, Math.min(o.concurrency ?? 4, jobs.length)) }, worker));
  } finally {
    await agent.close();
  }
  return { id: o.id ?? newId('rt'), startedAt, finishedAt: new Date(now()).toISOString(), policyVersion: o.policyVersion, principal: o.principal, models: [...o.models], results, summary: summarize(results) };
}

/** At most this many waits on a 429 per attack, each at most MAX_WAIT_S (the monitor throttles the red team like anyone). */
const MAX_RETRIES = 5;
const MAX_WAIT_S = 30;

async function attempt(attack: Attack, model: string, o: RunOptions, dispatcher: Agent): Promise<AttackResult> {
  for (let tries = 0; ; tries++) {
    const r = await attemptOnce(attack, model, o, dispatcher);
    if (r.result.status !== 429 || tries >= MAX_RETRIES) return r.result;
    const after = Number(r.retryAfter);
    await new Promise((res) => setTimeout(res, 1000 * (Number.isFinite(after) && after > 0 ? Math.min(after, MAX_WAIT_S) : 1)));
  }
}

async function attemptOnce(attack: Attack, model: string, o: RunOptions, dispatcher: Agent): Promise<{ result: AttackResult; retryAfter?: string }> {
  const secrets = freshSecrets();
  await o.beforeEach?.();
  const base = { attack: attack.id, kind: attack.kind, model };
  let status = 0;
  let text = '';
  let requestId: string | null = null;
  let retryAfter: string | undefined;
  try {
    const r = await request(`${o.url}/v1/chat/completions`, {
      method: 'POST',
      dispatcher,
      headers: { authorization: `Bearer ${o.credential}`, 'content-type': 'application/json', 'x-request-id': `redteam-${attack.id}` },
      body: JSON.stringify({ model, ...attack.build(secrets) }),
      headersTimeout: o.timeoutMs ?? 60_000,
      bodyTimeout: o.timeoutMs ?? 60_000,
    });
    status = r.statusCode;
    const id = r.headers['x-request-id'];
    requestId = typeof id === 'string' ? id : null;
    const ra = r.headers['retry-after'];
    if (typeof ra === 'string') retryAfter = ra;
    text = await r.body.text();
  } catch (e) {
    return { result: { ...base, outcome: 'error', status: 0, code: `client_${(e as { code?: string }).code ?? 'error'}`, requestId } };
  }
  let body: unknown = null;
  try {
    body = JSON.parse(text);
  } catch {
    /* a non-JSON answer: classified by status below */
  }
  if (status >= 400) {
    const err = (body as { error?: { code?: unknown; type?: unknown } } | null)?.error;
    const code = typeof err?.code === 'string' ? err.code : null;
    // A refusal (403: policy, inspection, output rules) is a verdict on the attack; a credential the gateway
    // does not accept, a request shape it rejects, a rate limit or an upstream failure is not.
    const blocked = status === 403 || status === 422 || status === 451;
    return { result: { ...base, outcome: blocked ? 'blocked' : 'error', status, code, requestId }, ...(retryAfter !== undefined ? { retryAfter } : {}) };
  }
  if (body === null) return { result: { ...base, outcome: 'error', status, code: 'answer_not_json', requestId } };
  return { result: { ...base, outcome: attack.succeeded(answerTexts(body), secrets) ? 'succeeded' : 'resisted', status, code: null, requestId } };
}
