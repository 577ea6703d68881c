// Shared types passed between planes by the gateway pipeline. Planes import these, never each other.

export type PrincipalKind = 'user' | 'service' | 'agent';

export type AuthnMethod =
  | 'api_key'
  | 'oidc'
  | 'saml'
  | 'mtls'
  | 'http_signature'
  | 'jit_token'
  | 'bootstrap';

export interface Authentication {
  method: AuthnMethod;
  /** API key id, JWT jti, client id or certificate fingerprint: what credential was used. */
  credentialId: string;
  /** Epoch ms of the last MFA, when the credential carries it (OIDC `auth_time` + `amr`). */
  mfaAt?: number;
  /** SHA-256 fingerprint of a verified client certificate (mTLS), hex. */
  certFingerprint?: string;
  /** OIDC issuer, for tokens. */
  issuer?: string;
  /** Epoch ms when the presented credential expires, when it carries an expiry. */
  expiresAt?: number;
  /** RFC 9449: the JWK thumbprint (`cnf.jkt`) of the key a sender-constrained token is bound to. */
  boundKey?: string;
}

/** What a credential is allowed to do, before policy: the key's scope, a token's narrowing. */
export interface Scope {
  /** Model ids; `*` means any. */
  models: string[];
  /** Actions such as `chat`, `complete`, `embed`, `listModels`. `*` means any. */
  actions: string[];
  /** Tools the credential may call (a JIT token narrowed to one tool); absent means not narrowed. */
  tools?: string[];
  /** Datasets a training token may read (src/data): a ceiling set when the token is issued; absent means none. */
  datasets?: string[];
}

export interface Principal {
  kind: PrincipalKind;
  id: string;
  tenant: string;
  groups: string[];
  authn: Authentication;
  scope: Scope;
  /** RFC 8693 actor chain: the agent or service acting for this principal, outermost first. */
  actor?: { kind: PrincipalKind; id: string; tenant: string }[];
  /** Optional source CIDR allowlist attached to the principal. */
  sourceCidrs?: string[];
  /** Admin principals may use the admin listener. */
  admin?: boolean;
  /** Per-principal limits overriding the listener defaults. */
  limits?: { requestsPerSecond?: number; burst?: number; concurrency?: number; tokensPerMinute?: number };
}

export type Action =
  | 'chat'
  | 'complete'
  | 'embed'
  | 'listModels'
  | 'callTool'
  | 'readDataset'
  | 'writeDataset'
  | 'train'
  | 'trainOn'
  | 'evaluateOn'
  | 'manageKeys'
  | 'managePolicies'
  | 'promoteModel'
  | 'approve'
  | 'readAudit'
  | 'manageModels'
  | 'manageTools'
  | 'manageDatasets'
  | 'readRegistry'
  | 'callAgent'
  | 'manageAgents'
  | 'exchangeToken'
  | 'createVectorStore'
  | 'readVectorStore'
  | 'writeVectorStore'
  | 'retrieve'
  | 'uploadFile'
  | 'readFile'
  | 'deleteFile';

export interface Resource {
  type: 'Model' | 'Deployment' | 'Tool' | 'AgentSkill' | 'Dataset' | 'Key' | 'Policy' | 'Principal' | 'System' | 'VectorStore' | 'Chunk' | 'Upload';
  id: string;
}

export type FindingCategory = 'pii' | 'secret' | 'injection' | 'classification' | 'output';

export interface Finding {
  category: FindingCategory;
  /** e.g. `email`, `credit_card`, `aws_access_key`, `role_override`. */
  type: string;
  /** Character offsets into the inspected text, end exclusive. */
  start: number;
  end: number;
  confidence: number;
}

/** A configured classification level (src/inspect/classification.ts ClassificationScheme; by default public, internal, confidential, restricted). */
export type Classification = string;

export interface Findings {
  items: Finding[];
  classification: Classification;
  injectionScore: number;
  injectionSignals: string[];
}

/** Obligation attached to a permit, e.g. `redact:pii`, `max_tokens:512`, `route:tier=onprem`. */
export type Obligation = string;

export interface Decision {
  allow: boolean;
  /** Ids of the policies that determined the decision (permits for allow, forbids or none for deny). */
  policyIds: string[];
  /** Content-hash version of the policy set that decided (the published set plus generated per-credential policies). */
  policyVersion: string;
  /**
   * Content-hash version of the published policy set alone, as `warden policies` lists it (no generated
   * key- and token-scope policies, which change with every key or token exchange). Set where a decision must
   * be compared across time: an approval binds to it.
   */
  publishedVersion?: string;
  obligations: Obligation[];
  /** Human-readable reasons (never secrets). */
  reasons: string[];
}

export type AuditDecision = 'allow' | 'deny' | 'error';

/** One ledger entry. Serialized as RFC 8785 canonical JSON. Never holds raw prompts or sensitive values. */
export interface AuditEvent {
  /** ISO 8601 UTC. */
  time: string;
  requestId: string;
  kind: 'inference' | 'tool' | 'control' | 'system';
  principal: { id: string; kind: PrincipalKind | 'anonymous'; tenant: string; authn: AuthnMethod | 'none'; actor?: string[] } | null;
  action: string;
  resource: Resource | null;
  decision: AuditDecision;
  /** Stage that ended the request when it was denied or failed. */
  stage?: string;
  policyIds: string[];
  policyVersion: string | null;
  /** Finding types and counts only. */
  findings: Record<string, number>;
  /**
   * The deployment that served: its artifact digest (pinned/registered deployments) and, for a confidential
   * one, the digest of the attestation evidence that admitted it (the receipt's "output attestation").
   */
  deployment: { id: string; artifactDigest: string | null; evidenceDigest?: string } | null;
  requestDigest: string | null;
  responseDigest: string | null;
  status: number;
  latencyMs: number;
  errorCode?: string;
  /** The precise cause of a refusal for the operator (never sent to the client): `jwt_claim_aud`, `key_revoked`, … */
  reason?: string;
  details?: Record<string, string | number | boolean | null>;
}

/** A placement obligation (`route:tier=onprem`, `route:region=eu`) the route stage must meet. */
export interface RouteRequirement {
  attr: 'tier' | 'region';
  /** The required value; with `oneOf`, the allowed values joined by `|` (for messages). */
  value: string;
  /** Any of these values meets it (the placement table: classification → tiers/regions, tenant residency). */
  oneOf?: readonly string[];
  /** Why it is required, when it comes from the placement table rather than a policy obligation. */
  placement?: string;
}

/**
 * The first placement obligation that `placement` does not meet, or null.
 * Fail closed: an upstream whose placement is unknown does not meet a placement obligation.
 */
export function unmetRequirement(placement: { tier?: string | undefined; region?: string | undefined }, requirements: readonly RouteRequirement[] | undefined): RouteRequirement | null {
  for (const r of requirements ?? []) {
    const have = placement[r.attr];
    if (r.oneOf ? have === undefined || !r.oneOf.includes(have) : have !== r.value) return r;
  }
  return null;
}
