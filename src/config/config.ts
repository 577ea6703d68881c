// The one config loader: YAML file → schema validation (ajv) → defaults → WardenConfig.
// Errors name the file, the line:column, the JSON path and what was expected.
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { resolve, dirname } from 'node:path';
import { Ajv, type ErrorObject } from 'ajv';
import { LineCounter, parseDocument, isMap, isNode, isScalar } from 'yaml';
import { CONFIG_SCHEMA } from './schema.js';
import { BUILT_IN_LEVELS, ClassificationScheme, ClassificationSchemeInvalid, type BuiltInLevel } from '../inspect/classification.js';
import { INJECTION_BLOCK_CUT } from '../core/injection-cuts.js';
import { validatePlaybooks, type Playbook } from '../monitor/playbooks.js';
import type { MtlsMode } from '../network/tls.js';
import { DEFAULT_UPSTREAM_SHARE } from '../network/upstream-share.js';
import type { BudgetLimit, BudgetsConfig } from '../network/budgets.js';
import type { ScanOptions } from '../workload/scan/scan-model.js';

/** A key-encryption key: a key file (mode 0600) or an AES-256 key in a PKCS#11 token. */
export type KekConfig = { file: string } | { pkcs11: { module: string; tokenLabel: string; keyLabel: string }; pinEnv: string } | { vaultTransit: import('../data/crypto/vault-transit-kek.js').VaultTransitConfig };

const kekConfig = (k: KekConfig, baseDir: string): KekConfig =>
  'file' in k
    ? { file: resolve(baseDir, k.file) }
    : 'vaultTransit' in k
      ? { vaultTransit: { ...k.vaultTransit, ...(k.vaultTransit.caFile ? { caFile: resolve(baseDir, k.vaultTransit.caFile) } : {}) } }
      : { pkcs11: { ...k.pkcs11, module: resolve(baseDir, k.pkcs11.module) }, pinEnv: k.pinEnv };

/** A PEM certificate (chain) and its private key, as absolute paths. */
export interface CertPair {
  certFile: string;
  keyFile: string;
}

const certPair = (c: CertPair, baseDir: string): CertPair => ({ certFile: resolve(baseDir, c.certFile), keyFile: resolve(baseDir, c.keyFile) });

export interface ListenerConfig {
  host: string;
  port: number;
  mtls: MtlsMode;
  clientCaFile?: string;
  /**
   * The origin clients use when a load balancer or reverse proxy fronts this listener (https://host[:port]):
   * the issuer and audience of Warden tokens, the `htu` of DPoP proofs, the `@target-uri` of signed
   * requests and the MCP resource are judged against it. Default: https://<host>:<port>.
   */
  publicUrl?: string;
  /**
   * CIDRs of the load balancers / reverse proxies in front of this listener. A request from one of them is
   * attributed to the right-most X-Forwarded-For address that is not a trusted proxy (source CIDR checks,
   * the PDP's sourceIp, per-source limits). Empty (default): X-Forwarded-For is ignored.
   */
  trustedProxies: string[];
  /** The operator's own server certificate (PEM chain) and key (mode 0600); absent: the dev CA issues one. */
  tls?: CertPair;
}

/** upstreams[].endpoints and what goes with them (src/network/upstream-pool.ts). */
export interface UpstreamPoolConfig {
  endpoints: { url: string; weight: number }[];
  /** Further endpoints tried after a connection failure (never after a byte of the request was sent). */
  retries: number;
  healthCheck: { path: string; intervalMs: number; timeoutMs: number; unhealthyAfter: number; healthyAfter: number };
  outlierEjection: { consecutiveFailures: number; ejectMs: number };
}

export interface UpstreamConfig {
  name: string;
  baseUrl: string;
  apiKeyEnv?: string;
  /**
   * The upstream secret, re-read on a cadence from a file a secret manager rewrites or from a command's output
   * (src/network/upstream-credential.ts); exclusive with apiKeyEnv.
   */
  apiKeySource?: ApiKeySourceConfig;
  models: string[];
  connections: number;
  connectTimeoutMs: number;
  headersTimeoutMs: number;
  bodyTimeoutMs: number;
  caFile?: string;
  /** mTLS to the upstream: Warden's client certificate (PEM chain) and key (mode 0600). */
  clientTls?: CertPair;
  /** Where the upstream runs (`onprem`, `private_cloud`, `public_cloud`): policies and route obligations read it. */
  tier?: string;
  region?: string;
  /** Output rules every answer from this upstream must satisfy (e.g. a summarizer: no_sql, no_shell). */
  outputRules?: string[];
  /** Plant a per-deployment canary in system prompts and withhold any answer that leaks it. */
  canary?: boolean;
  /** Several endpoints for this upstream (upstreams[].endpoints): balancing, health checks, ejection, failover. */
  pool?: UpstreamPoolConfig;
  /** A stream that sends no byte for this long is ended with an error event (default: bodyTimeoutMs). */
  streamStallMs?: number;
  /** True for the built-in demo model server. */
  demo?: boolean;
}

export type ApiKeySourceConfig = ({ file: string } | { command: string[] }) & { refreshMs: number };

export interface ScopeConfig {
  models: string[];
  actions: string[];
}

/** Credentials from OIDC, mTLS or signatures get no scope unless the config grants one (least privilege). */
export const NO_SCOPE: ScopeConfig = { models: [], actions: [] };

/** An `oidc.issuers[]` entry as written (src/identity/oidc/config.ts says what each key does). */
export interface OidcIssuerConfig {
  issuer: string;
  audience: string;
  jwksUri?: string;
  discovery?: boolean;
  algorithms?: string[];
  clockSkewSec?: number;
  claims?: { subject?: string; groups?: string; tenant?: { claim: string } | { fixed: string }; kind?: { claim: string } | { fixed: 'user' | 'service' | 'agent' }; mfaAmrValues?: string[] };
  scope?: ScopeConfig;
  /** PEM CA certificate(s) (absolute path) trusted for this issuer's discovery and JWKS fetches only. */
  caFile?: string;
  fetchTimeoutMs?: number;
  jwksCooldownMs?: number;
  jwksMaxAgeMs?: number;
  requireAccessTokenTyp?: boolean;
}

export interface ExtAuthzConfig {
  grpc?: { host: string; port: number };
  http?: { host: string; port: number; pathPrefix: string; trustedProxies: string[] };
  tls?: CertPair;
  clientCaFile: string;
  allowedClients: string[];
}

