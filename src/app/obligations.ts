// The obligations this gateway enforces on inference requests. An obligation not listed here is a
// denial (stages/policy.ts), so a policy can never attach a duty that is silently ignored.
import { Forbidden } from '../core/errors.js';
import type { ObligationEnforcers } from '../gateway/stages/policy.js';
import type { RequestContext } from '../gateway/context.js';
import { spotlight } from '../inspect/index.js';

function setBody(ctx: RequestContext, body: Record<string, unknown>): void {
  ctx.body = body;
  ctx.rawBody = Buffer.from(JSON.stringify(body));
}

export const enforcers: ObligationEnforcers = {
  /** `max_tokens:N`: the request may not ask for more than N tokens; absent, it is capped at N. */
  max_tokens(ctx, arg) {
    const n = Number(arg);
    if (!Number.isInteger(n) || n <= 0) throw new Forbidden('unenforceable_obligation', `malformed obligation max_tokens:${arg}`);
    const field = ctx.endpoint === 'chat' && ctx.body.max_completion_tokens !== undefined ? 'max_completion_tokens' : 'max_tokens';
    const asked = ctx.body[field];
    if (typeof asked === 'number' && asked <= n) return;
    if (ctx.endpoint === 'embeddings') return;
    setBody(ctx, { ...ctx.body, [field]: n });
  },
  /** `route:tier=X` / `route:region=X`: checked by the route stage once it has picked an upstream. */
  route(ctx, arg) {
    const m = /^(tier|region)=(.+)$/.exec(arg);
    if (!m) throw new Forbidden('unenforceable_obligation', `malformed obligation route:${arg}`);
    (ctx.routeRequirements ??= []).push({ attr: m[1] as 'tier' | 'region', value: m[2]! });
  },
  /** `redact:pii` / `redact:secrets`: the answer is redacted before release (streams too, chunk by chunk). */
  redact(ctx, arg) {
    const target = arg === 'pii' ? 'pii' : arg === 'secrets' ? 'secret' : null;
    if (!target) throw new Forbidden('unenforceable_obligation', `malformed obligation redact:${arg}`);
    (ctx.redactTargets ??= []).push(target);
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
  /** Inference calls cannot be held for approval (tool calls can): refuse rather than ignore. */
  approval() {
    throw new Forbidden('approval_required', 'this request needs human approval, which inference endpoints do not support; use a tool call');
  },
};
