// Continuous attestation of confidential deployments: challenge with a fresh nonce, verify, trust the
// result for a bounded time, re-challenge on schedule. Trust is withdrawn the moment a challenge fails
// (missing, stale or wrong evidence) or the verdict outlives its TTL, and every verdict change is audited.
import { createHash, randomBytes } from 'node:crypto';
import { canonicalJson } from '../../core/canonical-json.js';
import type { AuditEvent } from '../../core/types.js';
import type { Clock } from '../../core/clock.js';
import { newRequestId } from '../../core/ids.js';
import { AttestationConfigurationInvalid, AttestationError, AttestationUnavailable } from './errors.js';
import { verifyEvidence } from './verify-evidence.js';
import type { Evidence, ReferenceValues, TrustAnchors, VerifiedEvidence } from './types.js';

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
    });
    if (prev?.lastVerdict === true) this.record(deploymentId, this.entries.get(deploymentId)!, false, 'attestation_reference_changed', 'reference values changed', null, 0);
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
    if (!e || !e.verified) return false;
    if (this.o.clock.now() - e.verified.verifiedAt > this.o.trustTtlMs) {
      this.record(deploymentId, e, false, 'attestation_expired', `verdict older than ${this.o.trustTtlMs} ms and not renewed`, null, 0);
      return false;
    }
    return true;
  }

  /** Digest of the evidence behind a current trusted verdict (bound into each answer's ledger entry), or null. */
  evidenceDigest(deploymentId: string): string | null {
    return this.isTrusted(deploymentId) ? this.entries.get(deploymentId)!.evidenceDigest : null;
  }

  /** The evidence behind a current trusted verdict (for key release), or null. */
  current(deploymentId: string): VerifiedEvidence | null {
    return this.isTrusted(deploymentId) ? this.entries.get(deploymentId)!.verified : null;
  }

  status(deploymentId: string): AttestationStatus {
    const trusted = this.isTrusted(deploymentId);
    const e = this.entries.get(deploymentId);
    return { trusted, verifiedAt: e?.verified?.verifiedAt ?? null, lastError: e?.lastError ?? (e ? null : 'attestation_unregistered'), lastMessage: e?.lastMessage ?? null };
  }

  /** Challenges now. Never throws: a failure withdraws trust and is recorded. Concurrent calls share one challenge. */
  challenge(deploymentId: string): Promise<VerifiedEvidence | null> {
    const e = this.entries.get(deploymentId);
    if (!e) return Promise.resolve(null);
    if (e.inFlight) return e.inFlight;
    const p = this.runChallenge(deploymentId, e).finally(() => {
      if (e.inFlight === p) e.inFlight = null;
    });
    e.inFlight = p;
    return p;
  }

  /** One scheduler round: expire old verdicts and re-challenge every deployment. */
  async tick(): Promise<void> {
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

  private async runChallenge(deploymentId: string, e: Entry): Promise<VerifiedEvidence | null> {
    const generation = e.generation;
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
    const current = this.entries.get(deploymentId);
    // Superseded (re-registered or unregistered meanwhile): this result is about a reference no longer in force.
    if (current !== e || e.generation !== generation) return null;
    const latencyMs = this.o.clock.now() - started;
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
    const event: AuditEvent = {
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
        evidenceType: e.reference.type,
        previous: e.lastVerdict === null ? 'unknown' : e.lastVerdict ? 'trusted' : 'untrusted',
        verdict: trusted ? 'trusted' : 'untrusted',
        reason: message,
        referenceDigest: verified?.referenceDigest ?? null,
      },
    };
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
}

/** sha256 over the evidence as received (byte fields as base64 inside canonical JSON). */
function evidenceDigest(evidence: Evidence): string {
  const text = canonicalJson(JSON.parse(JSON.stringify(evidence, (_k, v: unknown) => (v instanceof Uint8Array ? Buffer.from(v).toString('base64') : v))) as unknown);
  return 'sha256:' + createHash('sha256').update(text).digest('hex');
}
