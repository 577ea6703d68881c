// Chat completions: the model's proposed `tool_calls` are checked against the same policy as a
// mediated call, for the principal the completion was made for, so the agent never receives a call
// the user could not make. Pure: the caller passes the decision function; nothing is recorded here
// (the completion's own ledger entry carries the counts this returns).
import type { Principal } from '../core/types.js';
import type { ProposedCallDecision } from './mediator.js';

export type ProposedCallDecider = (principal: Principal, tool: string, args: unknown) => ProposedCallDecision;

export interface FilteredCall {
  choice: number;
  id: string;
  tool: string;
  outcome: 'removed' | 'approval_required';
  reason: string;
}

export interface FilterResult {
  /** The (possibly) rewritten response; the same object as the input when nothing changed. */
  json: unknown;
  changed: boolean;
  kept: number;
  calls: FilteredCall[];
}

interface ToolCallJson {
  id?: unknown;
  type?: unknown;
  function?: { name?: unknown; arguments?: unknown };
}

/**
 * Removes every proposed call the principal may not make; keeps calls that need an approval but marks
 * them (`warden_tool_calls` on the message lists each removal or mark with its reason, so the agent
 * knows to expect a 202). Unknown tools and unparseable arguments are removed (fail closed). A choice
 * left without calls gets finish_reason "stop".
 */
export function filterToolCalls(responseJson: unknown, principal: Principal, decide: ProposedCallDecider): FilterResult {
  const choices = (responseJson as { choices?: unknown } | null)?.choices;
  if (!Array.isArray(choices)) return { json: responseJson, changed: false, kept: 0, calls: [] };
  const calls: FilteredCall[] = [];
  let kept = 0;
  const newChoices = choices.map((choice: unknown, ci: number) => {
    const msg = (choice as { message?: { tool_calls?: unknown } } | null)?.message;
    if (!msg || !Array.isArray(msg.tool_calls)) return choice;
    const keep: unknown[] = [];
    const notes: Omit<FilteredCall, 'choice'>[] = [];
    for (const raw of msg.tool_calls as ToolCallJson[]) {
      const id = typeof raw?.id === 'string' ? raw.id : '';
      const name = typeof raw?.function?.name === 'string' ? raw.function.name : '';
      if (raw?.type !== 'function' || name === '') {
        notes.push({ id, tool: name, outcome: 'removed', reason: 'not a function call' });
        continue;
      }
      let args: unknown;
      try {
        args = typeof raw.function!.arguments === 'string' ? JSON.parse(raw.function!.arguments) : raw.function!.arguments;
      } catch {
        notes.push({ id, tool: name, outcome: 'removed', reason: 'arguments are not valid JSON' });
        continue;
      }
      const d = decide(principal, name, args ?? {});
      if (!d.allow) {
        notes.push({ id, tool: name, outcome: 'removed', reason: d.reason ?? 'denied by policy' });
        continue;
      }
      keep.push(raw);
      if (d.approvalRequired) notes.push({ id, tool: name, outcome: 'approval_required', reason: 'a human must approve this call before it runs' });
    }
    kept += keep.length;
    for (const n of notes) calls.push({ choice: ci, ...n });
    if (notes.length === 0) return choice;
    const c = choice as { finish_reason?: unknown; message: Record<string, unknown> };
    const message: Record<string, unknown> = { ...c.message, warden_tool_calls: notes };
    if (keep.length) message.tool_calls = keep;
    else {
      delete message.tool_calls;
      if (message.content === null || message.content === undefined) message.content = '';
    }
    return { ...c, message, ...(keep.length === 0 && c.finish_reason === 'tool_calls' ? { finish_reason: 'stop' } : {}) };
  });
  if (calls.length === 0) return { json: responseJson, changed: false, kept, calls };
  return { json: { ...(responseJson as object), choices: newChoices }, changed: true, kept, calls };
}
