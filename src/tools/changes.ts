// How the tools plane's in-memory copies (the registry's definitions, the pins) follow a shared store: a 'tool'
// announcement refreshes that name, a 'resync' (listener lost) and a periodic timer reload everything. One
// place, so the registry and the pins cannot drift apart in how they stay current or report a lost announcement.
import { FailClosed } from '../core/errors.js';
import type { ChangeFeed } from '../store/pg-changes.js';

export interface SharedTools {
  changes: ChangeFeed;
  /** Safety-net reload period. Default 5000 ms. */
  reloadMs?: number;
  onError?: (e: unknown) => void;
}

/** Starts following; the returned function stops. */
export function followToolChanges(shared: SharedTools, refresh: (name: string) => Promise<unknown>, load: () => Promise<void>): () => void {
  const onError = shared.onError ?? (() => undefined);
  const unsubscribe = shared.changes.subscribe((c) => {
    if (c.type === 'tool') refresh(c.name).catch(onError);
    else if (c.type === 'resync') load().catch(onError);
  });
  const timer = setInterval(() => void load().catch(onError), shared.reloadMs ?? 5000);
  timer.unref();
  return () => {
    unsubscribe();
    clearInterval(timer);
  };
}

/** Tells the other replicas that `name` changed (the change is committed already); 503 when they cannot be told. */
export async function announceToolChange(shared: SharedTools | null, name: string): Promise<void> {
  if (!shared) return;
  try {
    await shared.changes.publish({ type: 'tool', name });
  } catch {
    throw new FailClosed('change_not_announced', 'the change is saved, but the other replicas could not be told yet: they apply it at their next reload (within 5 s); executions read the store and use it at once');
  }
}