export interface WardenConfig {
  /** Absolute path of the file the config came from, or null for defaults. */
  source: string | null;
  dataDir: string;
  listeners: { inference: ListenerConfig; admin: ListenerConfig };
  limits: {
    maxBodyBytes: number;
    requestsPerSecond: number;
    burst: number;
    concurrency: number;
    tokensPerMinute: number;
    /** Per source address on /v1/attestation/challenge|key, which answer before any credential is checked. */
    attestationPerSource: { requestsPerSecond: number; burst: number };
    /** Used attestation nonces remembered until they expire (single use); beyond it key requests get 503. */
    attestationUsedNonces: number;
    /**
     * Requests that never had a principal (bad or no credential): each source's budget of them, after which it
     * is refused before any work; and the window over which they are counted into one ledger entry per source.
     */
    unauthenticated: { requestsPerSecond: number; burst: number; accountingWindowMs: number };
    /** Time a client has to send its headers, and its whole request (headers and body). */
    headersTimeoutMs: number;
    requestTimeoutMs: number;
    /** Each principal's share of every upstream's connections (fractions of its `connections`; upstream-share.ts). */
    upstreamShare: { perPrincipal: number; reserve: number };
  };
  upstreams: UpstreamConfig[];
  demoUpstream: { enabled: 'auto' | boolean; port: number };
  /** The web console on the admin listener (src/console): session lifetimes and the OIDC client people sign in with. */
  console: ConsoleConfig;
  oidc: { issuers: OidcIssuerConfig[] };
  httpSignatures: { windowSec: number; clients: { keyId: string; publicKeyFile: string; principal: string; alg?: 'ed25519' | 'ecdsa-p256-sha256'; scope?: ScopeConfig }[] };
  spiffe: { trustDomains: string[]; clientCaFile?: string; tenant: string; defaultKind?: 'user' | 'service' | 'agent'; rules: Record<string, unknown>[]; scope: ScopeConfig };
  log: { level: string; accessLog: boolean; auditToLog: boolean };
  /** SIGTERM/SIGINT: in-flight requests and streams get this long to finish before they are cut (src/app/drain.ts). */
  shutdown: { drainTimeoutMs: number };
  /** Envoy ext_authz servers (src/gateway/ext-authz); absent: none is started. */
  extAuthz?: ExtAuthzConfig;
  /** OpenTelemetry export (src/telemetry/tracing.ts); absent: no traces, and no tracing code is loaded. */
  telemetry: { traces?: { endpoint: string; serviceName: string; sampleRatio: number; batchDelayMs: number }; metrics?: { endpoint: string; serviceName: string; intervalMs: number } };
  /** Model attributes the policies read: which groups may invoke it, owning tenant, provider. */
  models: Record<string, { grantees?: string[]; tenant?: string; provider?: string }>;
  /**
   * Envelope encryption of content at rest (docs/data-encryption.md): the platform KEK (default: the key file
   * `<dataDir>/data-kek.bin`), earlier KEKs kept for unwrapping until `warden data rewrap`, and tenants' own KEKs.
   * `subjectKeys`: the per-subject key store's SQLite file (default `<dataDir>/subject-keys.db`), never in a backup.
   */
  encryption: { kek?: KekConfig; previous: KekConfig[]; tenants: Record<string, KekConfig>; subjectKeys?: string };
  /** Payload retention (sealed per principal, erasable) and the JSON-lines export of ledger entries for a SIEM. */
  ledger: {
    retainPayloads: boolean;
    export: {
      file?: string;
      webhook?: string;
      intervalMs: number;
      batchSize: number;
      syslog?: { host: string; port: number; caFile: string; serverName?: string; clientTls?: CertPair; facility: number; appName: string; hostname?: string; settleMs: number };
      otlpLogs?: { endpoint: string; serviceName: string };
    };
    postgres?: { connectionString: string; prefix?: string };
    /** Serve /audit/v1 entry bundles without credentials (default false: an admin allowed readAudit only). */
    publicEntries: boolean;
    /** C2SP tlog-witnesses that cosign each new checkpoint (docs/ledger.md "Witnesses"). */
    witnesses: { name: string; url: string; key: string }[];
    /** How often the latest checkpoint goes to the witnesses (also refreshes cosignatures of an idle log). */
    witnessIntervalMs: number;
    /** The checkpoint and receipt signing key in a PKCS#11 token (absent: `<dataDir>/ledger-key.pem`). */
    signingKey?: { pkcs11: { module: string; tokenLabel: string; keyLabel: string }; pinEnv: string };
    /**
     * C2SP verifier keys this log was signed with before its current key (a PKCS#11 key replaced by another):
     * checkpoints they signed are still this log's. A key file rotated by Warden records its own history.
     */
    previousKeys: string[];
    /** The ledger key on a cadence (docs/ledger.md, "Rotating the ledger key"); off by default. */
    keyRotation: { enabled: boolean; intervalMs: number; rotateAfterDays: number; overlapDays: number };
  };
  /** Policy set directory; absent: the last published set, or else the shipped starter set. */
  policies: { dir?: string };
  /** Group nesting: group → parent groups. */
  groups: Record<string, string[]>;
  /** The workload plane: registry routing, trusted model signers, attestation (docs/models.md). */
  workload: WorkloadConfig;
  /** The monitor plane: per-principal behaviour → risk score (PDP context) and responses (docs/monitor.md). */
  monitor: MonitorConfig;
  /**
   * Cluster stores (docs/cluster.md). Absent: everything in the data dir (SQLite) and in this process.
   * postgres: principals and API keys, the ledger, and change announcements between replicas.
   * redis: limits, token revocations, DPoP and RFC 9421 replay caches.
   */
  store: { postgres?: { connectionString: string; prefix: string }; redis?: { url: string; prefix: string } };
  /** Token and cost budgets per key, principal and tenant, and the price table they are counted with (docs/budgets.md). */
  budgets: BudgetsConfig;
  /** The A2A gateway (docs/agents.md): chain depth, card re-check interval, limits; defaults in src/agents. */
  agents: { maxDepth?: number; cardRecheckMs?: number; timeoutMs?: number; maxResponseBytes?: number };
  /** Vector stores on the inference listener (docs/retrieval.md): default embedding model, index kind. */
  retrieval: { embeddingModel?: string; index: 'auto' | 'exact-scan'; uploadTtlMs: number };
  /** The classification levels, lowest first, and where the detectors' built-in sensitivities land (src/inspect/classification.ts). */
  classification: { levels: string[]; detectors: Partial<Record<BuiltInLevel, string>> };
  /** Classification → allowed tiers/regions, tenant residency, this Warden's region (src/data/placement.ts). */
  placement: import('../data/placement.js').PlacementConfig;
  /** The data plane (docs/data.md): the OpenLineage export, and how often ended training runs and failed pushes are swept. */
  data: DataConfig;
}

export interface DataConfig {
  /** Lineage events POSTed to an OpenLineage endpoint (src/data/lineage/push.ts); absent: kept in the ledger and registry only. */
  lineage?: { endpoint: string; token?: string; caFile?: string; attempts: number; retryDelayMs: number; timeoutMs: number };
  sweepIntervalMs: number;
  /** `warden data screen --config`: thresholds over the defaults (src/data/screen/thresholds.ts); its flags override them. */
  screen: { thresholds: Partial<import('../data/screen/thresholds.js').ScreenThresholds> };
}

export interface RotationWebhookConfig {
  url: string;
  /** The environment variable holding the HMAC key shared with the receiver (≥ 32 characters). */
  signingSecretEnv: string;
  attempts: number;
  backoffMs: number;
  timeoutMs: number;
  caFile?: string;
}

export interface ToolCredentialKeysConfig {
  enabled: boolean;
  rotateAfterDays: number;
  /** The replaced key stays published this long after the new one signs (≥ 5). */
  overlapMinutes: number;
  /** A new key is published this long before it signs (≥ 5: the JWKS max-age). */
  publishAheadMinutes: number;
}

export interface MonitorConfig {
  enabled: boolean;
  windowMs: number;
  injectionThreshold: number;
  burstPerWindow: number;
  throttleAt: number;
  throttleRequestsPerSecond: number;
  /** null: the monitor never revokes. */
  revokeAt: number | null;
  /** Output drift per deployment (src/monitor/drift.ts). */
  drift: DriftConfig;
  /** Response playbooks (src/monitor/playbooks.ts): conditions → steps, each a ledger entry. */
  playbooks: Playbook[];
  /** Model extraction detection per principal (src/monitor/extraction.ts). */
  extraction: ExtractionConfig;
  /** Per-principal baselines (src/monitor/baselines.ts). */
  baselines: BaselinesConfig;
  /** When the inventory flags a key (src/monitor/inventory.ts). */
  inventory: { unusedAfterDays: number; rotateAfterDays: number };
  /** API keys on a cadence (src/monitor/rotation.ts); off by default. */
  rotation: {
    enabled: boolean; intervalMs: number; rotateAfterDays: number; overlapDays: number; remindDaysBefore: number; disableUnusedAfterDays: number | null; deliverDir: string;
    /** The keys that sign per-call tool credentials (src/tools/credential-keys.ts); off by default (one key for good). */
    toolCredentialKeys: ToolCredentialKeysConfig;
    /** Deliver rotated secrets by a signed webhook instead of the file channel (src/monitor/secret-delivery.ts). */
    webhook: RotationWebhookConfig | null;
  };
  /** The continuous red team (src/monitor/redteam): off while `principal` is null. */
  redteam: RedTeamConfig;
}

