// Tools taken out of service: an operator (POST /admin/v1/tools/{name}/quarantine) or a response playbook
// (`quarantineTool`) quarantines a tool by name, and every path that calls tools refuses it (403
// `tool_quarantined`): /v1/tools/{name}/invoke, MCP tools/call, an approved held call, and the chat path's
// filter of a model's proposed calls and the tool listings. The state lives in the tool store (SQLite, or the
// cluster's PostgreSQL), so every replica refuses at once: an execution reads the store, the listings read a
// mirror that follows the change feed, as the pins do. Only a release (an admin, or reverting the playbook step)
// ends it; deleting and re-registering the tool does not.
import type { Clock } from '../core/clock.js';
import { BadRequest } from '../core/errors.js';
import type { ToolQuarantineRecord, ToolStore } from '../store/tools-store.js';
import { announceToolChange, StoreMirror, type SharedTools } from './changes.js';
import { ToolAlreadyQuarantined, ToolNotQuarantined, ToolQuarantined } from './errors.js';

const MAX_REASON = 1000;

export function quarantineView(q: ToolQuarantineRecord): Record<string, unknown> {
  return { tool: q.name, reason: q.reason, by: q.by, at: new Date(q.at).toISOString() };
}

/** The reason an operator gives (required: the ledger and whoever releases the tool read it). */
export function parseQuarantineReason(v: unknown): string {
  if (typeof v !== 'string' || v.trim() === '' || v.length > MAX_REASON) throw new BadRequest('invalid_field', `reason is required: a string of 1-${MAX_REASON} characters`, 'reason');
  return v;
}

export class ToolQuarantines {
  private readonly mirror: StoreMirror<ToolQuarantineRecord>;

  constructor(
    private readonly store: ToolStore,
    private readonly clock: Clock,
    private readonly shared: SharedTools | null = null,
  ) {
    this.mirror = new StoreMirror((name) => store.getQuarantine(name), async () => new Map((await store.listQuarantines()).map((q) => [q.name, q])), shared);
  }

  load(): Promise<void> {
    return this.mirror.load();
  }

  close(): void {
    this.mirror.close();
  }

  /** Quarantines `name` (409 tool_already_quarantined: the first quarantine stays, with its reason and author). */
  async quarantine(name: string, reason: string, by: string): Promise<ToolQuarantineRecord> {
    const q: ToolQuarantineRecord = { name, reason, by, at: this.clock.now() };
    if (!(await this.store.setQuarantine(q))) throw new ToolAlreadyQuarantined(name);
    await this.mirror.refresh(name);
    await this.announce(name);
    return q;
  }

  /** Ends a quarantine (409 tool_not_quarantined when there is none); the lifted record. */
  async release(name: string): Promise<ToolQuarantineRecord> {
    const q = await this.store.clearQuarantine(name);
    if (!q) throw new ToolNotQuarantined(name);
    await this.mirror.refresh(name);
    await this.announce(name);
    return q;
  }

  /**
   * Stored already: every replica's next execution reads it; a failed announcement only delays the other
   * replicas' listings (their reload applies it within seconds), so it is logged, not turned into a refusal.
   */
  private async announce(name: string): Promise<void> {
    await announceToolChange(this.shared, name).catch((e: unknown) => this.shared?.onError?.(e));
  }

  get(name: string): Promise<ToolQuarantineRecord | null> {
    return this.store.getQuarantine(name);
  }

  list(): Promise<ToolQuarantineRecord[]> {
    return this.store.listQuarantines();
  }

  private static usable(name: string, q: ToolQuarantineRecord | null | undefined): void {
    if (q) throw new ToolQuarantined(name, `taken out of service by ${q.by} (${q.reason}); an admin releases it`);
  }

  /** Before an execution: read from the store, never a replica's possibly older copy. */
  async assertUsable(name: string): Promise<void> {
    ToolQuarantines.usable(name, await this.mirror.refresh(name));
  }

  /** This replica's view, for reports (the inventory). */
  isQuarantined(name: string): boolean {
    return this.mirror.peek(name) !== undefined;
  }

  /** For paths that only look (listings, filtering proposed calls): this replica's mirror. */
  peekUsable(name: string): void {
    ToolQuarantines.usable(name, this.mirror.peek(name));
  }
}
