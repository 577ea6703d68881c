// The control-plane operations on policy, for the admin API to mount: publish (validate → persist →
// activate), shadow a candidate, promote, roll back to a stored version, list versions. Stored
// versions are of the published (base) set; key-scope policies are regenerated from the key store and
// are not persisted here, so a decision's policyVersion (base + generated) can differ from the stored one.
import type { ChangeFeed } from '../store/pg-changes.js';
import type { PolicySetSummary, PolicyStore } from '../store/policy-store.js';
import { FailClosed, NotFound } from '../core/errors.js';
import type { PolicyDecisionPoint } from './pdp.js';
import { runPolicyTests, type PolicyTestResult } from './policy-tests.js';
import { DEFAULT_SCHEME, type ClassificationScheme } from '../inspect/classification.js';
import { entriesFromStored, loadPolicyDir, parsePolicies, policySetVersion, type PolicyEntry, validatePolicies } from './policy-set.js';

export interface PublishResult {
  /** Version of the published set (what the store holds). */
  setVersion: string;
  /** Version now live in the PDP (published set + generated key-scope policies). */
  liveVersion: string;
  policyCount: number;
}

/**
 * What the admin API wraps around a change: `check` runs with the candidate live (synchronously: no request is
 * decided meanwhile) and throws to refuse it; `commit` records the accepted change (the ledger entry) before
 * anything is stored or made live for requests. A change refused by either leaves the live and stored sets as
 * they were (a refused set is never stored, so it cannot be rolled back to later).
 */
export interface ChangeGate {
  check?: () => void;
  commit?: (result: PublishResult) => Promise<void>;
}

/**
 * Replicas sharing the store: a publish, promote or rollback through any of them is announced ('policy');
 * every replica then loads the stored active set (so does a 'resync', and a check every `reloadMs`).
 */
export interface SharedPolicies {
  changes: ChangeFeed;
  /** Default 5000 ms. */
  reloadMs?: number;
  onError?: (e: unknown) => void;
}