export interface RedTeamConfig {
  /** The principal the attacks are sent as (created by the operator; a short-lived key is minted per run). */
  principal: string | null;
  /** 0: on demand only (`warden redteam run`); otherwise a run every this many ms. */
  everyMs: number;
  /** Models attacked (default: every model a configured upstream serves). */
  models: string[];
  /** Attack kinds run (default: all; src/monitor/redteam/attacks.ts). */
  kinds: string[];
  /** Attacks in flight at once (default 1: the monitor's memory of the principal is cleared before each one, so
   *  with more in flight an attack's refusal may be due to its neighbours' risk). */
  concurrency: number;
  /** Where history.jsonl and report.md are kept (relative to the data dir). */
  dir: string;
}

export interface BaselinesConfig {
  enabled: boolean;
  /** Requests before a principal's baseline is trusted. */
  minObservations: number;
  /** How long a deviation counts after the request that showed it. */
  holdMs: number;
  /** An observation's weight halves every this many newer ones. */
  halfLife: number;
  /** Deviation at which a ledger entry `monitor.deviation` is written (once per crossing). */
  reportAt: number;
  /** Cluster stores: how often each replica merges what it learnt into the shared baselines (and reads them again). */
  syncMs: number;
  /** Weight in the risk of a deviation from the principal's peer group and from the models' and tools' baselines (0: off). */
  peerWeight: number;
}

export interface ExtractionConfig {
  enabled: boolean;
  windowMs: number;
  /** Requests in the window below which the prompt signals (diverse, templated, logprobs) stay 0. */
  minRequests: number;
  /** Sampled choices (Σ n) in the window below which the samples signal stays 0. */
  samples: number;
  /** Embedding inputs in the window below which the embeddings signal stays 0. */
  embeddingInputs: number;
  /** Score at which a principal is reported (ledger entry `monitor.extraction`). */
  threshold: number;
  /** How much of the extraction score the PDP's risk carries: risk = 1 − (1 − behaviour)(1 − weight · extraction). */
  riskWeight: number;
}

export interface DriftConfig {
  enabled: boolean;
  /** Answers that make a deployment's baseline (learnt from its first answers, or after an operator's relearn), and the least an approved answer set holds. */
  baselineAnswers: number;
  /** The sliding window of recent answers compared with the baseline. */
  windowAnswers: number;
  /** PSI past which the window has drifted. */
  threshold: number;
  /** `alert`: a ledger entry; `quarantine`: also take the registered deployment out of routing (workload plane). */
  action: 'alert' | 'quarantine';
  /** Input drift per model (what it is asked, same features and thresholds): a `monitor.input_drift` entry, never a quarantine. */
  inputs: boolean;
  /**
   * `auto` (default): the learnt baseline is approved as it completes (the first answers are trusted, so drift is
   * watched from the first day); `operator`: a learnt baseline waits for an operator's approval
   * (POST /admin/v1/monitor/drift/{id}/approve, or an answer set given then) before answers are judged against it.
   */
  approval: 'operator' | 'auto';
  /** How often each replica merges what it learnt into the stored profiles and reads them (ms). */
  syncMs: number;
}

/** workload.scan: the scanner's own limits, minus what is per scan (ignorePaths). */
export type ModelScanLimits = Omit<ScanOptions, 'ignorePaths'>;

export interface WorkloadConfig {
  /** PEM public keys whose model signatures the registry accepts (absolute paths). */
  trustedSigners: string[];
  /** Refuse (403 model_not_registered) models the registry does not know instead of using config upstreams. */
  requireRegistered: boolean;
  /** Response header in which an upstream reports the artifact digest it serves. */
  servedDigestHeader: string;
  /** How often the gateway re-reads the registry (changes made by `warden model` on the data dir). */
  refreshIntervalMs: number;
  requireSecondApprover: boolean;
  /** Refuse to verify an artifact without a CycloneDX SBOM. */
  requireSbom: boolean;
  /** Limits of the model scan the registry runs on verify (unset fields: the scanner's defaults). */
  scan: ModelScanLimits;
  /** How SLSA provenance is judged (and whether it is required); builder keys are PEM files. */
  provenance?: { require: boolean; allowedBuilderIds: string[]; allowedSourcePrefixes?: string[]; builderKeys: string[]; allowUnsigned: boolean; requireDatasets: boolean };
  /** Connection settings for registered deployments' upstreams. */
  upstream: { connections: number; connectTimeoutMs: number; headersTimeoutMs: number; bodyTimeoutMs: number; caFile?: string; clientTls?: CertPair };
  attestation: {
    /** PEM files: AWS Nitro roots; AMD ARK/ASK bundles. */
    nitroRoots: string[];
    amdCerts: string[];
    /** Attestation-token issuers and their JWKS. */
    jwtIssuers: { issuer: string; jwksUri: string }[];
    /** GET <upstream origin><evidencePath>?nonce=<hex> answers with the evidence JSON. */
    evidencePath: string;
    trustTtlMs: number;
    reverifyEveryMs: number;
    maxEvidenceAgeMs: number;
    fetchTimeoutMs: number;
    /**
     * Directory of Intel PCS collateral (TCB Info per FMSPC, TD QE identity, TCB signing chain, PCK and
     * Root CA CRLs) that an operator keeps current; when set, every TDX quote's platform TCB status is
     * evaluated against it (docs/attestation.md "TDX collateral"). Warden never downloads collateral.
     */
    tdxCollateralDir?: string;
  };
}

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

/** What the schema cannot say of playbooks (a subject's steps, unique names), refused at load. */
function checkedPlaybooks(playbooks: Playbook[], source: string | null): Playbook[] {
  try {
    validatePlaybooks(playbooks);
  } catch (e) {
    throw new ConfigError(`${source ?? 'config'}: ${(e as Error).message}`);
  }
  return playbooks;
}

// verbose: each error carries its schema, so an unknown key can be compared with the keys that are allowed there.
const ajv = new Ajv({ allErrors: true, strict: true, allowUnionTypes: true, verbose: true });
const validate = ajv.compile(CONFIG_SCHEMA);

export interface ConsoleConfig {
  enabled: boolean;
  /** A session unused this long ends; none outlives absoluteTimeoutSec from its sign-in. */
  idleTimeoutSec: number;
  absoluteTimeoutSec: number;
  /** OIDC authorization code + PKCE; `issuer` must be one of oidc.issuers (its access tokens are verified there). */
  oidc: { issuer: string; clientId: string; clientSecretEnv?: string; scopes: string[] } | null;
  /** SAML 2.0 SP-initiated sign-in (src/console/saml-client.ts): the IdP, its signing certificate, this SP's entity ID. */
  saml: ConsoleSamlConfig | null;
}

export interface ConsoleSamlConfig {
  entryPoint: string;
  idpIssuer: string;
  idpCertFile: string;
  spEntityId: string;
  /** The IdP's single logout URL (HTTP-Redirect binding); absent: signing out ends the Warden session only. */
  logoutUrl?: string;
  /** The attribute that names the Warden principal; absent: the NameID. */
  principalAttribute?: string;
  mfaAuthnContexts: string[];
  clockSkewSec: number;
}

