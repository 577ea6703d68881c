// The inventory ("you cannot secure what you cannot see"): every model and deployment, dataset, A2A agent, vector
// store, tool, key and principal Warden knows, each with the risk flags an operator should act on — keys unused or unrotated or
// without expiry, deployments not registered or not attested, tools that act without an approval rule,
// principals at risk now (with the monitor's reasons), admins and disabled principals.
// GET /admin/v1/inventory (readAudit); `warden inventory [--json]`.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AdminRequest } from '../admin/admin.js';
import type { Clock } from '../core/clock.js';
import { sendJson } from '../http/respond.js';
import type { ApiKeyRecord, PrincipalRecord } from '../store/identity-store.js';
import type { DeploymentRecord } from '../store/registry-store.js';
import type { DatasetRecord } from '../store/datasets-store.js';
import type { VectorStoreRecord } from '../store/retrieval-store.js';
import type { AgentRecord } from '../agents/store.js';
import type { ToolRecord } from '../store/tools-store.js';

const DAY = 86_400_000;

export interface InventorySources {
  clock: Clock;
  principals(): Promise<PrincipalRecord[]>;
  keys(): Promise<ApiKeyRecord[]>;
  tools(): ToolRecord[];
  /** Whether a tool is quarantined (taken out of service by an operator or a playbook). */
  toolQuarantined?: (name: string) => boolean;
  deployments(): Promise<DeploymentRecord[]>;
  /** Models served by configured upstreams (not through the registry). */
  configuredModels(): { model: string; upstream: string }[];
  /** Every tenant's registered datasets (the data plane's registry). */
  datasets?: () => Promise<DatasetRecord[]>;
  /** Registered A2A agents. */
  agents?: () => Promise<AgentRecord[]>;
  /** Every tenant's vector stores (the retrieval plane). */
  vectorStores?: () => Promise<VectorStoreRecord[]>;
  /** The monitor's view of a principal (absent: the monitor is off). */
  risk?: (p: { tenant: string; kind: string; id: string }) => { risk: number; reasons: string[] };
  unusedAfterDays: number;
  rotateAfterDays: number;
}

export interface InventoryItem {
  kind: 'model' | 'deployment' | 'dataset' | 'agent' | 'vector_store' | 'tool' | 'key' | 'principal';
  id: string;
  detail: Record<string, string | number | boolean | null | string[]>;
  flags: string[];
}

