// Continuous attestation of confidential deployments: challenge with a fresh nonce, verify, trust the
// result for a bounded time, re-challenge on schedule. Trust is withdrawn the moment a challenge fails
// (missing, stale or wrong evidence) or the verdict outlives its TTL, and every verdict change is audited.
// Shared mode (replicas on one store, `shared`): one replica at a time challenges a deployment and stores the
// verdict (shared-verdicts.ts); every replica routes on the stored verdict until its expiry, which no replica
// extends; the replica that stored a changed verdict is the one that audits it (naming itself).
import { createHash, randomBytes } from 'node:crypto';
import { canonicalJson } from '../../core/canonical-json.js';
import type { AuditEvent } from '../../core/types.js';
import type { Clock } from '../../core/clock.js';
import { newRequestId } from '../../core/ids.js';
import { AttestationConfigurationInvalid, AttestationError, AttestationUnavailable } from './errors.js';
import { verifyEvidence } from './verify-evidence.js';
import type { Evidence, ReferenceValues, TrustAnchors, VerifiedEvidence } from './types.js';
import { verdictState, type AttestationVerdictStore, type SharedVerdict } from './shared-verdicts.js';
import { referenceDigest } from './verified.js';

export const CHALLENGE_NONCE_BYTES = 32;

export interface AttestationMonitorOptions {
  /** Asks the deployment for evidence answering `nonce` (e.g. an HTTP call to its attestation endpoint). */
  fetchEvidence(deploymentId: string, nonce: Uint8Array): Promise<Evidence>;
  trust: TrustAnchors;
  clock: Clock;
  /** Receives one event per verdict change (first verdict included). */
  audit(event: AuditEvent): void;
  /** A successful verdict is trusted for this long after verification. */
  trustTtlMs: number;
  /** The scheduler re-challenges every deployment this often; must be shorter than trustTtlMs. */
  reverifyEveryMs: number;
  /** Evidence older than this (by its own timestamp) is stale. */
  maxEvidenceAgeMs: number;
  /** A deployment that does not answer within this is treated as having no evidence. */
  fetchTimeoutMs: number;
  /** Replicas sharing one store: verdicts are challenged by one replica at a time and read by all. */
  shared?: SharedAttestationOptions;
}

export interface SharedAttestationOptions {
  store: AttestationVerdictStore;
  /** Names this replica in the stored verdict and in the `attest` entries it writes. */
  replica: string;
  /** Tells the other replicas to re-read a deployment's verdict. */
  announce(deploymentId: string): Promise<void>;
  /** A round skipped or a verdict not re-read (the store unreachable): what is held lapses at its expiry. */
  onError(err: unknown, what: string, deploymentId: string | null): void;
}

export interface AttestationStatus {
  trusted: boolean;
  verifiedAt: number | null;
  /** Code of the failure that withdrew trust, e.g. attestation_nonce_mismatch, attestation_expired. */
  lastError: string | null;
  lastMessage: string | null;
}

interface Entry {
  reference: ReferenceValues;
  verified: VerifiedEvidence | null;
  lastError: string | null;
  lastMessage: string | null;
  /** null until the first verdict, so the first one is audited too. */
  lastVerdict: boolean | null;
  generation: number;
  /** sha256 of the evidence behind `verified` (what an answer's ledger entry binds). */
  evidenceDigest: string | null;
  inFlight: Promise<VerifiedEvidence | null> | null;
  /** Shared mode: digest of `reference` (a stored verdict about another reference is not this one's). */
  referenceDigest: string;
  /** Shared mode: the stored verdict as last read. */
  shared: SharedVerdict | null;
}

interface Attempt {
  verified: VerifiedEvidence | null;
  failure: AttestationError | null;
  digest: string | null;
  started: number;
  latencyMs: number;
}

export class AttestationMonitor {
  private readonly entries = new Map<string, Entry>();
  private timer: ReturnType<typeof setInterval> | null = null;

  constructor(private readonly o: AttestationMonitorOptions) {
    for (const k of ['trustTtlMs', 'reverifyEveryMs', 'maxEvidenceAgeMs', 'fetchTimeoutMs'] as const) {
      if (!Number.isFinite(o[k]) || o[k] <= 0) throw new AttestationConfigurationInvalid(`attestation monitor: ${k} must be a positive number`);
    }
    if (o.reverifyEveryMs >= o.trustTtlMs)
      throw new AttestationConfigurationInvalid('attestation monitor: reverifyEveryMs must be shorter than trustTtlMs, or trust lapses between checks');
  }