type RawConfig = {
  dataDir?: string;
  encryption?: { kek?: KekConfig; previous?: KekConfig[]; tenants?: Record<string, KekConfig>; subjectKeys?: string };
  listeners?: { inference?: Partial<ListenerConfig>; admin?: Partial<ListenerConfig> };
  limits?: Partial<Omit<WardenConfig['limits'], 'attestationPerSource' | 'unauthenticated' | 'upstreamShare'>> & { attestationPerSource?: Partial<WardenConfig['limits']['attestationPerSource']>; unauthenticated?: Partial<WardenConfig['limits']['unauthenticated']>; upstreamShare?: Partial<WardenConfig['limits']['upstreamShare']> };
  upstreams?: (Partial<Omit<UpstreamConfig, 'pool' | 'apiKeySource'>> & { apiKeySource?: { file?: string; command?: string[]; refreshMs?: number } } & { endpoints?: { url: string; weight?: number }[]; retries?: number; healthCheck?: Partial<UpstreamPoolConfig['healthCheck']>; outlierEjection?: Partial<UpstreamPoolConfig['outlierEjection']> })[];
  demoUpstream?: Partial<WardenConfig['demoUpstream']>;
  console?: Partial<Omit<ConsoleConfig, 'oidc' | 'saml'>> & { oidc?: Omit<NonNullable<ConsoleConfig['oidc']>, 'scopes'> & { scopes?: string[] }; saml?: Omit<ConsoleSamlConfig, 'mfaAuthnContexts' | 'clockSkewSec'> & Partial<Pick<ConsoleSamlConfig, 'mfaAuthnContexts' | 'clockSkewSec'>> };
  oidc?: { issuers?: OidcIssuerConfig[] };
  httpSignatures?: Partial<WardenConfig['httpSignatures']>;
  spiffe?: Partial<WardenConfig['spiffe']>;
  log?: Partial<WardenConfig['log']>;
  shutdown?: Partial<WardenConfig['shutdown']>;
  extAuthz?: { grpc?: { host?: string; port: number }; http?: { host?: string; port: number; pathPrefix?: string; trustedProxies?: string[] }; tls?: CertPair; clientCaFile: string; allowedClients?: string[] };
  telemetry?: { traces?: { endpoint: string; serviceName?: string; sampleRatio?: number; batchDelayMs?: number }; metrics?: { endpoint: string; serviceName?: string; intervalMs?: number } };
  models?: WardenConfig['models'];
  policies?: { dir?: string };
  groups?: Record<string, string[]>;
  workload?: Partial<Omit<WardenConfig['workload'], 'upstream' | 'attestation' | 'provenance'>> & {
    upstream?: Partial<WorkloadConfig['upstream']>;
    attestation?: Partial<WorkloadConfig['attestation']>;
    provenance?: Partial<NonNullable<WorkloadConfig['provenance']>>;
  };
  ledger?: { retainPayloads?: boolean; export?: { file?: string; webhook?: string; intervalMs?: number; batchSize?: number; syslog?: { host: string; port?: number; caFile: string; serverName?: string; clientTls?: CertPair; facility?: number; appName?: string; hostname?: string; settleMs?: number }; otlpLogs?: { endpoint: string; serviceName?: string } }; postgres?: { connectionString: string; prefix?: string }; publicEntries?: boolean; witnesses?: { name: string; url: string; key: string }[]; witnessIntervalMs?: number; signingKey?: { pkcs11: { module: string; tokenLabel: string; keyLabel: string }; pinEnv: string }; previousKeys?: string[]; keyRotation?: Partial<WardenConfig['ledger']['keyRotation']> };
  monitor?: Partial<Omit<MonitorConfig, 'drift' | 'extraction' | 'baselines' | 'inventory' | 'rotation' | 'redteam'>> & { redteam?: Partial<RedTeamConfig>; drift?: Partial<DriftConfig>; extraction?: Partial<ExtractionConfig>; baselines?: Partial<BaselinesConfig>; inventory?: Partial<MonitorConfig['inventory']>; rotation?: Partial<Omit<MonitorConfig['rotation'], 'toolCredentialKeys' | 'webhook'>> & { toolCredentialKeys?: Partial<ToolCredentialKeysConfig>; webhook?: Partial<RotationWebhookConfig> | null } };
  agents?: WardenConfig['agents'];
  retrieval?: Partial<WardenConfig['retrieval']>;
  classification?: { levels?: string[]; detectors?: Partial<Record<BuiltInLevel, string>> };
  placement?: Partial<WardenConfig['placement']>;
  data?: { lineage?: { endpoint: string; token?: string; tokenEnv?: string; caFile?: string; attempts?: number; retryDelayMs?: number; timeoutMs?: number }; sweepIntervalMs?: number; screen?: { thresholds?: DataConfig['screen']['thresholds'] } };
  budgets?: { limits?: { scope: BudgetLimit['scope']; id: string; window: BudgetLimit['window']; tokens?: number; cost?: number }[]; prices?: BudgetsConfig['prices']; defaultMaxTokens?: number };
  store?: {
    postgres?: { connectionString?: string; connectionStringEnv?: string; prefix?: string };
    redis?: { url?: string; urlEnv?: string; prefix?: string };
  };
};

function poolDefaults(u: NonNullable<RawConfig['upstreams']>[number]): UpstreamPoolConfig {
  const eps = (u.endpoints ?? []).map((e) => ({ url: e.url.replace(/\/+$/, ''), weight: e.weight ?? 1 }));
  const hc = u.healthCheck;
  return {
    endpoints: eps,
    retries: u.retries ?? eps.length - 1,
    healthCheck: { path: hc?.path ?? '/models', intervalMs: hc?.intervalMs ?? 5_000, timeoutMs: hc?.timeoutMs ?? 2_000, unhealthyAfter: hc?.unhealthyAfter ?? 2, healthyAfter: hc?.healthyAfter ?? 2 },
    outlierEjection: { consecutiveFailures: u.outlierEjection?.consecutiveFailures ?? 3, ejectMs: u.outlierEjection?.ejectMs ?? 30_000 },
  };
}

/** A connection string given inline or (for secrets) named by an environment variable that must be set. */
function secretOrEnv(where: string, inline: string | undefined, envName: string | undefined, source: string | null, names: [string, string]): string {
  if ((inline === undefined) === (envName === undefined)) throw new ConfigError(`${source ?? 'config'}: ${where}: give exactly one of ${names[0]} and ${names[1]}`);
  if (inline !== undefined) return inline;
  const v = envName ? process.env[envName] : undefined;
  if (!v) throw new ConfigError(`${source ?? 'config'}: ${where}: environment variable ${envName} is not set`);
  return v;
}

function storeDefaults(raw: RawConfig['store'], source: string | null): WardenConfig['store'] {
  const pg = raw?.postgres;
  const redis = raw?.redis;
  return {
    ...(pg ? { postgres: { connectionString: secretOrEnv('store.postgres', pg.connectionString, pg.connectionStringEnv, source, ['connectionString', 'connectionStringEnv']), prefix: pg.prefix ?? 'warden_' } } : {}),
    ...(redis ? { redis: { url: secretOrEnv('store.redis', redis.url, redis.urlEnv, source, ['url', 'urlEnv']), prefix: redis.prefix ?? 'warden:' } } : {}),
  };
}

/** Optimal string alignment distance (Levenshtein plus adjacent transpositions: `caFlie` is one edit from `caFile`). */
function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i]![j] = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d[i]![j] = Math.min(d[i]![j]!, d[i - 2]![j - 2]! + 1);
    }
  }
  return d[a.length]![b.length]!;
}

/** The known key a misspelt one was most likely meant to be (case ignored; at most 2 edits, fewer for short keys). */
export function closestKey(key: string, known: string[]): string | null {
  let best: { name: string; distance: number } | null = null;
  for (const name of known) {
    const distance = editDistance(key.toLowerCase(), name.toLowerCase());
    if (distance <= Math.min(2, Math.floor(name.length / 3)) && (!best || distance < best.distance)) best = { name, distance };
  }
  return best?.name ?? null;
}

