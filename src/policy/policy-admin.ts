// The control-plane operations on policy, for the admin API to mount: publish (validate → persist →
// activate), shadow a candidate, promote, roll back to a stored version, list versions. Stored
// versions are of the published (base) set; key-scope policies are regenerated from the key store and
// are not persisted here, so a decision's policyVersion (base + generated) can differ from the stored one.
import type { SqlitePolicyStore, PolicySetSummary } from '../store/policy-sqlite.js';
import { NotFound } from '../core/errors.js';
import type { PolicyDecisionPoint } from './pdp.js';
import { entriesFromStored, loadPolicyDir, parsePolicies, policySetVersion, type PolicyEntry } from './policy-set.js';

export interface PublishResult {
  /** Version of the published set (what the store holds). */
  setVersion: string;
  /** Version now live in the PDP (published set + generated key-scope policies). */
  liveVersion: string;
  policyCount: number;
}

export class PolicyAdmin {
  constructor(
    private readonly pdp: PolicyDecisionPoint,
    private readonly store: SqlitePolicyStore,
  ) {}

  /** At startup: the last activated stored set, or else `fallbackDir` (published as actor `boot`). */
  boot(fallbackDir: string): PublishResult {
    const active = this.store.active();
    if (active) return this.apply(entriesFromStored(active.version, active.policies));
    return this.publishEntries(loadPolicyDir(fallbackDir), 'boot', `dir:${fallbackDir}`);
  }

  /** Validates and makes `text` live; on any error it throws (Cedar's message) and nothing changes. */
  publish(text: string, actor: string, note?: string): PublishResult {
    return this.publishEntries(parsePolicies(text, 'admin'), actor, 'admin', note);
  }

  publishDirectory(dir: string, actor: string, note?: string): PublishResult {
    return this.publishEntries(loadPolicyDir(dir), actor, `dir:${dir}`, note);
  }

  /** Starts shadow evaluation of a candidate; differences go to the PDP's onShadowDiff. */
  shadow(text: string): { setVersion: string; policyCount: number } {
    const entries = parsePolicies(text, 'admin');
    this.pdp.setShadow(entries);
    return { setVersion: policySetVersion(entries), policyCount: entries.length };
  }

  stopShadow(): void {
    this.pdp.clearShadow();
  }

  /** The shadow candidate goes live and is recorded. */
  promote(actor: string, note?: string): PublishResult {
    const candidate = this.pdp.shadowBasePolicies();
    if (candidate === null) throw new NotFound('no_shadow_set', 'there is no shadow policy set to promote');
    const version = policySetVersion(candidate);
    this.store.save(version, candidate, { source: 'shadow', ...(note !== undefined ? { note } : {}) });
    const r = this.pdp.promoteShadow();
    this.store.activate(version, actor);
    return { setVersion: version, liveVersion: r.version, policyCount: candidate.length };
  }

  /** Makes a previously stored version live again. */
  rollback(version: string, actor: string): PublishResult {
    const stored = this.store.get(version);
    if (!stored) throw new NotFound('policy_version_not_found', `policy set version ${version} is not stored`);
    const r = this.apply(entriesFromStored(stored.version, stored.policies));
    this.store.activate(version, actor);
    return r;
  }

  versions(): (PolicySetSummary & { active: boolean })[] {
    const active = this.store.active()?.version;
    return this.store.list().map((s) => ({ ...s, active: s.version === active }));
  }

  /** The live published policies (id, source, text), sorted by id. */
  current(): { setVersion: string; liveVersion: string | null; policies: { id: string; source: string; text: string }[] } {
    const base = this.pdp.basePolicies().sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    return { setVersion: policySetVersion(base), liveVersion: this.pdp.version, policies: base.map((e) => ({ id: e.id, source: e.source, text: e.text })) };
  }

  private publishEntries(entries: PolicyEntry[], actor: string, source: string, note?: string): PublishResult {
    const result = this.apply(entries); // validates first: a rejected set is never stored
    this.store.save(result.setVersion, entries, { source, ...(note !== undefined ? { note } : {}) });
    this.store.activate(result.setVersion, actor);
    return result;
  }

  private apply(entries: PolicyEntry[]): PublishResult {
    const r = this.pdp.replacePolicies(entries);
    return { setVersion: policySetVersion(entries), liveVersion: r.version, policyCount: r.policyCount };
  }
}