export async function buildInventory(s: InventorySources): Promise<InventoryItem[]> {
  const now = s.clock.now();
  const items: InventoryItem[] = [];
  const registered = await s.deployments();
  const registeredModels = new Set(registered.map((d) => d.model));
  for (const m of s.configuredModels()) {
    if (registeredModels.has(m.model)) continue;
    items.push({ kind: 'model', id: m.model, detail: { upstream: m.upstream, registry: false }, flags: ['unregistered'] });
  }
  for (const d of registered) {
    const flags: string[] = [];
    if (d.attestation === null) flags.push('unattested');
    if (d.state === 'quarantined') flags.push('quarantined');
    items.push({ kind: 'deployment', id: d.id, detail: { model: d.model, version: d.version, state: d.state, tier: d.tier, region: d.region, tenant: d.tenant, artifactDigest: d.artifactDigest, confidential: d.attestation !== null }, flags });
  }
  for (const d of (await s.datasets?.()) ?? []) {
    const flags: string[] = [];
    // Registered but never verified against its signed manifest: nothing may train on it yet, and nobody checked it.
    if (d.state === 'registered') flags.push('unverified');
    // Declared public while its own manifest says it holds personal, health or financial data.
    if (d.classification === 'public' && d.categories.some((c) => SENSITIVE_CATEGORIES.has(c))) flags.push('sensitive_but_public');
    if (d.retention === 'indefinite') flags.push('indefinite_retention');
    items.push({ kind: 'dataset', id: d.id, detail: { name: d.name, version: d.version, tenant: d.tenant, source: d.sourceId, classification: d.classification, categories: d.categories, state: d.state, digest: d.digest, retention: d.retention }, flags });
  }
  for (const a of (await s.agents?.()) ?? []) {
    const flags: string[] = [];
    // Its card changed since it was approved: calls are refused until an admin approves or rejects the change.
    if (a.pending !== null) flags.push('card_changed');
    if (a.cardKeys === null) flags.push('unsigned_card');
    if (a.grantees.length === 0) flags.push('no_grantees');
    items.push({ kind: 'agent', id: a.id, detail: { url: a.url, tenant: a.tenant, grantees: a.grantees, actions: a.actions, cardDigest: a.digest }, flags });
  }
  for (const v of (await s.vectorStores?.()) ?? []) {
    items.push({ kind: 'vector_store', id: v.id, detail: { name: v.name, tenant: v.tenant, classification: v.classification, embeddingModel: v.embeddingModel, createdBy: v.createdBy }, flags: [] });
  }
  for (const t of s.tools()) {
    const flags: string[] = [];
    if (t.risk !== 'read' && !t.needsApproval) flags.push('no_approval_rule');
    if (t.grantees.length === 0) flags.push('no_grantees');
    if (s.toolQuarantined?.(t.name)) flags.push('quarantined');
    items.push({ kind: 'tool', id: t.name, detail: { risk: t.risk, needsApproval: t.needsApproval, backend: t.backend.type, egress: t.egress, grantees: t.grantees }, flags });
  }
  for (const k of await s.keys()) {
    const status = k.revokedAt !== null ? 'revoked' : k.rotatedTo !== null ? 'rotated' : k.expiresAt !== null && k.expiresAt <= now ? 'expired' : 'active';
    const flags: string[] = [];
    if (status === 'active') {
      const lastActivity = k.lastUsedAt ?? k.createdAt;
      if (now - lastActivity > s.unusedAfterDays * DAY) flags.push(k.lastUsedAt === null ? 'never_used' : 'unused');
      if (now - k.createdAt > s.rotateAfterDays * DAY) flags.push('unrotated');
      if (k.expiresAt === null) flags.push('no_expiry');
    }
    items.push({ kind: 'key', id: k.id, detail: { principal: k.principalId, status, hint: k.hint, createdAt: iso(k.createdAt), lastUsedAt: k.lastUsedAt === null ? null : iso(k.lastUsedAt), expiresAt: k.expiresAt === null ? null : iso(k.expiresAt) }, flags });
  }
  for (const p of await s.principals()) {
    if (p.erasedAt !== null) continue;
    const flags: string[] = [];
    if (p.admin) flags.push('admin');
    if (p.disabledAt) flags.push('disabled');
    if (p.admin && !p.sourceCidrs) flags.push('admin_any_source');
    const r = s.risk?.({ tenant: p.tenant, kind: p.kind, id: p.id });
    if (r && r.risk >= 0.5) flags.push('at_risk');
    items.push({ kind: 'principal', id: `${p.tenant}/${p.kind}:${p.id}`, detail: { groups: p.groups, risk: r?.risk ?? null, reasons: r?.reasons ?? [] }, flags });
  }
  return items;
}

const iso = (ms: number) => new Date(ms).toISOString();

/** Data categories a `public` dataset should not declare (the manifest's own categories). */
const SENSITIVE_CATEGORIES = new Set(['pii', 'health', 'financial', 'biometric', 'credentials']);

export function createInventoryRoute(s: InventorySources) {
  return async (_req: IncomingMessage, res: ServerResponse, ar: AdminRequest): Promise<boolean> => {
    if (ar.path !== '/admin/v1/inventory') return false;
    const data = await buildInventory(s);
    const flagged = data.filter((i) => i.flags.length > 0).length;
    sendJson(res, 200, { data, summary: { items: data.length, flagged } }, { 'x-request-id': ar.requestId });
    return true;
  };
}