function describe(e: ErrorObject): string {
  switch (e.keyword) {
    case 'additionalProperties': {
      const key = (e.params as { additionalProperty: string }).additionalProperty;
      const known = Object.keys((e.parentSchema as { properties?: Record<string, unknown> } | undefined)?.properties ?? {});
      const guess = closestKey(key, known);
      return `unknown key ${JSON.stringify(key)}${guess ? ` (did you mean ${JSON.stringify(guess)}?)` : ''}`;
    }
    case 'required':
      return `missing required key ${JSON.stringify((e.params as { missingProperty: string }).missingProperty)}`;
    case 'enum':
      return `expected one of ${(e.params as { allowedValues: unknown[] }).allowedValues.map((v) => JSON.stringify(v)).join(', ')}`;
    case 'type':
      return `expected ${(e.params as { type: string }).type}`;
    case 'pattern':
      return `expected a value matching ${(e.params as { pattern: string }).pattern}`;
    default:
      return `expected a value that ${e.message ?? 'is valid'}`;
  }
}

/** Applies defaults to a raw (already validated) config object. */
/**
 * The classification scheme the config describes (src/inspect/classification.ts), and every placement class one of
 * its levels: the gateway builds its scheme here, and loading a config checks it the same way (ConfigError).
 */
export function classificationSchemeOf(cfg: Pick<WardenConfig, 'classification' | 'placement'>, source: string | null = null): ClassificationScheme {
  let scheme: ClassificationScheme;
  try {
    scheme = new ClassificationScheme(cfg.classification.levels, cfg.classification.detectors);
  } catch (e) {
    if (!(e instanceof ClassificationSchemeInvalid)) throw e;
    throw new ConfigError(`${source ?? 'config'}: classification.${e.message}`);
  }
  for (const c of Object.keys(cfg.placement.classes)) {
    if (!scheme.has(c)) throw new ConfigError(`${source ?? 'config'}: placement.classes.${c}: ${JSON.stringify(c)} is not a classification level (${scheme.levels.join(', ')})`);
  }
  return scheme;
}

