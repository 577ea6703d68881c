// Pinned tool definitions, against "rug pulls" and tool poisoning. An MCP server says what its tools are (name,
// description, input schema), and an agent's model reads and obeys that. Warden pins the digest of the served
// definition when an admin registers the tool (or re-approves it); before every call it compares what the
// server serves now, and a different definition quarantines the tool, with the diff in the ledger, until an
// admin re-approves exactly the new digest. Descriptions are inspected for injected instructions before they
// are pinned or shown: a poisoned one is refused.
import type { Clock } from '../core/clock.js';
import { canonicalJson } from '../core/canonical-json.js';
import { INJECTION_BLOCK_CUT } from '../core/injection-cuts.js';
import { sha256Digest } from '../core/digest.js';
import type { ServedToolDefinition, ToolPinRecord, ToolRecord, ToolStore } from '../store/tools-store.js';
import { ToolDefinitionChanged, ToolDefinitionNotPending, ToolDescriptionInjection, ToolQuarantined } from './errors.js';
import type { ToolInspector } from './mediator.js';
import { announceToolChange, StoreMirror, type SharedTools } from './changes.js';

/**
 * Injection score above which a description is refused: the blocking cut the starter policy refuses prompts at
 * (src/core/injection-cuts.ts). A description tells a model what a tool does; ordinary ones score low, the
 * published tool-poisoning examples (an <IMPORTANT> block telling the model to read a secret file and keep quiet)
 * close to 1.
 */
export const DESCRIPTION_INJECTION_THRESHOLD = INJECTION_BLOCK_CUT;

/**
 * Below this many words the classifier's score alone does not refuse a description: a short imperative such as
 * "Delete everything and start over" can score as high as a real poisoning block, yet carries no instruction to
 * the model beyond naming what the tool does (under three words the detector itself gives no classifier verdict). A rule signal (ignore-instructions, system-prompt extraction, …) refuses at any length.
 */
export const DESCRIPTION_MIN_WORDS_FOR_CLASSIFIER = 8;

/**
 * The findings of a description that reads as instructions to the model, or null. Shared by tool definitions
 * and A2A agent cards (src/agents), whose descriptions and skills an agent's model reads the same way.
 */
export function descriptionInjection(inspector: Pick<ToolInspector, 'inspect'>, text: string): { injectionScore: number; injectionSignals: string[] } | null {
  const f = inspector.inspect(text);
  if (!(f.injectionScore > DESCRIPTION_INJECTION_THRESHOLD)) return null;
  const ruled = f.injectionSignals.some((s) => s !== 'classifier');
  const words = text.trim().split(/\s+/).length;
  return ruled || words >= DESCRIPTION_MIN_WORDS_FOR_CLASSIFIER ? f : null;
}

export interface DefinitionChange {
  field: 'name' | 'description' | 'inputSchema';
  before: unknown;
  after: unknown;
}

export function definitionDigest(d: ServedToolDefinition): string {
  return sha256Digest(canonicalJson({ name: d.name, description: d.description, inputSchema: d.inputSchema ?? null }));
}

export function diffDefinitions(a: ServedToolDefinition, b: ServedToolDefinition): DefinitionChange[] {
  const out: DefinitionChange[] = [];
  for (const field of ['name', 'description', 'inputSchema'] as const) {
    if (canonicalJson(a[field] ?? null) !== canonicalJson(b[field] ?? null)) out.push({ field, before: a[field] ?? null, after: b[field] ?? null });
  }
  return out;
}

/** The diff as one ledger detail: canonical JSON, cut at `max` characters (the full definitions stay in the store). */
export function diffDetail(changes: DefinitionChange[], max = 4000): string {
  const s = canonicalJson(changes);
  return s.length <= max ? s : s.slice(0, max - 1) + '…';
}

export function pinView(p: ToolPinRecord): Record<string, unknown> {
  return {
    tool: p.name,
    pinned: { digest: p.digest, definition: p.definition, pinned_at: new Date(p.pinnedAt).toISOString(), pinned_by: p.pinnedBy },
    quarantined: p.pending !== null,
    pending: p.pending ? { digest: p.pending.digest, definition: p.pending.definition, seen_at: new Date(p.pending.at).toISOString(), diff: diffDefinitions(p.definition, p.pending.definition) } : null,
  };
}

/**
 * Pins live in the tool store. Every check before a call and every admin read asks the store; a mirror of the
 * pins of the registry's tools serves the synchronous paths that only look (tools/list, filtering a model's
 * proposed calls), as the registry's mirror does for definitions. With a shared store a pin change is announced
 * as a 'tool' change, and the mirror follows the feed and a periodic reload.
 */
export class ToolPins {
  private readonly mirror: StoreMirror<ToolPinRecord>;

