// Response playbooks as data (`monitor.playbooks` in warden.yaml): when a principal's facts (risk, the
// signals in the monitor's window, extraction score) or a deployment's answers (drift) or attestation meet a playbook's
// conditions, its steps run — require step-up, throttle, suspend or revoke the credential in use, revoke every
// Warden token of the principal, quarantine the drifting deployment, notify a webhook. Each step is a ledger
// entry (`playbook.step`) with an id an operator reverts (`playbook.revert`) where the step can be undone in
// place; `dryRun` records what would have run and does nothing. A playbook fires once per subject while its
// conditions hold, and is armed again once they no longer do.
import { randomBytes } from 'node:crypto';
import type { Clock } from '../core/clock.js';
import { Conflict, NotFound, RateLimited, Unauthenticated } from '../core/errors.js';
import { TokenBucket } from '../core/token-bucket.js';
import type { AuthnMethod, Principal } from '../core/types.js';
import { CHALLENGE } from '../http/credentials.js';
import type { DriftEvent } from './drift.js';
import type { Signals, Who } from './monitor.js';
import type { HoldStore, SharedHold, StepStore } from './playbook-state.js';
import { MonitorUnavailable } from './redis-monitor.js';

export type PlaybookStep =
  /** RFC 9470: the principal's next requests need a fresh MFA authentication (after the step fired). */
  | { do: 'stepUp'; maxAgeSec?: number }
  | { do: 'throttle'; requestsPerSecond: number }
  /** The credential in use is refused (401 `credential_suspended`) until an operator reverts the step. */
  | { do: 'suspendCredential' }
  /** The credential in use is revoked for good (an API key or a Warden token and what was exchanged from it). */
  | { do: 'revokeCredential' }
  /** Every Warden token naming the principal is revoked (its sessions end; it must exchange again). */
  | { do: 'revokeTokens' }
  | { do: 'quarantineDeployment' }
  /**
   * The named tool, or (without `tool`) the tool of the call that made the principal cross, is taken out of
   * service for everyone (403 `tool_quarantined` on every path) until an operator reverts the step or releases it.
   */
  | { do: 'quarantineTool'; tool?: string }
  | { do: 'webhook'; url: string };

export interface PlaybookConditions {
  /** The principal's risk (0..1) at least this. */
  risk?: number;
  /** The principal's extraction score (0..1) at least this. */
  extraction?: number;
  /** Counts in the monitor's window at least these. */
  signals?: Partial<Record<'denials' | 'injections' | 'secrets' | 'requests', number>>;
  /** A deployment's answers drifted (optionally only on these features). */
  drift?: boolean | { features: string[] };
  /** A deployment's attestation verdict turned untrusted (missing, stale or wrong evidence; docs/attestation.md). */
  attestation?: boolean;
}

/** A deployment's attestation that just failed, as the workload plane reports it. */
export interface AttestationFailure {
  deployment: string;
  code: string | null;
  reason: string | null;
}

export interface Playbook {
  name: string;
  when: PlaybookConditions;
  steps: PlaybookStep[];
  dryRun?: boolean;
}

/** What the monitor knows of a principal when it has just observed one of its requests. */
export interface PrincipalFacts {
  principal: string;
  who: Who;
  authn: AuthnMethod;
  credentialId: string;
  risk: number;
  signals: Signals;
  extraction: number;
  /** The tool of the observed request, when it was a tool call. */
  tool?: string | null;
}

/** The planes a step acts through; each says whether it was carried out. */
export interface PlaybookEffects {
  revokeCredential(authn: AuthnMethod, credentialId: string): Promise<boolean>;
  revokeTokens(who: Who): Promise<boolean>;
  quarantine(deploymentId: string, reason: string): Promise<boolean>;
  /** The quarantine made (who and when, for a revert to lift exactly it), or null when none was (unknown tool, quarantined already). */
  quarantineTool(name: string, reason: string, by: string): Promise<{ by: string; at: number } | null>;
  /** Lifts the quarantine `made`; false when it is no longer in place (released, or replaced by another). */
  releaseTool(name: string, by: string, made: { by: string; at: number }): Promise<boolean>;
  webhook(url: string, body: unknown): Promise<boolean>;
}

export interface StepRecord {
  id: string;
  playbook: string;
  step: PlaybookStep['do'];
  /** `tenant/kind:id` for a principal, the deployment id for a drift. */
  subject: string;
  who: Who | null;
  dryRun: boolean;
  /** Carried out (false: it could not be, or dry run). */
  done: boolean;
  at: number;
  revertedAt: number | null;
  reversible: boolean;
  detail: Record<string, string | number | boolean | null>;
}