export function withDefaults(raw: RawConfig, source: string | null, baseDir = process.cwd()): WardenConfig {
  const listener = (l: Partial<ListenerConfig> | undefined, port: number): ListenerConfig => ({
    host: l?.host ?? '127.0.0.1',
    port: l?.port ?? port,
    mtls: l?.mtls ?? 'off',
    ...(l?.clientCaFile ? { clientCaFile: resolve(baseDir, l.clientCaFile) } : {}),
    ...(l?.publicUrl ? { publicUrl: new URL(l.publicUrl).origin } : {}),
    trustedProxies: l?.trustedProxies ?? [],
    ...(l?.tls ? { tls: certPair(l.tls, baseDir) } : {}),
  });
  return {
    source,
    dataDir: resolve(baseDir, raw.dataDir ?? './.warden'),
    listeners: { inference: listener(raw.listeners?.inference, 8443), admin: listener(raw.listeners?.admin, 9443) },
    limits: {
      maxBodyBytes: raw.limits?.maxBodyBytes ?? 1024 * 1024,
      requestsPerSecond: raw.limits?.requestsPerSecond ?? 100,
      burst: raw.limits?.burst ?? 200,
      concurrency: raw.limits?.concurrency ?? 64,
      tokensPerMinute: raw.limits?.tokensPerMinute ?? 1_000_000,
      // An enclave asks for a challenge and then its key: a few requests at start-up and on key rotation.
      attestationPerSource: { requestsPerSecond: raw.limits?.attestationPerSource?.requestsPerSecond ?? 2, burst: raw.limits?.attestationPerSource?.burst ?? 20 },
      attestationUsedNonces: raw.limits?.attestationUsedNonces ?? 100_000,
      unauthenticated: {
        requestsPerSecond: raw.limits?.unauthenticated?.requestsPerSecond ?? 2,
        burst: raw.limits?.unauthenticated?.burst ?? 30,
        accountingWindowMs: raw.limits?.unauthenticated?.accountingWindowMs ?? 10_000,
      },
      headersTimeoutMs: raw.limits?.headersTimeoutMs ?? 10_000,
      requestTimeoutMs: raw.limits?.requestTimeoutMs ?? 30_000,
      // Half a pool per principal, an eighth kept for principals with nothing in flight (docs/models.md).
      upstreamShare: { perPrincipal: raw.limits?.upstreamShare?.perPrincipal ?? DEFAULT_UPSTREAM_SHARE.perPrincipal, reserve: raw.limits?.upstreamShare?.reserve ?? DEFAULT_UPSTREAM_SHARE.reserve },
    },
    upstreams: (raw.upstreams ?? []).map((u) => ({
      name: u.name!,
      // With endpoints, baseUrl names the first (what single-endpoint readers such as the attestation fetch use).
      baseUrl: (u.baseUrl ?? u.endpoints?.[0]?.url ?? '').replace(/\/+$/, ''),
      ...(u.endpoints ? { pool: poolDefaults(u) } : {}),
      ...(u.streamStallMs !== undefined ? { streamStallMs: u.streamStallMs } : {}),
      models: u.models!,
      connections: u.connections ?? 128,
      connectTimeoutMs: u.connectTimeoutMs ?? 5_000,
      headersTimeoutMs: u.headersTimeoutMs ?? 60_000,
      bodyTimeoutMs: u.bodyTimeoutMs ?? 300_000,
      ...(u.apiKeyEnv ? { apiKeyEnv: u.apiKeyEnv } : {}),
      ...(u.apiKeySource ? { apiKeySource: { ...(u.apiKeySource.file !== undefined ? { file: resolve(baseDir, u.apiKeySource.file) } : { command: u.apiKeySource.command! }), refreshMs: u.apiKeySource.refreshMs ?? 300_000 } } : {}),
      ...(u.caFile ? { caFile: resolve(baseDir, u.caFile) } : {}),
      ...(u.clientTls ? { clientTls: certPair(u.clientTls, baseDir) } : {}),
      ...(u.tier ? { tier: u.tier } : {}),
      ...(u.region ? { region: u.region } : {}),
      ...(u.outputRules ? { outputRules: u.outputRules } : {}),
      ...(u.canary !== undefined ? { canary: u.canary } : {}),
    })),
    demoUpstream: { enabled: raw.demoUpstream?.enabled ?? 'auto', port: raw.demoUpstream?.port ?? 0 },
    console: {
      enabled: raw.console?.enabled ?? true,
      idleTimeoutSec: raw.console?.idleTimeoutSec ?? 900,
      absoluteTimeoutSec: raw.console?.absoluteTimeoutSec ?? 8 * 3600,
      oidc: raw.console?.oidc ? { ...raw.console.oidc, scopes: raw.console.oidc.scopes ?? ['openid'] } : null,
      saml: raw.console?.saml ? { ...raw.console.saml, idpCertFile: resolve(baseDir, raw.console.saml.idpCertFile), mfaAuthnContexts: raw.console.saml.mfaAuthnContexts ?? ['https://refeds.org/profile/mfa'], clockSkewSec: raw.console.saml.clockSkewSec ?? 30 } : null,
    },
    shutdown: { drainTimeoutMs: raw.shutdown?.drainTimeoutMs ?? 25_000 },
    ...(raw.extAuthz ? { extAuthz: extAuthzDefaults(raw.extAuthz, baseDir) } : {}),
    telemetry: {
      ...(raw.telemetry?.traces ? { traces: { endpoint: raw.telemetry.traces.endpoint, serviceName: raw.telemetry.traces.serviceName ?? 'warden', sampleRatio: raw.telemetry.traces.sampleRatio ?? 1, batchDelayMs: raw.telemetry.traces.batchDelayMs ?? 2_000 } } : {}),
      ...(raw.telemetry?.metrics ? { metrics: { endpoint: raw.telemetry.metrics.endpoint, serviceName: raw.telemetry.metrics.serviceName ?? 'warden', intervalMs: raw.telemetry.metrics.intervalMs ?? 15_000 } } : {}),
    },
    oidc: { issuers: (raw.oidc?.issuers ?? []).map((i) => ({ ...i, ...(i.caFile ? { caFile: resolve(baseDir, i.caFile) } : {}) })) },
    httpSignatures: {
      windowSec: raw.httpSignatures?.windowSec ?? 300,
      clients: (raw.httpSignatures?.clients ?? []).map((c) => ({ ...c, publicKeyFile: resolve(baseDir, c.publicKeyFile) })),
    },
    spiffe: {
      trustDomains: raw.spiffe?.trustDomains ?? [],
      tenant: raw.spiffe?.tenant ?? 'default',
      rules: raw.spiffe?.rules ?? [],
      scope: raw.spiffe?.scope ?? NO_SCOPE,
      ...(raw.spiffe?.defaultKind ? { defaultKind: raw.spiffe.defaultKind } : {}),
      ...(raw.spiffe?.clientCaFile ? { clientCaFile: resolve(baseDir, raw.spiffe.clientCaFile) } : {}),
    },
    log: { level: raw.log?.level ?? 'info', accessLog: raw.log?.accessLog ?? true, auditToLog: raw.log?.auditToLog ?? false },
    models: raw.models ?? {},
    encryption: {
      ...(raw.encryption?.kek ? { kek: kekConfig(raw.encryption.kek, baseDir) } : {}),
      previous: (raw.encryption?.previous ?? []).map((k) => kekConfig(k, baseDir)),
      tenants: Object.fromEntries(Object.entries(raw.encryption?.tenants ?? {}).map(([t, k]) => [t, kekConfig(k, baseDir)])),
      ...(raw.encryption?.subjectKeys ? { subjectKeys: resolve(baseDir, raw.encryption.subjectKeys) } : {}),
    },
    ledger: {
      retainPayloads: raw.ledger?.retainPayloads ?? false,
      publicEntries: raw.ledger?.publicEntries ?? false,
      witnesses: raw.ledger?.witnesses ?? [],
      witnessIntervalMs: raw.ledger?.witnessIntervalMs ?? 60_000,
      previousKeys: raw.ledger?.previousKeys ?? [],
      keyRotation: {
        enabled: raw.ledger?.keyRotation?.enabled ?? false,
        intervalMs: raw.ledger?.keyRotation?.intervalMs ?? 3_600_000,
        rotateAfterDays: raw.ledger?.keyRotation?.rotateAfterDays ?? 365,
        overlapDays: raw.ledger?.keyRotation?.overlapDays ?? 30,
      },
      ...(raw.ledger?.signingKey ? { signingKey: { pkcs11: { ...raw.ledger.signingKey.pkcs11, module: resolve(baseDir, raw.ledger.signingKey.pkcs11.module) }, pinEnv: raw.ledger.signingKey.pinEnv } } : {}),
      ...(raw.ledger?.postgres ? { postgres: raw.ledger.postgres } : {}),
      export: {
        intervalMs: raw.ledger?.export?.intervalMs ?? 5000,
        batchSize: raw.ledger?.export?.batchSize ?? 500,
        ...(raw.ledger?.export?.syslog ? { syslog: syslogDefaults(raw.ledger.export.syslog, baseDir) } : {}),
        ...(raw.ledger?.export?.otlpLogs ? { otlpLogs: { endpoint: raw.ledger.export.otlpLogs.endpoint, serviceName: raw.ledger.export.otlpLogs.serviceName ?? 'warden' } } : {}),
        ...(raw.ledger?.export?.file ? { file: resolve(baseDir, raw.ledger.export.file) } : {}),
        ...(raw.ledger?.export?.webhook ? { webhook: raw.ledger.export.webhook } : {}),
      },
    },
    policies: raw.policies?.dir ? { dir: resolve(baseDir, raw.policies.dir) } : {},
    groups: raw.groups ?? {},
    workload: workloadDefaults(raw.workload, baseDir),
    monitor: {
      enabled: raw.monitor?.enabled ?? true,
      windowMs: raw.monitor?.windowMs ?? 60_000,
      injectionThreshold: raw.monitor?.injectionThreshold ?? INJECTION_BLOCK_CUT,
      burstPerWindow: raw.monitor?.burstPerWindow ?? 3_000,
      throttleAt: raw.monitor?.throttleAt ?? 0.6,
      throttleRequestsPerSecond: raw.monitor?.throttleRequestsPerSecond ?? 1,
      revokeAt: raw.monitor?.revokeAt ?? null,
      drift: {
        enabled: raw.monitor?.drift?.enabled ?? true,
        baselineAnswers: raw.monitor?.drift?.baselineAnswers ?? 200,
        windowAnswers: raw.monitor?.drift?.windowAnswers ?? 50,
        threshold: raw.monitor?.drift?.threshold ?? 0.5,
        action: raw.monitor?.drift?.action ?? 'alert',
        inputs: raw.monitor?.drift?.inputs ?? true,
        approval: raw.monitor?.drift?.approval ?? 'auto',
        syncMs: raw.monitor?.drift?.syncMs ?? 5_000,
      },
      playbooks: checkedPlaybooks(raw.monitor?.playbooks ?? [], source),
      extraction: {
        enabled: raw.monitor?.extraction?.enabled ?? true,
        windowMs: raw.monitor?.extraction?.windowMs ?? 600_000,
        minRequests: raw.monitor?.extraction?.minRequests ?? 200,
        samples: raw.monitor?.extraction?.samples ?? 2_000,
        embeddingInputs: raw.monitor?.extraction?.embeddingInputs ?? 5_000,
        threshold: raw.monitor?.extraction?.threshold ?? 0.65,
        riskWeight: raw.monitor?.extraction?.riskWeight ?? 0.6,
      },
      baselines: {
        enabled: raw.monitor?.baselines?.enabled ?? true,
        minObservations: raw.monitor?.baselines?.minObservations ?? 200,
        holdMs: raw.monitor?.baselines?.holdMs ?? 600_000,
        halfLife: raw.monitor?.baselines?.halfLife ?? 2_000,
        reportAt: raw.monitor?.baselines?.reportAt ?? 0.5,
        syncMs: raw.monitor?.baselines?.syncMs ?? 5_000,
        peerWeight: raw.monitor?.baselines?.peerWeight ?? 0.5,
      },
      inventory: { unusedAfterDays: raw.monitor?.inventory?.unusedAfterDays ?? 30, rotateAfterDays: raw.monitor?.inventory?.rotateAfterDays ?? 90 },
      rotation: {
        enabled: raw.monitor?.rotation?.enabled ?? false,
        intervalMs: raw.monitor?.rotation?.intervalMs ?? 3_600_000,
        rotateAfterDays: raw.monitor?.rotation?.rotateAfterDays ?? 90,
        overlapDays: raw.monitor?.rotation?.overlapDays ?? 7,
        remindDaysBefore: raw.monitor?.rotation?.remindDaysBefore ?? 14,
        disableUnusedAfterDays: raw.monitor?.rotation?.disableUnusedAfterDays ?? null,
        deliverDir: raw.monitor?.rotation?.deliverDir ?? 'rotated-keys',
        toolCredentialKeys: {
          enabled: raw.monitor?.rotation?.toolCredentialKeys?.enabled ?? false,
          rotateAfterDays: raw.monitor?.rotation?.toolCredentialKeys?.rotateAfterDays ?? 30,
          overlapMinutes: raw.monitor?.rotation?.toolCredentialKeys?.overlapMinutes ?? 1440,
          publishAheadMinutes: raw.monitor?.rotation?.toolCredentialKeys?.publishAheadMinutes ?? 10,
        },
        webhook: raw.monitor?.rotation?.webhook
          ? {
              url: raw.monitor.rotation.webhook.url!,
              signingSecretEnv: raw.monitor.rotation.webhook.signingSecretEnv!,
              attempts: raw.monitor.rotation.webhook.attempts ?? 3,
              backoffMs: raw.monitor.rotation.webhook.backoffMs ?? 1_000,
              timeoutMs: raw.monitor.rotation.webhook.timeoutMs ?? 5_000,
              ...(raw.monitor.rotation.webhook.caFile ? { caFile: resolve(baseDir, raw.monitor.rotation.webhook.caFile) } : {}),
            }
          : null,
      },
      redteam: {
        principal: raw.monitor?.redteam?.principal ?? null,
        everyMs: raw.monitor?.redteam?.everyMs ?? 0,
        models: raw.monitor?.redteam?.models ?? [],
        kinds: raw.monitor?.redteam?.kinds ?? [],
        concurrency: raw.monitor?.redteam?.concurrency ?? 1,
        dir: raw.monitor?.redteam?.dir ?? 'redteam',
      },
    },
    store: storeDefaults(raw.store, source),
    budgets: budgetDefaults(raw.budgets, source),
    agents: { ...(raw.agents ?? {}) },
    retrieval: { index: raw.retrieval?.index ?? 'auto', uploadTtlMs: raw.retrieval?.uploadTtlMs ?? 86_400_000, ...(raw.retrieval?.embeddingModel ? { embeddingModel: raw.retrieval.embeddingModel } : {}) },
    classification: { levels: [...(raw.classification?.levels ?? BUILT_IN_LEVELS)], detectors: { ...(raw.classification?.detectors ?? {}) } },
    placement: { classes: { ...(raw.placement?.classes ?? {}) }, tenants: { ...(raw.placement?.tenants ?? {}) }, ...(raw.placement?.region ? { region: raw.placement.region } : {}), ...(raw.placement?.sweepIntervalMs ? { sweepIntervalMs: raw.placement.sweepIntervalMs } : {}) },
    data: dataDefaults(raw.data, source, baseDir),
  };
}