  constructor(
    private readonly store: ToolStore,
    private readonly clock: Clock,
    private readonly inspector: Pick<ToolInspector, 'inspect'>,
    /** The names whose pins the mirror holds (the registry's tools). */
    names: () => string[] = () => [],
    private readonly shared: SharedTools | null = null,
  ) {
    const readAll = async () => {
      const all = new Map<string, ToolPinRecord>();
      for (const name of names()) {
        const p = await store.getPin(name);
        if (p) all.set(name, p);
      }
      return all;
    };
    this.mirror = new StoreMirror((name) => store.getPin(name), readAll, shared);
  }

  /** Fills the mirror from the store (at start, after a resync, and periodically). */
  load(): Promise<void> {
    return this.mirror.load();
  }

  /** Refreshes this replica's copy and tells the other replicas (503 change_not_announced when they cannot be told). */
  private async announce(name: string): Promise<void> {
    await this.mirror.refresh(name);
    await announceToolChange(this.shared, name);
  }

  close(): void {
    this.mirror.close();
  }

  /** Refuses a description that reads as instructions to the model (tool poisoning). */
  scanDescription(text: string, field: string): void {
    const f = descriptionInjection(this.inspector, text);
    if (f) throw new ToolDescriptionInjection(field, f.injectionScore, f.injectionSignals);
  }

  get(name: string): Promise<ToolPinRecord | null> {
    return this.store.getPin(name);
  }

  /** Pins the served definition at registration (the admin's consent), after scanning its description. */
  async pin(name: string, served: ServedToolDefinition, by: string): Promise<ToolPinRecord> {
    this.scanDescription(served.description, 'served_definition/description');
    await this.store.setPin(name, definitionDigest(served), served, this.clock.now(), by);
    const p = await this.store.getPin(name);
    // Deleted between the write and the read (another admin): nothing is pinned, the tool stays quarantined.
    if (!p) throw new ToolQuarantined(name, 'it was deleted while its definition was being pinned');
    await this.announce(name);
    return p;
  }

  async remove(name: string): Promise<void> {
    await this.store.deletePin(name);
    await this.announce(name);
  }

  private static usable(t: ToolRecord, p: ToolPinRecord | null | undefined): void {
    if (t.backend.type !== 'mcp') return;
    if (!p) throw new ToolQuarantined(t.name, 'it has no pinned definition; an admin re-registers it (PUT) to pin one');
    if (p.pending) throw new ToolQuarantined(t.name, `its MCP server changed the definition (now ${p.pending.digest}); an admin must re-approve it`);
  }

  /** Before a call: an MCP tool runs only while it has a pin and no changed definition is waiting (read from the store). */
  async assertUsable(t: ToolRecord): Promise<void> {
    if (t.backend.type !== 'mcp') return;
    ToolPins.usable(t, await this.mirror.refresh(t.name));
  }

  /** The same check against this replica's mirror, for paths that only look (never before an execution). */
  peekUsable(t: ToolRecord): void {
    ToolPins.usable(t, this.mirror.peek(t.name));
  }

  /**
   * What the server serves now against the pin: equal → nothing; different or missing → the change is kept as
   * pending (the tool is quarantined) and ToolDefinitionChanged carries the diff for the call's ledger entry.
   */
  async check(name: string, served: ServedToolDefinition | null): Promise<void> {
    const p = await this.store.getPin(name);
    if (!p) throw new ToolQuarantined(name, 'it has no pinned definition');
    const now: ServedToolDefinition = served ?? { name: p.definition.name, description: '', inputSchema: null };
    const digest = served ? definitionDigest(served) : 'absent';
    if (digest === p.digest) return;
    await this.store.setPending(name, digest, now, this.clock.now());
    // The quarantine is stored (every replica's next call reads it); an announcement that fails only delays
    // the other replicas' listings, so it must not replace the definition-changed refusal of this call.
    await this.announce(name).catch((e: unknown) => this.shared?.onError?.(e));
    const e = new ToolDefinitionChanged(name) as ToolDefinitionChanged & { details?: Record<string, string> };
    e.details = { pinnedDigest: p.digest, servedDigest: digest, definitionDiff: served ? diffDetail(diffDefinitions(p.definition, now)) : 'the server no longer lists the tool' };
    throw e;
  }

  /** An admin re-approves the pending definition, naming its digest (what they were shown). */
  async approve(name: string, digest: string, by: string): Promise<{ before: ToolPinRecord; after: ToolPinRecord; changes: DefinitionChange[] }> {
    const before = await this.store.getPin(name);
    if (!before?.pending) throw new ToolDefinitionNotPending(`the tool ${name} has no changed definition waiting for approval`);
    if (before.pending.digest !== digest) throw new ToolDefinitionNotPending(`the definition waiting for approval is ${before.pending.digest}, not ${digest}`);
    if (digest === 'absent') throw new ToolDefinitionNotPending('the server no longer lists the tool: there is no definition to approve; delete the tool or fix the server');
    this.scanDescription(before.pending.definition.description, 'pending/description');
    const after = await this.pin(name, before.pending.definition, by);
    return { before, after, changes: diffDefinitions(before.definition, after.definition) };
  }
}