export interface PlaybookOptions {
  playbooks: Playbook[];
  clock: Clock;
  effects: PlaybookEffects;
  /** Every step as it happens (the caller writes the ledger entry; a revert is the operator's own entry). */
  onStep: (r: StepRecord) => void;
  /** Step records kept for listing and reverting, at most. */
  maxRecords?: number;
  /** Where step records outlive the process (a file, or Redis shared by the replicas); revert reads it. */
  steps?: StepStore;
  /** Cluster: where holds are shared by the replicas (each reads a principal's before admitting it). */
  holds?: HoldStore;
  /** A record or hold that could not be written to its store (the step itself was carried out). */
  onStoreError?: (err: unknown, what: string) => void;
}

const PRINCIPAL_STEPS = new Set<PlaybookStep['do']>(['stepUp', 'throttle', 'suspendCredential', 'revokeCredential', 'revokeTokens', 'quarantineTool', 'webhook']);
const DEPLOYMENT_STEPS = new Set<PlaybookStep['do']>(['quarantineDeployment', 'webhook']);
/** Steps whose effect Warden holds itself and can lift; the others are revocations and quarantines for good. */
const REVERSIBLE = new Set<PlaybookStep['do']>(['stepUp', 'throttle', 'suspendCredential', 'quarantineTool']);

/** Refuses a playbook that could never fire, or whose steps do not fit its subject. */
export function validatePlaybooks(playbooks: Playbook[]): void {
  const names = new Set<string>();
  for (const p of playbooks) {
    if (names.has(p.name)) throw new Error(`monitor.playbooks: the name ${p.name} is used twice`);
    names.add(p.name);
    const principalWhen = p.when.risk !== undefined || p.when.extraction !== undefined || p.when.signals !== undefined;
    const deploymentWhen = isDeploymentBook(p);
    if (principalWhen === deploymentWhen) throw new Error(`monitor.playbooks ${p.name}: when needs either deployment conditions (drift, attestation) or principal conditions (risk, extraction, signals), not both and not neither`);
    if (p.when.drift && p.when.attestation) throw new Error(`monitor.playbooks ${p.name}: when names drift and attestation: one event each, write two playbooks`);
    const allowed = deploymentWhen ? DEPLOYMENT_STEPS : PRINCIPAL_STEPS;
    for (const s of p.steps) if (!allowed.has(s.do)) throw new Error(`monitor.playbooks ${p.name}: step ${s.do} does not apply to ${deploymentWhen ? 'a deployment' : 'a principal'}`);
    if (p.steps.length === 0) throw new Error(`monitor.playbooks ${p.name}: no steps`);
  }
}

/** 429 when a throttle's bucket says to wait. */
function throttled(rps: number, wait: number): void {
  if (wait > 0) throw new RateLimited('playbook_throttled', `unusual behaviour: this principal is limited to ${rps} request(s)/s by a response playbook`, wait);
}

const isDeploymentBook = (p: Playbook): boolean => Boolean(p.when.drift) || p.when.attestation === true;

interface Hold {
  stepUpSince?: { at: number; maxAgeSec: number; id: string };
  throttle?: { bucket: TokenBucket; rps: number; id: string };
  suspended: Map<string, string>; // credential id → step id
}

export class PlaybookEngine {
  private readonly principalBooks: Playbook[];
  private readonly driftBooks: Playbook[];
  private readonly attestationBooks: Playbook[];
  /** playbook name + subject → fired (armed again when the conditions no longer hold). */
  private readonly latched = new Set<string>();
  private readonly holds = new Map<string, Hold>();
  private readonly records = new Map<string, StepRecord>();
  private readonly maxRecords: number;

  constructor(private readonly o: PlaybookOptions) {
    validatePlaybooks(o.playbooks);
    this.principalBooks = o.playbooks.filter((p) => !isDeploymentBook(p));
    this.driftBooks = o.playbooks.filter((p) => p.when.drift);
    this.attestationBooks = o.playbooks.filter((p) => p.when.attestation === true);
    this.maxRecords = o.maxRecords ?? 10_000;
  }

  get hasPrincipalPlaybooks(): boolean {
    return this.principalBooks.length > 0;
  }