export class PolicyAdmin {
  private readonly unsubscribe: () => void = () => undefined;
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly pdp: PolicyDecisionPoint,
    private readonly store: PolicyStore,
    private readonly shared: SharedPolicies | null = null,
    /** The configured classification levels that policy request files may name (warden.yaml `classification`). */
    private readonly levels: ClassificationScheme = DEFAULT_SCHEME,
  ) {
    if (shared) {
      const follow = () => void this.follow().catch((e: unknown) => shared.onError?.(e));
      this.unsubscribe = shared.changes.subscribe((c) => {
        if (c.type === 'policy' || c.type === 'resync') follow();
      });
      this.timer = setInterval(follow, shared.reloadMs ?? 5000);
      this.timer.unref();
    }
  }

  /**
   * Makes the stored active set live here if another replica changed it (its hash is checked on load), and shadows
   * the stored shadow candidate (or stops shadowing) likewise.
   */
  async follow(): Promise<void> {
    const active = await this.store.active();
    if (active && active.version !== policySetVersion(this.pdp.basePolicies())) this.apply(entriesFromStored(active.version, active.policies));
    await this.followShadow();
  }

  private async followShadow(): Promise<void> {
    const stored = await this.store.shadow();
    const mine = this.pdp.shadowBasePolicies();
    if (stored === (mine ? policySetVersion(mine) : null)) return;
    if (stored === null) return this.pdp.clearShadow();
    const set = await this.store.get(stored);
    if (set) this.pdp.setShadow(entriesFromStored(set.version, set.policies));
  }

  close(): void {
    this.unsubscribe();
    if (this.timer) clearInterval(this.timer);
  }

  /** At startup: the last activated stored set, or else `fallbackDir` (published as actor `boot`). */
  async boot(fallbackDir: string): Promise<PublishResult> {
    const active = await this.store.active();
    const r = active ? this.apply(entriesFromStored(active.version, active.policies)) : await this.publishDirectory(fallbackDir, 'boot');
    await this.followShadow();
    return r;
  }

  /** Validates and makes `text` live; on any error it throws (Cedar's message) and nothing changes. */
  publish(text: string, actor: string, note?: string, gate: ChangeGate = {}): Promise<PublishResult> {
    return this.publishEntries(parsePolicies(text, 'admin'), actor, 'admin', note, gate);
  }

  /** At startup, from the config's directory: no gate (nothing is being served yet). */
  async publishDirectory(dir: string, actor: string, note?: string): Promise<PublishResult> {
    // Boot and config load, before any request: the gate's lockout check and ledger entry are the admin API's.
    const entries = loadPolicyDir(dir);
    const result = this.apply(entries); // validates first: a rejected set is never stored
    await this.persistPublished(result, entries, actor, `dir:${dir}`, note);
    return result;
  }

  /** Starts shadow evaluation of a candidate; differences go to the PDP's onShadowDiff. */
  /** Parses and validates a candidate against the PDP's schema, installing nothing. */
  check(text: string): { setVersion: string; policyCount: number } {
    const entries = parsePolicies(text, 'admin');
    validatePolicies(this.pdp.schema, entries);
    return { setVersion: policySetVersion(entries), policyCount: entries.length };
  }

  /** Runs the policy tests under `testDir` (*.test.yaml / *.test.json) against a candidate, installing nothing. */
  test(text: string, testDir: string): { setVersion: string; results: PolicyTestResult[] } {
    const entries = parsePolicies(text, 'admin');
    validatePolicies(this.pdp.schema, entries);
    return { setVersion: policySetVersion(entries), results: runPolicyTests(entries, testDir, this.pdp.schema, this.levels) };
  }

  /**
   * Starts shadow evaluation of a candidate (validated first; differences go to the PDP's onShadowDiff). The set is
   * stored and named the shadow candidate in the store, and announced: every replica sharing the store shadows it
   * too (and a restart resumes it).
   */
  async shadow(text: string, actor: string): Promise<{ setVersion: string; policyCount: number }> {
    const entries = parsePolicies(text, 'admin');
    this.pdp.setShadow(entries);
    const setVersion = policySetVersion(entries);
    await this.store.save(setVersion, entries, { source: 'shadow' });
    await this.store.setShadow(setVersion, actor);
    await this.announce(setVersion);
    return { setVersion, policyCount: entries.length };
  }

  async stopShadow(actor: string): Promise<void> {
    this.pdp.clearShadow();
    await this.store.setShadow(null, actor);
    await this.announce(policySetVersion(this.pdp.basePolicies()));
  }

  /** The shadow candidate goes live and is recorded. */
  async promote(actor: string, note?: string, gate: ChangeGate = {}): Promise<PublishResult> {
    const candidate = this.pdp.shadowBasePolicies();
    if (candidate === null) throw new NotFound('no_shadow_set', 'there is no shadow policy set to promote');
    const r = await this.change(candidate, gate);
    this.pdp.clearShadow();
    await this.store.setShadow(null, actor);
    await this.persistPublished(r, candidate, actor, 'shadow', note);
    return r;
  }

  /** Makes a previously stored version live again, through the same gate as a publish. */
  async rollback(version: string, actor: string, gate: ChangeGate = {}): Promise<PublishResult> {
    const stored = await this.store.get(version);
    if (!stored) throw new NotFound('policy_version_not_found', `policy set version ${version} is not stored`);
    const r = await this.change(entriesFromStored(stored.version, stored.policies), gate);
    await this.store.activate(version, actor);
    await this.announce(version);
    return r;
  }

  async versions(): Promise<(PolicySetSummary & { active: boolean })[]> {
    const active = (await this.store.active())?.version;
    return (await this.store.list()).map((s) => ({ ...s, active: s.version === active }));
  }

  /** The live published policies (id, source, text), sorted by id. */
  current(): { setVersion: string; liveVersion: string | null; policies: { id: string; source: string; text: string }[] } {
    const base = this.pdp.basePolicies().sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    return { setVersion: policySetVersion(base), liveVersion: this.pdp.version, policies: base.map((e) => ({ id: e.id, source: e.source, text: e.text })) };
  }

  private async publishEntries(entries: PolicyEntry[], actor: string, source: string, note: string | undefined, gate: ChangeGate): Promise<PublishResult> {
    const result = await this.change(entries, gate);
    await this.persistPublished(result, entries, actor, source, note);
    return result;
  }

  private async persistPublished(result: PublishResult, entries: PolicyEntry[], actor: string, source: string, note: string | undefined): Promise<void> {
    await this.store.save(result.setVersion, entries, { source, ...(note !== undefined ? { note } : {}) });
    await this.store.activate(result.setVersion, actor);
    await this.announce(result.setVersion);
  }

  /** Tells the other replicas that the stored active set changed (it is committed already). */
  private async announce(version: string): Promise<void> {
    if (!this.shared) return;
    try {
      await this.shared.changes.publish({ type: 'policy', version });
    } catch {
      throw new FailClosed('change_not_announced', 'the change is saved and live here, but the other replicas could not be told yet: they load it at their next check (within 5 s)');
    }
  }

  /**
   * Candidate live only while `check` runs (validated first: Cedar's errors throw before anything changes),
   * then the previous set again while the outcome is recorded, then the candidate for good.
   */
  private async change(candidate: PolicyEntry[], gate: ChangeGate): Promise<PublishResult> {
    const previous = this.pdp.basePolicies();
    const trial = this.apply(candidate);
    try {
      gate.check?.();
    } finally {
      this.pdp.replacePolicies(previous);
    }
    await gate.commit?.(trial);
    return this.apply(candidate);
  }

  private apply(entries: PolicyEntry[]): PublishResult {
    const r = this.pdp.replacePolicies(entries);
    return { setVersion: policySetVersion(entries), liveVersion: r.version, policyCount: r.policyCount };
  }
}
