// Cedar-wasm can keep a parsed policy set in Wasm memory (preparsePolicySet) and evaluate against it
// by name (statefulIsAuthorized), which skips re-parsing policy text on every call. There is no API
// to drop a preparsed set, so names are a bounded pool of slots: a slot evicted from the LRU is
// reused (re-preparsing overwrites it). Keyed by content (policy hashes), so slices with the same
// policies share one slot across policy-set versions and PDP instances.
import { cedar, cedarErrorText } from './cedar-wasm.js';
import { Lru } from './lru.js';
import type { PolicyEntry } from './policy-set.js';

export class PreparseFailed extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PreparseFailed';
  }
}

const DEFAULT_SLOTS = 4096;

class PreparsedPool {
  private readonly lru: Lru<string, string>;
  private readonly free: string[] = [];
  private next = 0;
  constructor(slots: number) {
    this.lru = new Lru(slots);
  }

  /** The slot name holding exactly these policies, preparsing them into a slot if needed. */
  slotFor(contentKey: string, entries: readonly PolicyEntry[]): string {
    const hit = this.lru.get(contentKey);
    if (hit !== undefined) return hit;
    const slot = this.free.pop() ?? `warden-slice-${this.next++}`;
    const staticPolicies: Record<string, string> = {};
    for (const e of entries) staticPolicies[e.id] = e.text;
    const answer = cedar.preparsePolicySet(slot, { staticPolicies });
    if (answer.type !== 'success') {
      this.free.push(slot);
      throw new PreparseFailed(cedarErrorText(answer.errors));
    }
    const evicted = this.lru.set(contentKey, slot);
    if (evicted) this.free.push(evicted[1]);
    return slot;
  }
}

export const preparsedPool = new PreparsedPool(DEFAULT_SLOTS);

/** Content key of an ordered slice: the policies' (id, text) hashes. */
export function sliceContentKey(entries: readonly PolicyEntry[]): string {
  let k = '';
  for (const e of entries) k += e.hash;
  return k;
}