  /** After each observed request of a principal. Returns when every step that fired has been carried out. */
  async onPrincipal(f: PrincipalFacts): Promise<void> {
    for (const p of this.principalBooks) {
      const key = `${p.name}\u0000${f.principal}`;
      if (!principalMatches(p.when, f)) {
        if (this.latched.delete(key)) await this.o.holds?.unclaim(key).catch((e: unknown) => this.o.onStoreError?.(e, `the playbook latch of ${key}`));
        continue;
      }
      if (this.latched.has(key)) continue;
      this.latched.add(key);
      // Cluster: one replica fires it (a store that does not answer: this replica does, rather than none).
      if (this.o.holds && !(await this.o.holds.claim(key).catch(() => true))) continue;
      for (const s of p.steps) await this.runPrincipalStep(p, s, f);
    }
  }

  async onDrift(e: DriftEvent): Promise<void> {
    for (const p of this.driftBooks) {
      const d = p.when.drift;
      if (typeof d === 'object' && !d.features.includes(e.feature)) continue;
      await this.runDeploymentSteps(p, e.deployment, { model: e.model, feature: e.feature, psi: e.psi }, `output drift on ${e.feature} (PSI ${e.psi})`, { drift: e });
    }
  }

  /** A deployment's attestation turned untrusted: its playbooks run (each time it fails again after recovering). */
  async onAttestationFailure(e: AttestationFailure): Promise<void> {
    for (const p of this.attestationBooks) {
      await this.runDeploymentSteps(p, e.deployment, { code: e.code, reason: e.reason }, `attestation failed (${e.code ?? 'untrusted'})`, { attestation: e });
    }
  }

  private async runDeploymentSteps(p: Playbook, deployment: string, detail: StepRecord['detail'], why: string, event: Record<string, unknown>): Promise<void> {
    for (const s of p.steps) {
      if (p.dryRun) {
        this.record(p, s, deployment, null, false, detail);
        continue;
      }
      const done = s.do === 'quarantineDeployment'
        ? await this.o.effects.quarantine(deployment, `playbook ${p.name}: ${why}`).catch(() => false)
        : s.do === 'webhook'
          ? await this.o.effects.webhook(s.url, { playbook: p.name, deployment, ...event }).catch(() => false)
          : false;
      this.record(p, s, deployment, null, done, detail);
    }
  }

  /**
   * Before a principal's request: a step-up it has not met is 401 insufficient_user_authentication (RFC 9470
   * challenge); a suspended credential 401 credential_suspended; a throttle beyond its allowance 429 (this
   * replica's bucket; with a shared hold store that keeps throttles, `admitThrottle` judges it instead).
   */
  admit(key: string, p: Principal): void {
    const h = this.holds.get(key);
    if (!h) return;
    if (h.suspended.has(p.authn.credentialId)) throw new Unauthenticated('credential_suspended', 'this credential is suspended after unusual behaviour; an operator must review it', CHALLENGE);
    if (h.stepUpSince) {
      const mfa = p.authn.mfaAt;
      const fresh = mfa !== undefined && mfa >= h.stepUpSince.at && this.o.clock.now() - mfa <= h.stepUpSince.maxAgeSec * 1000;
      if (!fresh) {
        throw new Unauthenticated(
          'insufficient_user_authentication',
          'unusual behaviour: authenticate again with multi-factor authentication (an OIDC token with amr mfa issued after this challenge)',
          `Bearer error="insufficient_user_authentication", error_description="step-up required after unusual behaviour", max_age=${h.stepUpSince.maxAgeSec}`,
        );
      }
    }
    if (h.throttle && !this.o.holds?.throttle) throttled(h.throttle.rps, h.throttle.bucket.take(this.o.clock.now()));
  }

  /**
   * Cluster: a throttled principal's request takes its token from the cluster's one bucket (after `syncHolds` and
   * `admit`): 429 beyond the allowance, 503 `monitor_unavailable` when the store cannot tell. Null: no shared throttle.
   */
  admitThrottle(key: string): Promise<void> | null {
    const t = this.holds.get(key)?.throttle;
    const shared = this.o.holds?.throttle;
    if (!t || !shared) return null;
    return shared(key, t.id, t.rps).then(
      (wait) => throttled(t.rps, wait),
      (e: unknown) => {
        throw new MonitorUnavailable(e);
      },
    );
  }



  steps(): StepRecord[] {
    return [...this.records.values()];
  }

  /** Throws unless `id` is a step that can be reverted now (checked before the operator's entry is written). */
  revertable(id: string): StepRecord {
    const r = this.records.get(id);
    if (!r) throw new NotFound('step_not_found', `no playbook step ${id}`);
    if (r.revertedAt !== null) throw new Conflict('step_already_reverted', `step ${id} was already reverted`);
    if (!r.reversible) {
      const how = r.step === 'quarantineDeployment' ? 'register and promote a new deployment' : r.step === 'webhook' ? 'a notification cannot be recalled' : 'issue the principal a new credential';
      throw new Conflict('step_not_reversible', `a ${r.step} step cannot be undone in place: ${how}`);
    }
    return r;
  }