  register(deploymentId: string, reference: ReferenceValues): void {
    const prev = this.entries.get(deploymentId);
    // A new reference invalidates any verdict reached against the old one.
    this.entries.set(deploymentId, {
      reference,
      verified: null,
      lastError: null,
      lastMessage: null,
      lastVerdict: prev?.lastVerdict ?? null,
      generation: (prev?.generation ?? 0) + 1,
      evidenceDigest: null,
      inFlight: null,
      referenceDigest: referenceDigest(reference),
      shared: prev?.shared ?? null,
    });
    // Shared mode: a stored verdict about the old reference no longer counts here (verdictState); the next round records the change.
    if (prev?.lastVerdict === true && !this.o.shared) this.record(deploymentId, this.entries.get(deploymentId)!, false, 'attestation_reference_changed', 'reference values changed', null, 0);
  }

  unregister(deploymentId: string): void {
    this.entries.delete(deploymentId);
  }

  deployments(): string[] {
    return [...this.entries.keys()];
  }

  /** True only while the last challenge succeeded and its verdict is younger than trustTtlMs. */
  isTrusted(deploymentId: string): boolean {
    const e = this.entries.get(deploymentId);
    if (this.o.shared) return !!e && verdictState(e.shared, e.referenceDigest, this.o.clock.now()) === 'trusted';
    if (!e || !e.verified) return false;
    if (this.o.clock.now() - e.verified.verifiedAt > this.o.trustTtlMs) {
      this.record(deploymentId, e, false, 'attestation_expired', `verdict older than ${this.o.trustTtlMs} ms and not renewed`, null, 0);
      return false;
    }
    return true;
  }

  /** Digest of the evidence behind a current trusted verdict (bound into each answer's ledger entry), or null. */
  evidenceDigest(deploymentId: string): string | null {
    if (!this.isTrusted(deploymentId)) return null;
    const e = this.entries.get(deploymentId)!;
    return this.o.shared ? e.shared!.evidenceDigest : e.evidenceDigest;
  }

  /**
   * The evidence behind a current trusted verdict, or null. Shared mode: null (a stored verdict carries no
   * verified key; model-key release runs its own challenge and never relies on this).
   */
  current(deploymentId: string): VerifiedEvidence | null {
    return this.isTrusted(deploymentId) && !this.o.shared ? this.entries.get(deploymentId)!.verified : null;
  }

  status(deploymentId: string): AttestationStatus {
    if (this.o.shared) return this.sharedStatus(deploymentId);
    const trusted = this.isTrusted(deploymentId);
    const e = this.entries.get(deploymentId);
    return { trusted, verifiedAt: e?.verified?.verifiedAt ?? null, lastError: e?.lastError ?? (e ? null : 'attestation_unregistered'), lastMessage: e?.lastMessage ?? null };
  }

  /**
   * Challenges now. Never throws: a failure withdraws trust and is recorded. Concurrent calls share one challenge.
   * Shared mode: `force` (the default, an operator's challenge) waits for a peer's round and challenges anyway;
   * otherwise the stored verdict is read and the deployment challenged only if no peer holds it and none
   * challenged it within half a period.
   */
  challenge(deploymentId: string, o: { force?: boolean } = {}): Promise<VerifiedEvidence | null> {
    const e = this.entries.get(deploymentId);
    if (!e) return Promise.resolve(null);
    if (e.inFlight) return e.inFlight;
    const run = this.o.shared ? this.sharedRound(deploymentId, e, o.force ?? true) : this.runChallenge(deploymentId, e);
    const p = run.finally(() => {
      if (e.inFlight === p) e.inFlight = null;
    });
    e.inFlight = p;
    return p;
  }

