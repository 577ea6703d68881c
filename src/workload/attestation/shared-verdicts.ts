// Attestation verdicts shared by the replicas of one store (store.postgres): one replica at a time challenges a
// deployment and writes the verdict; every replica routes on the stored verdict until it expires. The contract
// the monitor (monitor.ts, shared mode) sees; src/store/attestation-verdicts-postgres.ts implements it.

/** One deployment's current verdict, as every replica reads it. */
export interface SharedVerdict {
  deploymentId: string;
  /** Digest of the reference values the verdict was reached against (a verdict about another reference is ignored). */
  referenceDigest: string;
  trusted: boolean;
  /** sha256 of the evidence behind a trusted verdict (bound into each answer's ledger entry), else null. */
  evidenceDigest: string | null;
  /** The verified measurements of a trusted verdict (for operators), else null. */
  measurements: Record<string, string> | null;
  /** Code and message of the failure behind an untrusted verdict, else null. */
  code: string | null;
  reason: string | null;
  /** Epoch ms of the verification behind a trusted verdict, else null. */
  verifiedAt: number | null;
  /** verifiedAt + trustTtlMs for a trusted verdict (never extended by a replica), else null. */
  expiresAt: number | null;
  /** Epoch ms the challenge behind this verdict started: a peer challenging within the period skips its round. */
  checkedAt: number;
  /** The replica that challenged and recorded it. */
  replica: string;
  /**
   * Counts the writes of this deployment's verdict (the store sets it): a replica holds the highest it has read,
   * so a slow read cannot bring back an older verdict, whatever the replicas' clocks say.
   */
  revision: number;
}

export interface AttestationVerdictStore {
  get(deploymentId: string): Promise<SharedVerdict | null>;
  list(): Promise<SharedVerdict[]>;
  /**
   * Runs `fn` while no other replica runs a round for this deployment, and stores the verdict it returns (null:
   * nothing stored), all in one transaction. `wait: false` (the scheduler's rounds): null at once when another
   * replica holds the deployment. Rejects when the store cannot be reached (nothing is stored then).
   */
  round(deploymentId: string, fn: (current: SharedVerdict | null) => Promise<Omit<SharedVerdict, 'revision'> | null>, o: { wait: boolean }): Promise<{ stored: SharedVerdict | null } | null>;
}

/** What a verdict means now for a replica holding `referenceDigest`: trusted only while unexpired and about that reference. */
export function verdictState(v: SharedVerdict | null, referenceDigest: string, now: number): 'unknown' | 'trusted' | 'untrusted' | 'expired' {
  if (!v || v.referenceDigest !== referenceDigest) return 'unknown';
  if (!v.trusted) return 'untrusted';
  return v.expiresAt !== null && now < v.expiresAt ? 'trusted' : 'expired';
}