function dataDefaults(d: RawConfig['data'], source: string | null, baseDir: string): DataConfig {
  const l = d?.lineage;
  const token = l && (l.token !== undefined || l.tokenEnv !== undefined) ? secretOrEnv('data.lineage', l.token, l.tokenEnv, source, ['token', 'tokenEnv']) : undefined;
  return {
    sweepIntervalMs: d?.sweepIntervalMs ?? 10_000,
    screen: { thresholds: { ...(d?.screen?.thresholds ?? {}) } },
    ...(l
      ? {
          lineage: {
            endpoint: l.endpoint, attempts: l.attempts ?? 3, retryDelayMs: l.retryDelayMs ?? 500, timeoutMs: l.timeoutMs ?? 10_000,
            ...(token !== undefined ? { token } : {}), ...(l.caFile ? { caFile: resolve(baseDir, l.caFile) } : {}),
          },
        }
      : {}),
  };
}

function budgetDefaults(b: RawConfig['budgets'], source: string | null): BudgetsConfig {
  const seen = new Set<string>();
  const limits = (b?.limits ?? []).map((l, i): BudgetLimit => {
    const where = `${source ?? 'config'}: budgets.limits[${i}]`;
    if (l.tokens === undefined && l.cost === undefined) throw new ConfigError(`${where}: give tokens, cost or both (a budget with neither limits nothing)`);
    const k = `${l.scope}\n${l.id}\n${l.window}`;
    if (seen.has(k)) throw new ConfigError(`${where}: a second ${l.window} budget for ${l.scope} ${l.id}; give tokens and cost in one entry`);
    seen.add(k);
    return { scope: l.scope, id: l.id, window: l.window, tokens: l.tokens ?? null, cost: l.cost ?? null };
  });
  return { limits, prices: b?.prices ?? {}, defaultMaxTokens: b?.defaultMaxTokens ?? 4096 };
}

function workloadDefaults(w: RawConfig['workload'], baseDir: string): WorkloadConfig {
  const a = w?.attestation;
  return {
    trustedSigners: (w?.trustedSigners ?? []).map((f) => resolve(baseDir, f)),
    requireRegistered: w?.requireRegistered ?? false,
    servedDigestHeader: (w?.servedDigestHeader ?? 'x-model-artifact-digest').toLowerCase(),
    refreshIntervalMs: w?.refreshIntervalMs ?? 2_000,
    requireSecondApprover: w?.requireSecondApprover ?? false,
    requireSbom: w?.requireSbom ?? false,
    scan: { ...(w?.scan ?? {}) },
    ...(w?.provenance
      ? {
          provenance: {
            require: w.provenance.require ?? false,
            allowedBuilderIds: w.provenance.allowedBuilderIds ?? [],
            ...(w.provenance.allowedSourcePrefixes ? { allowedSourcePrefixes: w.provenance.allowedSourcePrefixes } : {}),
            builderKeys: (w.provenance.builderKeys ?? []).map((f) => resolve(baseDir, f)),
            allowUnsigned: w.provenance.allowUnsigned ?? false,
            requireDatasets: w.provenance.requireDatasets ?? false,
          },
        }
      : {}),
    upstream: {
      connections: w?.upstream?.connections ?? 128,
      connectTimeoutMs: w?.upstream?.connectTimeoutMs ?? 5_000,
      headersTimeoutMs: w?.upstream?.headersTimeoutMs ?? 60_000,
      bodyTimeoutMs: w?.upstream?.bodyTimeoutMs ?? 300_000,
      ...(w?.upstream?.caFile ? { caFile: resolve(baseDir, w.upstream.caFile) } : {}),
      ...(w?.upstream?.clientTls ? { clientTls: certPair(w.upstream.clientTls, baseDir) } : {}),
    },
    attestation: {
      nitroRoots: (a?.nitroRoots ?? []).map((f) => resolve(baseDir, f)),
      amdCerts: (a?.amdCerts ?? []).map((f) => resolve(baseDir, f)),
      jwtIssuers: a?.jwtIssuers ?? [],
      evidencePath: a?.evidencePath ?? '/.well-known/warden/attestation',
      trustTtlMs: a?.trustTtlMs ?? 300_000,
      reverifyEveryMs: a?.reverifyEveryMs ?? 60_000,
      maxEvidenceAgeMs: a?.maxEvidenceAgeMs ?? 60_000,
      fetchTimeoutMs: a?.fetchTimeoutMs ?? 5_000,
      ...(a?.tdxCollateralDir ? { tdxCollateralDir: resolve(baseDir, a.tdxCollateralDir) } : {}),
    },
  };
}

export function parseConfig(text: string, file: string): WardenConfig {
  const raw = parseRawConfig(text, file);
  const cfg = withDefaults(raw as RawConfig, resolve(file), dirname(resolve(file)));
  return checkConfig(cfg, raw, file);
}

/** The YAML as written (environment variables unread, no defaults), once it passed the schema. */
export function parseRawConfig(text: string, file: string): Record<string, unknown> {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: true });
  if (doc.errors.length > 0) {
    const e = doc.errors[0]!;
    const pos = e.linePos?.[0];
    throw new ConfigError(`${file}${pos ? `:${pos.line}:${pos.col}` : ''}: invalid YAML: ${e.message.split('\n')[0]}`);
  }
  const raw = (doc.toJS() ?? {}) as unknown;
  if (!validate(raw)) {
    const lines = (validate.errors ?? []).map((e) => {
      const segs = e.instancePath.split('/').slice(1).map((s) => (/^\d+$/.test(s) ? Number(s) : s.replace(/~1/g, '/').replace(/~0/g, '~')));
      let path = e.instancePath || '/';
      let node: unknown = doc.getIn(segs, true);
      if (e.keyword === 'additionalProperties') {
        // Point at the unknown key itself (its line, and its path), not at the object holding it.
        const key = (e.params as { additionalProperty: string }).additionalProperty;
        path = `${e.instancePath}/${key.replace(/~/g, '~0').replace(/\//g, '~1')}`;
        const pair = isMap(node) ? node.items.find((p) => (isScalar(p.key) ? p.key.value : p.key) === key) : undefined;
        if (pair && isNode(pair.key)) node = pair.key;
      }
      let where = '';
      if (isNode(node) && node.range) {
        const p = lineCounter.linePos(node.range[0]);
        where = `:${p.line}:${p.col}`;
      }
      return `${file}${where}: ${path}: ${describe(e)}`;
    });
    // anyOf/oneOf branches can report the same mistake more than once.
    throw new ConfigError([...new Set(lines)].join('\n'));
  }
  return raw as Record<string, unknown>;
}