  /** One scheduler round: expire old verdicts and re-challenge every deployment. */
  async tick(): Promise<void> {
    if (this.o.shared) {
      await this.reloadAll();
      await Promise.all(this.deployments().map((id) => this.challenge(id, { force: false })));
      return;
    }
    await Promise.all(this.deployments().map((id) => (this.isTrusted(id), this.challenge(id))));
  }

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => void this.tick(), this.o.reverifyEveryMs);
    this.timer.unref?.();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  /** Re-reads one deployment's stored verdict (a peer announced it). Shared mode only; a failure is reported, what is held stays until its expiry. */
  async reload(deploymentId: string): Promise<void> {
    const sh = this.o.shared;
    if (!sh || !this.entries.has(deploymentId)) return;
    try {
      const v = await sh.store.get(deploymentId);
      if (v) this.accept(v);
    } catch (err) {
      sh.onError(err, 'attestation verdict not re-read', deploymentId);
    }
  }

  /** Re-reads every stored verdict (announcements may have been missed). Shared mode only. */
  async reloadAll(): Promise<void> {
    const sh = this.o.shared;
    if (!sh) return;
    try {
      for (const v of await sh.store.list()) this.accept(v);
    } catch (err) {
      sh.onError(err, 'attestation verdicts not re-read', null);
    }
  }

  /** Holds a stored verdict unless a later one is already held (a slow read must not undo a newer verdict). */
  private accept(v: SharedVerdict): void {
    const e = this.entries.get(v.deploymentId);
    if (!e || (e.shared && e.shared.revision > v.revision)) return;
    e.shared = v;
  }

  private sharedStatus(deploymentId: string): AttestationStatus {
    const e = this.entries.get(deploymentId);
    if (!e) return { trusted: false, verifiedAt: null, lastError: 'attestation_unregistered', lastMessage: null };
    const v = e.shared;
    switch (verdictState(v, e.referenceDigest, this.o.clock.now())) {
      case 'trusted':
        return { trusted: true, verifiedAt: v!.verifiedAt, lastError: null, lastMessage: null };
      case 'expired':
        return { trusted: false, verifiedAt: v!.verifiedAt, lastError: 'attestation_expired', lastMessage: `verdict expired at ${new Date(v!.expiresAt ?? 0).toISOString()} and not renewed` };
      case 'untrusted':
        return { trusted: false, verifiedAt: null, lastError: v!.code, lastMessage: v!.reason };
      case 'unknown':
        return { trusted: false, verifiedAt: null, lastError: null, lastMessage: null };
    }
  }

  /**
   * One shared round for a deployment, under the store's lock: challenge (unless a peer did within half a
   * period), store the verdict, audit it here if it changed what the stored verdict meant, announce it. The
   * store unreachable: the round is skipped and reported; nothing held is extended.
   */
  private async sharedRound(deploymentId: string, e: Entry, force: boolean): Promise<VerifiedEvidence | null> {
    const sh = this.o.shared!;
    const generation = e.generation;
    let verified: VerifiedEvidence | null = null;
    try {
      if (!force) await this.reload(deploymentId);
      const done = await sh.store.round(deploymentId, async (current) => {
        const now = this.o.clock.now();
        if (!force && current && current.referenceDigest === e.referenceDigest && now - current.checkedAt < this.o.reverifyEveryMs / 2) return null;
        const a = await this.attempt(deploymentId, e);
        if (this.entries.get(deploymentId) !== e || e.generation !== generation) return null;
        const next = this.toShared(deploymentId, e, a, sh.replica);
        const previous = verdictState(current, e.referenceDigest, this.o.clock.now());
        if (previous === 'unknown' || (previous === 'trusted') !== next.trusted) {
          const event = this.event(deploymentId, e.reference.type, previous, next.trusted, next.code, next.reason, a.verified, a.latencyMs, sh.replica);
          try {
            this.o.audit(event);
          } catch (err) {
            // Trust is stored only once the grant is on record; a failure is stored regardless.
            if (next.trusted) throw err;
          }
        }
        verified = a.verified;
        return next;
      }, { wait: force });
      if (done?.stored) {
        this.accept(done.stored);
        await sh.announce(deploymentId).catch((err: unknown) => sh.onError(err, 'attestation verdict not announced', deploymentId));
      }
    } catch (err) {
      sh.onError(err, 'attestation round skipped', deploymentId);
      return null;
    }
    return verified;
  }

  private toShared(deploymentId: string, e: Entry, a: Attempt, replica: string): Omit<SharedVerdict, 'revision'> {
    const base = { deploymentId, referenceDigest: e.referenceDigest, checkedAt: a.started, replica };
    if (a.verified && a.digest)
      return { ...base, trusted: true, evidenceDigest: a.digest, measurements: { ...a.verified.measurements }, code: null, reason: null, verifiedAt: a.verified.verifiedAt, expiresAt: a.verified.verifiedAt + this.o.trustTtlMs };
    const f = a.failure ?? new AttestationUnavailable(`attestation of ${deploymentId} gave no verdict`);
    return { ...base, trusted: false, evidenceDigest: null, measurements: null, code: f.code, reason: f.message, verifiedAt: null, expiresAt: null };
  }

  /** Fetches and verifies one answer to a fresh nonce. Never throws. */
  private async attempt(deploymentId: string, e: Entry): Promise<Attempt> {
    const started = this.o.clock.now();
    const nonce = randomBytes(CHALLENGE_NONCE_BYTES);
    let verified: VerifiedEvidence | null = null;
    let failure: AttestationError | null = null;
    let digest: string | null = null;
    try {
      const evidence = await this.fetchWithTimeout(deploymentId, nonce);
      digest = evidenceDigest(evidence);
      verified = await verifyEvidence(evidence, e.reference, { nonce, now: this.o.clock.now(), maxAgeMs: this.o.maxEvidenceAgeMs, trust: this.o.trust });
    } catch (err) {
      failure = err instanceof AttestationError ? err : new AttestationUnavailable(`attestation of ${deploymentId} failed (${(err as Error)?.message ?? String(err)})`);
    }
    return { verified, failure, digest, started, latencyMs: this.o.clock.now() - started };
  }

  private async runChallenge(deploymentId: string, e: Entry): Promise<VerifiedEvidence | null> {
    const generation = e.generation;
    const { verified, failure, digest, latencyMs } = await this.attempt(deploymentId, e);
    const current = this.entries.get(deploymentId);
    // Superseded (re-registered or unregistered meanwhile): this result is about a reference no longer in force.
    if (current !== e || e.generation !== generation) return null;
    if (failure) {
      e.verified = null;
      this.record(deploymentId, e, false, failure.code, failure.message, null, latencyMs);
      return null;
    }
    // Trust is granted only once the grant is on record; a failing audit sink leaves the deployment untrusted.
    if (!this.record(deploymentId, e, true, null, null, verified, latencyMs)) return null;
    e.verified = verified;
    e.evidenceDigest = digest;
    return verified;
  }

  private async fetchWithTimeout(deploymentId: string, nonce: Uint8Array): Promise<Evidence> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new AttestationUnavailable(`${deploymentId} did not answer the challenge within ${this.o.fetchTimeoutMs} ms`)), this.o.fetchTimeoutMs);
    });
    try {
      const evidence = await Promise.race([this.o.fetchEvidence(deploymentId, nonce), timeout]);
      if (evidence === undefined || evidence === null) throw new AttestationUnavailable(`${deploymentId} returned no evidence`);
      return evidence;
    } catch (err) {
      if (err instanceof AttestationError) throw err;
      throw new AttestationUnavailable(`${deploymentId} evidence could not be fetched (${(err as Error)?.message ?? String(err)})`);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Updates the verdict; audits it when it changes. Returns false if a grant could not be audited. */
  private record(
    deploymentId: string,
    e: Entry,
    trusted: boolean,
    code: string | null,
    message: string | null,
    verified: VerifiedEvidence | null,
    latencyMs: number,
  ): boolean {
    if (!trusted) {
      e.verified = null;
      e.lastError = code;
      e.lastMessage = message;
    }
    const changed = e.lastVerdict !== trusted;
    if (!changed) {
      if (trusted) {
        e.lastError = null;
        e.lastMessage = null;
      }
      return true;
    }
    const previous = e.lastVerdict === null ? 'unknown' : e.lastVerdict ? 'trusted' : 'untrusted';
    const event = this.event(deploymentId, e.reference.type, previous, trusted, code, message, verified, latencyMs, null);
    try {
      this.o.audit(event);
    } catch {
      if (trusted) return false;
    }
    e.lastVerdict = trusted;
    if (trusted) {
      e.lastError = null;
      e.lastMessage = null;
    }
    return true;
  }

  /** The `attest` entry of a verdict change; `replica` names the replica that recorded it (shared mode). */
  private event(
    deploymentId: string,
    evidenceType: string,
    previous: string,
    trusted: boolean,
    code: string | null,
    message: string | null,
    verified: VerifiedEvidence | null,
    latencyMs: number,
    replica: string | null,
  ): AuditEvent {
    return {
      time: new Date(this.o.clock.now()).toISOString(),
      requestId: newRequestId(),
      kind: 'system',
      principal: null,
      action: 'attest',
      resource: { type: 'Deployment', id: deploymentId },
      decision: trusted ? 'allow' : 'deny',
      stage: 'attestation',
      policyIds: [],
      policyVersion: null,
      findings: {},
      deployment: { id: deploymentId, artifactDigest: null },
      requestDigest: null,
      responseDigest: null,
      status: trusted ? 200 : 503,
      latencyMs,
      ...(code ? { errorCode: code } : {}),
      details: {
        evidenceType,
        previous,
        verdict: trusted ? 'trusted' : 'untrusted',
        reason: message,
        referenceDigest: verified?.referenceDigest ?? null,
        ...(replica ? { replica } : {}),
      },
    };
  }
}

/** sha256 over the evidence as received (byte fields as base64 inside canonical JSON). */
function evidenceDigest(evidence: Evidence): string {
  const text = canonicalJson(JSON.parse(JSON.stringify(evidence, (_k, v: unknown) => (v instanceof Uint8Array ? Buffer.from(v).toString('base64') : v))) as unknown);
  return 'sha256:' + createHash('sha256').update(text).digest('hex');
}
