// The contract between the policy plane's admin (publish, roll back, versions) and its storage: every set
// that was ever published (by content-hash version) and the history of which version was live when. SQLite
// implements it for the embedded default, PostgreSQL for replicas that share one control plane; one
// contract suite (test/store/policy-contract.test.ts) runs against both. Plain records only: parsing and
// validation belong to src/policy, which re-checks the version hash when it loads a stored set.

export interface StoredPolicy {
  id: string;
  text: string;
  source: string;
}

export interface PolicySetSummary {
  version: string;
  createdAt: number;
  source: string;
  note: string | null;
  policyCount: number;
}

export interface PolicySetRecord extends PolicySetSummary {
  policies: StoredPolicy[];
}

export interface PolicyActivation {
  version: string;
  activatedAt: number;
  actor: string;
}

export interface PolicyStore {
  /** Records a set; a version already stored is left as it is (same hash, same content). True when new. */
  save(version: string, policies: readonly StoredPolicy[], meta: { source: string; note?: string }): Promise<boolean>;
  get(version: string): Promise<PolicySetRecord | null>;
  /** Every stored set, oldest first. */
  list(): Promise<PolicySetSummary[]>;
  /** Marks a stored version live (appends to the history); NotFound `policy_version_not_found` when not stored. */
  activate(version: string, actor: string): Promise<void>;
  /** The most recently activated set, or null when none was ever activated. */
  active(): Promise<PolicySetRecord | null>;
  history(): Promise<PolicyActivation[]>;
  /**
   * The shadow candidate every replica evaluates beside the live set (a stored version), or null for none. Set by
   * `setShadow` (the set itself is saved first with `save`); cleared when it is stopped or promoted.
   */
  shadow(): Promise<string | null>;
  /** NotFound `policy_version_not_found` when `version` is not stored. */
  setShadow(version: string | null, actor: string): Promise<void>;
}