  /**
   * An operator undoes a step (the caller records the decision first). A tool quarantine is lifted in the tool
   * store: only the one the step made (409 `tool_quarantine_changed` when it was released or replaced since).
   */
  async revertStep(id: string): Promise<StepRecord> {
    const r = this.revertable(id);
    if (r.step !== 'quarantineTool') {
      // The holds as every replica has them now (another replica may have set or lifted some since this one read them).
      await this.syncHolds(r.subject);
      const done = this.revert(id);
      await this.share(r.subject);
      return done;
    }
    const made = { by: String(r.detail.quarantinedBy), at: Number(r.detail.quarantinedAt) };
    if (!(await this.o.effects.releaseTool(String(r.detail.tool), `revert ${id}`, made))) {
      throw new Conflict('tool_quarantine_changed', `the tool ${String(r.detail.tool)} is no longer under this step's quarantine (released or quarantined again since); see warden tools show`);
    }
    r.revertedAt = this.o.clock.now();
    this.save(r);
    return r;
  }

  /** An operator undoes a held step (stepUp, throttle, suspendCredential). */
  revert(id: string): StepRecord {
    const r = this.revertable(id);
    if (r.step === 'quarantineTool') throw new Conflict('step_needs_release', 'a quarantineTool step is reverted through revertStep');
    const h = this.holds.get(r.subject);
    if (h) {
      if (r.step === 'stepUp' && h.stepUpSince?.id === id) delete h.stepUpSince;
      if (r.step === 'throttle' && h.throttle?.id === id) delete h.throttle;
      if (r.step === 'suspendCredential') for (const [cred, sid] of h.suspended) if (sid === id) h.suspended.delete(cred);
    }
    r.revertedAt = this.o.clock.now();
    this.save(r);
    void this.share(r.subject);
    return r;
  }

  /** The monitor forgot the principal (an operator's reset): its holds go too, and its playbooks are armed again. */
  forget(key: string): Promise<void> {
    this.holds.delete(key);
    const shared = this.share(key);
    for (const l of this.latched) if (l.endsWith(`\u0000${key}`)) this.latched.delete(l);
    const unclaimed = this.principalBooks.map((p) => this.o.holds?.unclaim(`${p.name}\u0000${key}`).catch((e: unknown) => this.o.onStoreError?.(e, `the playbook latch of ${key}`)));
    return Promise.all([shared, ...unclaimed]).then(() => undefined);
  }

  private async runPrincipalStep(p: Playbook, s: PlaybookStep, f: PrincipalFacts): Promise<void> {
    const detail = { risk: f.risk, extraction: f.extraction, denials: f.signals.denials, injections: f.signals.injections, secrets: f.signals.secrets, requests: f.signals.requests, credential: f.credentialId };
    if (p.dryRun) return void this.record(p, s, f.principal, f.who, false, s.do === 'quarantineTool' ? { ...detail, tool: s.tool ?? f.tool ?? null } : detail);
    const now = this.o.clock.now();
    const hold = () => {
      let h = this.holds.get(f.principal);
      if (!h) this.holds.set(f.principal, (h = { suspended: new Map() }));
      return h;
    };
    switch (s.do) {
      case 'stepUp': {
        const r = this.record(p, s, f.principal, f.who, true, detail);
        hold().stepUpSince = { at: now, maxAgeSec: s.maxAgeSec ?? 300, id: r.id };
        return this.share(f.principal);
      }
      case 'throttle': {
        const r = this.record(p, s, f.principal, f.who, true, { ...detail, requestsPerSecond: s.requestsPerSecond });
        hold().throttle = { bucket: new TokenBucket(s.requestsPerSecond, 1, now), rps: s.requestsPerSecond, id: r.id };
        return this.share(f.principal);
      }
      case 'suspendCredential': {
        const r = this.record(p, s, f.principal, f.who, true, detail);
        hold().suspended.set(f.credentialId, r.id);
        return this.share(f.principal);
      }
      case 'revokeCredential': {
        const done = await this.o.effects.revokeCredential(f.authn, f.credentialId).catch(() => false);
        return void this.record(p, s, f.principal, f.who, done, detail);
      }
      case 'revokeTokens': {
        const done = await this.o.effects.revokeTokens(f.who).catch(() => false);
        return void this.record(p, s, f.principal, f.who, done, detail);
      }
      case 'quarantineTool': {
        const tool = s.tool ?? f.tool ?? null;
        const made = tool === null ? null : await this.o.effects.quarantineTool(tool, `playbook ${p.name}: ${f.principal} risk ${f.risk}`, `playbook:${p.name}`).catch(() => null);
        return void this.record(p, s, f.principal, f.who, made !== null, { ...detail, tool, quarantinedBy: made?.by ?? null, quarantinedAt: made?.at ?? null });
      }
      case 'webhook': {
        const done = await this.o.effects.webhook(s.url, { playbook: p.name, principal: f.principal, risk: f.risk, extraction: f.extraction, signals: f.signals }).catch(() => false);
        return void this.record(p, s, f.principal, f.who, done, detail);
      }
      case 'quarantineDeployment':
        return; // refused at validation for principal playbooks
    }
  }

