// Budget stage (after route, before the upstream call): reserves this request's estimate on every budget of
// its key, principal and tenant (src/network/budgets.ts). The estimate is the prompt's size (characters of the
// prompt fields / 4, rounded up) plus the most output the request may ask for: its max_tokens (or an alias,
// the same fields the max_tokens obligation caps) times `n`, or budgets.defaultMaxTokens when it names none.
// The gateway settles the hold with the upstream's usage however the answer ends (Gateway.settle).
import type { Budgets, Usage } from '../../network/budgets.js';
import type { RequestContext } from '../context.js';
import { MAX_TOKEN_FIELDS } from './obligations.js';

const PROMPT_FIELDS = ['messages', 'prompt', 'input', 'tools', 'functions', 'system'] as const;

export function estimateUsage(ctx: RequestContext, defaultMaxTokens: number): Usage {
  let chars = 0;
  for (const f of PROMPT_FIELDS) {
    const v = ctx.body[f];
    if (v !== undefined) chars += typeof v === 'string' ? v.length : JSON.stringify(v).length;
  }
  const prompt = Math.ceil(chars / 4);
  if (ctx.endpoint === 'embeddings') return { prompt, completion: 0 };
  let max: number | undefined;
  for (const f of MAX_TOKEN_FIELDS) {
    const v = ctx.body[f];
    if (typeof v === 'number' && Number.isFinite(v) && v >= 1) max = Math.max(max ?? 0, Math.ceil(v));
  }
  const n = typeof ctx.body.n === 'number' && Number.isInteger(ctx.body.n) && ctx.body.n > 1 ? ctx.body.n : 1;
  return { prompt, completion: (max ?? defaultMaxTokens) * n };
}

/** Before policy: the least remaining budget of the caller, for the PDP context (budgetTokensLeft, budgetCostLeftMicros). */
export function createBudgetContextStage(budgets: Budgets) {
  return function budgetContext(ctx: RequestContext): void | Promise<void> {
    if (budgets.empty) return;
    return budgets.remaining(ctx.principal!).then((left) => {
      if (left.tokens !== null || left.cost !== null) ctx.budgetLeft = left;
    });
  };
}

export function createBudgetStage(budgets: Budgets, defaultMaxTokens: number) {
  return function budget(ctx: RequestContext): void | Promise<void> {
    const hold = budgets.reserve(ctx.principal!, ctx.model!, estimateUsage(ctx, defaultMaxTokens));
    if (hold instanceof Promise) return hold.then((h) => void (h && (ctx.budget = h)));
    if (hold) ctx.budget = hold;
  };
}
