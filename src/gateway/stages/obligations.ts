// The obligations this gateway enforces on inference requests. An obligation not listed here is a
// denial (stages/policy.ts), so a policy can never attach a duty that is silently ignored.
import { BadRequest, Forbidden } from '../../core/errors.js';
import type { ObligationEnforcers } from './policy.js';
import type { RequestContext } from '../context.js';
import { spotlight } from '../../inspect/index.js';
import { asksForLogprobs, hardenEmbeddings, hardenLogprobsAnswer, hardenLogprobsRequest } from '../../monitor/harden.js';

/** The request fields that ask for a number of output tokens: OpenAI (both names), Responses-style, llama.cpp. */
export const MAX_TOKEN_FIELDS = ['max_tokens', 'max_completion_tokens', 'max_output_tokens', 'n_predict'] as const;

// The gateway forwards ctx.body (re-serialized), so an obligation changes the object, never raw bytes.
function setBody(ctx: RequestContext, body: Record<string, unknown>): void {
  ctx.body = body;
}

export const enforcers: ObligationEnforcers = {
  /**
   * `max_tokens:N`: the answer may not cost more than N output tokens. Every alias a server may read is
   * capped (one left uncapped would be the one the server obeys), max_tokens is set when none is given, and
   * `n` choices share the budget: each is capped at floor(N / n), and an n above N is refused.
   */
  max_tokens(ctx, { limit: n }) {
    if (ctx.endpoint === 'embeddings') return;
    const choices = typeof ctx.body.n === 'number' && Number.isInteger(ctx.body.n) && ctx.body.n > 1 ? ctx.body.n : 1;
    const each = Math.floor(n / choices);
    if (each < 1) throw new BadRequest('invalid_field', `n=${choices} choices cannot fit the ${n}-token limit policy sets; ask for fewer choices`, 'n');
    const body = { ...ctx.body };
    let present = false;
    for (const f of MAX_TOKEN_FIELDS) {
      const v = body[f];
      if (v === undefined || v === null) continue;
      present = true;
      // A non-number (or a -1 "unlimited" for llama.cpp) is replaced by the cap, never passed through.
      if (typeof v !== 'number' || !Number.isFinite(v) || v > each || v < 1) body[f] = each;
    }
    if (!present) body.max_tokens = each;
    setBody(ctx, body);
  },
  /** `route:tier=X` / `route:region=X`: checked by the route stage once it has picked an upstream. */
  route(ctx, { key, value }) {
    (ctx.routeRequirements ??= []).push({ attr: key, value });
  },
  /** `flag:<label>`: allowed and marked for review — the request's ledger entry (`details.flags`) and a metric carry it. */
  flag(ctx, { label }) {
    const flags = (ctx.flags ??= []);
    if (!flags.includes(label)) flags.push(label);
  },
  /** `redact:pii` / `redact:secrets`: the answer is redacted before release (streams too, chunk by chunk). */
  redact(ctx, { what }) {
    (ctx.redactTargets ??= []).push(what === 'pii' ? 'pii' : 'secret');
  },
  /**
   * `spotlight`: tool results in the conversation (role `tool`, the indirect-injection channel) are
   * datamarked inside nonce boundaries, and the system prompt says how to read them (arXiv:2403.14720).
   */
  spotlight(ctx) {
    if (ctx.endpoint !== 'chat' || !Array.isArray(ctx.body.messages)) return;
    const instructions: string[] = [];
    const messages = (ctx.body.messages as Record<string, unknown>[]).map((m) => {
      if (m.role !== 'tool' || typeof m.content !== 'string') return m;
      const s = spotlight(m.content, { mode: 'datamark' });
      instructions.push(s.instruction);
      return { ...m, content: s.text };
    });
    if (instructions.length === 0) return;
    const note = instructions.join('\n');
    const sys = messages.findIndex((m) => (m.role === 'system' || m.role === 'developer') && typeof m.content === 'string');
    if (sys >= 0) messages[sys] = { ...messages[sys], content: `${messages[sys]!.content as string}\n\n${note}` };
    else messages.unshift({ role: 'system', content: note });
    setBody(ctx, { ...ctx.body, messages });
  },
  /**
   * `harden:logprobs[=…]` / `harden:embeddings[=σ]` (src/monitor/harden.ts): the request is limited and the
   * answer rewritten before release. A streamed answer is not rewritten, so under any logprobs mode a stream
   * is stripped instead; an embeddings request is made to return floats (base64 vectors could not be noised).
   */
  harden(ctx, o) {
    if (o.what === 'embeddings') {
      if (ctx.endpoint !== 'embeddings') return;
      setBody(ctx, { ...ctx.body, encoding_format: 'float' });
      (ctx.answerHardening ??= []).push((a) => hardenEmbeddings(a, o.sigma));
      return;
    }
    if (ctx.endpoint === 'embeddings' || !asksForLogprobs(ctx.endpoint, ctx.body)) return;
    const h = ctx.stream ? { mode: 'strip' as const } : o.hardening;
    setBody(ctx, hardenLogprobsRequest(ctx.endpoint, ctx.body, h));
    // Also on the answer: an upstream that sends logprobs anyway (or more than asked for) is corrected here.
    if (!ctx.stream) (ctx.answerHardening ??= []).push((a) => hardenLogprobsAnswer(a, h));
  },
  /** Inference calls cannot be held for approval (tool calls can): refuse rather than ignore. */
  approval() {
    throw new Forbidden('approval_required', 'this request needs human approval, which inference endpoints do not support; use a tool call');
  },
};