  private record(p: Playbook, s: PlaybookStep, subject: string, who: Who | null, done: boolean, detail: StepRecord['detail']): StepRecord {
    const r: StepRecord = {
      id: `pbs_${randomBytes(10).toString('hex')}`,
      playbook: p.name,
      step: s.do,
      subject,
      who,
      dryRun: p.dryRun === true,
      done,
      at: this.o.clock.now(),
      revertedAt: null,
      reversible: done && REVERSIBLE.has(s.do),
      detail: { ...detail, ...(s.do === 'webhook' ? { url: s.url } : {}) },
    };
    this.remember(r);
    this.o.onStep(r);
    this.save(r);
    return r;
  }

  private remember(r: StepRecord): void {
    this.records.delete(r.id);
    if (this.records.size >= this.maxRecords) this.records.delete(this.records.keys().next().value!);
    this.records.set(r.id, r);
  }

  /** The record to its store (a revert after a restart, or through another replica, reads it there). */
  private save(r: StepRecord): void {
    this.o.steps?.put(r).catch((e: unknown) => this.o.onStoreError?.(e, `the playbook step ${r.id}`));
  }

  /** The principal's holds to the shared store (every replica reads them before admitting the principal). */
  private async share(key: string): Promise<void> {
    if (!this.o.holds) return;
    const h = this.holds.get(key);
    const shared: SharedHold | null = h
      ? { ...(h.stepUpSince ? { stepUp: h.stepUpSince } : {}), ...(h.throttle ? { throttle: { rps: h.throttle.rps, id: h.throttle.id } } : {}), suspended: [...h.suspended] }
      : null;
    await this.o.holds.put(key, shared).catch((e: unknown) => this.o.onStoreError?.(e, `the playbook holds of ${key}`));
  }

  /**
   * Cluster: takes the principal's holds as the shared store has them (set or lifted by any replica), before its
   * request is admitted. A store that does not answer throws (the caller refuses the request: 503).
   */
  async syncHolds(key: string): Promise<void> {
    if (!this.o.holds) return;
    const s = await this.o.holds.get(key);
    const mine = this.holds.get(key);
    if (!s) {
      this.holds.delete(key);
      return;
    }
    const throttle = s.throttle ? (mine?.throttle?.id === s.throttle.id ? mine.throttle : { bucket: new TokenBucket(s.throttle.rps, 1, this.o.clock.now()), rps: s.throttle.rps, id: s.throttle.id }) : undefined;
    this.holds.set(key, { ...(s.stepUp ? { stepUpSince: s.stepUp } : {}), ...(throttle ? { throttle } : {}), suspended: new Map(s.suspended) });
  }

  /**
   * The step as its store has it (run before a restart or by another replica, or reverted through another replica
   * since this one ran it), before an operator's revert is judged.
   */
  async load(id: string): Promise<void> {
    if (!this.o.steps) return;
    const r = await this.o.steps.get(id);
    if (r) this.remember(r);
  }

  /** Every step, newest last: the store's when there is one (every replica's, and those before a restart). */
  async allSteps(): Promise<StepRecord[]> {
    if (!this.o.steps) return this.steps();
    const stored = await this.o.steps.list(this.maxRecords);
    const byId = new Map(stored.map((r) => [r.id, r]));
    for (const r of this.records.values()) byId.set(r.id, r);
    return [...byId.values()].sort((a, b) => a.at - b.at);
  }
}

function principalMatches(w: PlaybookConditions, f: PrincipalFacts): boolean {
  if (w.risk !== undefined && f.risk < w.risk) return false;
  if (w.extraction !== undefined && f.extraction < w.extraction) return false;
  if (w.signals) for (const [k, v] of Object.entries(w.signals)) if (v !== undefined && f.signals[k as keyof Signals] < v) return false;
  return true;
}
