// The stage contract and the one runner every route on the inference listener uses (DESIGN: "Every route
// declares its list of stages and one small runner runs them"). A stage reads and extends the request
// context, or ends the request by throwing a typed WardenError; the runner records which stage was running
// so the one failure path (Gateway.fail) can write it into the audit entry. Like hono's compose, the
// runner is a loop and nothing else: no stage can skip another or run twice.
import type { RequestContext } from './context.js';

export interface Stage {
  readonly name: string;
  run(ctx: RequestContext): void | Promise<void>;
}

export function stage(name: string, run: (ctx: RequestContext) => void | Promise<void>): Stage {
  return { name, run };
}

/** Runs `stages` in order. Synchronous stages are not awaited (no microtask per stage on the hot path). */
export async function runStages(stages: readonly Stage[], ctx: RequestContext): Promise<void> {
  for (const s of stages) {
    ctx.stage = s.name;
    const r = s.run(ctx);
    if (r !== undefined) await r;
  }
}
