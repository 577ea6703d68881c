// Streams: a tool call the model proposes arrives in pieces (`delta.tool_calls[i]` with the name first and
// the arguments streamed). It cannot be judged before it is whole, so the pieces are held — only those; all
// content keeps flowing — and at the choice's finish the whole calls go through the same filter as a
// non-stream answer. The kept calls are emitted in one delta just before the finish, so the agent never
// receives a call the user could not make. Memory is bounded by the calls' own size.

type Json = Record<string, unknown>;

interface PendingCall {
  id?: string;
  type?: string;
  name: string;
  args: string;
}

export type ToolCallFilter = (json: unknown) => { json: unknown; changed: boolean };

export class StreamToolCallGate {
  private readonly pending = new Map<number, Map<number, PendingCall>>();

  constructor(private readonly filter: ToolCallFilter) {}

  /** The chunks to relay in place of `chunk` (possibly one more, carrying the judged calls, before it). */
  process(chunk: Json): Json[] {
    const choices = chunk.choices;
    if (!Array.isArray(choices)) return [chunk];
    const before: Json[] = [];
    let touched = false;
    const out = (choices as Json[]).map((c) => {
      const idx = typeof c.index === 'number' ? c.index : 0;
      let delta = (c.delta ?? {}) as Json;
      let finish = c.finish_reason;
      if (Array.isArray(delta.tool_calls)) {
        touched = true;
        const calls = this.pending.get(idx) ?? new Map<number, PendingCall>();
        this.pending.set(idx, calls);
        for (const tc of delta.tool_calls as Json[]) {
          const i = typeof tc.index === 'number' ? tc.index : calls.size;
          const acc = calls.get(i) ?? { name: '', args: '' };
          if (typeof tc.id === 'string') acc.id = tc.id;
          if (typeof tc.type === 'string') acc.type = tc.type;
          const fn = (tc.function ?? {}) as Json;
          if (typeof fn.name === 'string') acc.name += fn.name;
          if (typeof fn.arguments === 'string') acc.args += fn.arguments;
          calls.set(i, acc);
        }
        delta = { ...delta };
        delete delta.tool_calls;
      }
      if (finish !== null && finish !== undefined && this.pending.has(idx)) {
        touched = true;
        const { release, allRemoved } = this.release(idx, chunk);
        before.push(release);
        if (allRemoved && finish === 'tool_calls') finish = 'stop';
      }
      return { ...c, delta, finish_reason: finish ?? null };
    });
    if (!touched) return [chunk];
    const rest: Json = { ...chunk, choices: out };
    const empty = out.every((c) => Object.keys(c.delta as Json).length === 0 && c.finish_reason === null) && chunk.usage === undefined;
    return empty ? before : [...before, rest];
  }

  /** At the end of a stream, calls of choices that never finished are judged and released. */
  finish(template: Json | undefined): Json[] {
    return [...this.pending.keys()].map((idx) => this.release(idx, template ?? {}).release);
  }

  private release(idx: number, template: Json): { release: Json; allRemoved: boolean } {
    const calls = [...(this.pending.get(idx) ?? new Map<number, PendingCall>()).entries()].sort((a, b) => a[0] - b[0]).map(([, c]) => c);
    this.pending.delete(idx);
    const message = {
      role: 'assistant',
      content: null,
      tool_calls: calls.map((c) => ({ ...(c.id ? { id: c.id } : {}), type: c.type ?? 'function', function: { name: c.name, arguments: c.args } })),
    };
    const judged = this.filter({ choices: [{ index: idx, message, finish_reason: 'tool_calls' }] }).json as { choices: { message: Json }[] };
    const m = judged.choices[0]!.message;
    const kept = (Array.isArray(m.tool_calls) ? m.tool_calls : []) as Json[];
    const delta: Json = {};
    if (kept.length) delta.tool_calls = kept.map((k, index) => ({ index, ...k }));
    if (m.warden_tool_calls) delta.warden_tool_calls = m.warden_tool_calls;
    const { choices: _c, usage: _u, ...base } = template;
    return { release: { ...base, choices: [{ index: idx, delta, finish_reason: null }] }, allRemoved: kept.length === 0 };
  }
}
