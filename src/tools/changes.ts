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

/**
 * One kind of tool-store record held in memory by name (the registry's definitions, the pins, the quarantines),
 * for the synchronous paths that only look. `refresh` re-reads one name from the store (what an execution does
 * before it runs); with a shared store the copy follows the change feed and the periodic reload.
 */
export class StoreMirror<T> {
  private items = new Map<string, T>();
  private readonly stop: () => void;

  constructor(
    private readonly readOne: (name: string) => Promise<T | null>,
    private readonly readAll: () => Promise<Map<string, T>>,
    shared: SharedTools | null,
  ) {
    this.stop = shared ? followToolChanges(shared, (name) => this.refresh(name), () => this.load()) : () => undefined;
  }

  /** Fills the copy from the store (at start, after a resync, and periodically). */
  async load(): Promise<void> {
    this.items = await this.readAll();
  }

  /** The stored record of `name` (null: none), and the copy brought up to it. */
  async refresh(name: string): Promise<T | null> {
    const v = await this.readOne(name);
    if (v) this.items.set(name, v);
    else this.items.delete(name);
    return v;
  }

  /** This replica's copy (possibly older than the store). */
  peek(name: string): T | undefined {
    return this.items.get(name);
  }

  values(): IterableIterator<T> {
    return this.items.values();
  }

  close(): void {
    this.stop();
  }
}