function checkConfig(cfg: WardenConfig, raw: unknown, file: string): WardenConfig {
  classificationSchemeOf(cfg, file);
  for (const l of [cfg.listeners.inference, cfg.listeners.admin]) {
    if (l.mtls !== 'off' && !l.clientCaFile && !cfg.spiffe.clientCaFile) {
      throw new ConfigError(`${file}: mtls is ${l.mtls} but no client CA is configured (listeners.*.clientCaFile or spiffe.clientCaFile)`);
    }
  }
  if (cfg.listeners.inference.mtls !== 'off' && cfg.spiffe.trustDomains.length === 0) {
    throw new ConfigError(`${file}: mtls is enabled but spiffe.trustDomains is empty: name the trust domains whose SVIDs are accepted`);
  }
  for (const [name, l] of [['inference', cfg.listeners.inference], ['admin', cfg.listeners.admin]] as const) {
    for (const c of l.trustedProxies) {
      if (!isCidr(c)) throw new ConfigError(`${file}: listeners.${name}.trustedProxies: ${JSON.stringify(c)} is not an IPv4 or IPv6 CIDR`);
    }
  }
  if (cfg.extAuthz && !cfg.extAuthz.grpc && !cfg.extAuthz.http) throw new ConfigError(`${file}: extAuthz: give grpc, http or both (where Envoy sends its checks)`);
  for (const c of cfg.extAuthz?.http?.trustedProxies ?? []) {
    if (!isCidr(c)) throw new ConfigError(`${file}: extAuthz.http.trustedProxies: ${JSON.stringify(c)} is not an IPv4 or IPv6 CIDR`);
  }
  if (cfg.ledger.export.file && cfg.ledger.export.webhook) throw new ConfigError(`${file}: ledger.export: give a file or a webhook, not both`);
  const witnessNames = new Set<string>();
  for (const w of cfg.ledger.witnesses) {
    if (witnessNames.has(w.name)) throw new ConfigError(`${file}: ledger.witnesses: the name ${JSON.stringify(w.name)} is used twice`);
    witnessNames.add(w.name);
    // tlog-cosignature: an Ed25519 cosigner key is a vkey of signature type 0x04 and 32 key bytes.
    // The key material is base64 and may itself contain '+': only the first two '+' separate fields.
    const material = Buffer.from(/^[^+]+\+[0-9a-f]{8}\+(.+)$/.exec(w.key)?.[1] ?? '', 'base64');
    if (material.length !== 33 || material[0] !== 0x04) throw new ConfigError(`${file}: ledger.witnesses[${JSON.stringify(w.name)}].key is not an Ed25519 cosignature/v1 verifier key (print one with \`warden witness key\`)`);
  }
  const rawUpstreams = ((raw as RawConfig).upstreams ?? []);
  rawUpstreams.forEach((u, i) => {
    const at = `${file}: upstreams[${i}] (${u.name})`;
    if (u.baseUrl === undefined && u.endpoints === undefined) throw new ConfigError(`${at}: missing required key "baseUrl" (or "endpoints", for several)`);
    if (u.baseUrl !== undefined && u.endpoints !== undefined) throw new ConfigError(`${at}: give baseUrl or endpoints, not both`);
    if (!u.endpoints && (u.retries !== undefined || u.healthCheck || u.outlierEjection)) throw new ConfigError(`${at}: retries, healthCheck and outlierEjection apply to endpoints; with one baseUrl there is nothing to fail over to`);
    if (u.endpoints && new Set(u.endpoints.map((e) => e.url.replace(/\/+$/, ''))).size !== u.endpoints.length) throw new ConfigError(`${at}: endpoints: the same url is listed twice`);
    if (u.endpoints && u.retries !== undefined && u.retries > u.endpoints.length - 1) throw new ConfigError(`${at}: retries is ${u.retries} but there are only ${u.endpoints.length - 1} other endpoints to try`);
  });
  const hook = cfg.monitor.rotation.webhook;
  if (hook && (process.env[hook.signingSecretEnv] ?? '').length < 32) throw new ConfigError(`${file}: monitor.rotation.webhook: environment variable ${hook.signingSecretEnv} (signingSecretEnv) must hold a signing secret of at least 32 characters`);
  const seen = new Map<string, string>();
  for (const u of cfg.upstreams) {
    for (const m of u.models) {
      const prev = seen.get(m);
      if (prev) throw new ConfigError(`${file}: model ${JSON.stringify(m)} is served by two upstreams (${prev}, ${u.name}); a model must have one upstream`);
      seen.set(m, u.name);
    }
    if (u.apiKeyEnv && u.apiKeySource) throw new ConfigError(`${file}: upstream ${u.name}: apiKeyEnv and apiKeySource both name its secret; keep one`);
    if (u.apiKeyEnv && process.env[u.apiKeyEnv] === undefined) {
      throw new ConfigError(`${file}: upstream ${u.name}: environment variable ${u.apiKeyEnv} (apiKeyEnv) is not set`);
    }
  }
  return cfg;
}

function syslogDefaults(x: NonNullable<NonNullable<NonNullable<RawConfig['ledger']>['export']>['syslog']>, baseDir: string): NonNullable<WardenConfig['ledger']['export']['syslog']> {
  return {
    host: x.host,
    port: x.port ?? 6514, // RFC 5425 §4.1
    caFile: resolve(baseDir, x.caFile),
    ...(x.serverName ? { serverName: x.serverName } : {}),
    ...(x.clientTls ? { clientTls: { certFile: resolve(baseDir, x.clientTls.certFile), keyFile: resolve(baseDir, x.clientTls.keyFile) } } : {}),
    facility: x.facility ?? 13, // RFC 5424 §6.2.1: log audit
    appName: x.appName ?? 'warden',
    ...(x.hostname ? { hostname: x.hostname } : {}),
    settleMs: x.settleMs ?? 2_000,
  };
}

function extAuthzDefaults(x: NonNullable<RawConfig['extAuthz']>, baseDir: string): ExtAuthzConfig {
  return {
    ...(x.grpc ? { grpc: { host: x.grpc.host ?? '127.0.0.1', port: x.grpc.port } } : {}),
    ...(x.http ? { http: { host: x.http.host ?? '127.0.0.1', port: x.http.port, pathPrefix: x.http.pathPrefix ?? '/ext_authz', trustedProxies: x.http.trustedProxies ?? [] } } : {}),
    ...(x.tls ? { tls: { certFile: resolve(baseDir, x.tls.certFile), keyFile: resolve(baseDir, x.tls.keyFile) } } : {}),
    clientCaFile: resolve(baseDir, x.clientCaFile),
    allowedClients: x.allowedClients ?? [],
  };
}

export function loadConfig(file: string | undefined): WardenConfig {
  if (!file) return withDefaults({}, null);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new ConfigError(`${file}: cannot read config: ${(e as Error).message}`);
  }
  return parseConfig(text, file);
}

function isCidr(c: string): boolean {
  const [addr, bits, extra] = c.split('/');
  const family = isIP(addr ?? '');
  if (!family || extra !== undefined) return false;
  if (bits === undefined) return true;
  const n = Number(bits);
  return /^\d{1,3}$/.test(bits) && n >= 0 && n <= (family === 4 ? 32 : 128);
}
