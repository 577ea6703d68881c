// The request context the gateway hands the PDP: one typed input, one Cedar record out, checked
// against the schema's RequestContext so a malformed context is a refusal here, not a silently
// false condition inside a policy. docs/policy.md lists every attribute.
import type { Findings, Principal } from '../core/types.js';
import { canonicalJson } from '../core/canonical-json.js';
import type { CedarValueJson } from './cedar-wasm.js';
import { CedarValueMismatch, toCedarValue } from './cedar-values.js';
import { ContextInvalid } from './errors.js';
import { defaultSchema, type WardenSchema } from './schema.js';

export interface PdpContextInput {
  /** The authenticated caller: authn method, credential, MFA time and actor chain come from here. */
  principal: Principal;
  /** Epoch ms from the one Clock; gives time.hour / time.weekday (UTC) and the MFA age. */
  now: number;
  sourceIp: string;
  /** Which listener took the request: "inference", "admin", ... */
  listener: string;
  /** Inspection result; null when nothing was inspected (admin calls, listModels). */
  findings: Findings | null;
  /** The findings are of a tool's result (callTool's second decision): text a third party wrote, judged at its own
   *  injection cut (INJECTION_TOOL_RESULT_CUT), not of what the caller sent. */
  fromToolResult?: boolean;
  /** Risk score from the monitor, 0..1 (0 when the monitor has nothing on this principal). */
  riskScore: number;
  /** Requested max tokens, when the request names one. */
  maxTokens?: number;
  /** The least remaining token / cost budget over the caller's key, principal and tenant (docs/budgets.md), when one applies. */
  budgetLeft?: { tokens: number | null; cost: number | null };
  /** Tenant the request is for. */
  tenant: string;
  region?: string;
  /** trainOn: the purpose the model is trained for (`research`, `marketing`, …), when the request names one. */
  purpose?: string;
  /** Tool-call arguments (callTool only); non-string values are carried as RFC 8785 JSON text. */
  toolArgs?: Record<string, unknown>;
}

/** An opaque, schema-checked context. Only buildContext / contextFromCedarJson make one. */
export class PdpContext {
  /** @internal use buildContext */
  constructor(readonly value: Readonly<Record<string, CedarValueJson>>) {
    Object.freeze(this);
  }
}

/** OIDC auth_time may run a little ahead of our clock; beyond this an MFA time is not believable. */
const MFA_CLOCK_SKEW_MS = 60_000;

/**
 * Scores travel as integer per-mille (Long), not Cedar decimals: an extension value costs ~20 µs per
 * call at the Wasm boundary, a Long almost nothing (measured, bench/results/policy.md).
 */
function permille(value: number, field: string): number {
  if (!Number.isFinite(value) || value < 0 || value > 1) throw new ContextInvalid(`${field} must be a number in [0, 1]`, field);
  return Math.round(value * 1000);
}

export function buildContext(input: PdpContextInput, schema: WardenSchema = defaultSchema()): PdpContext {
  const { principal, now } = input;
  if (!Number.isSafeInteger(now) || now < 0) throw new ContextInvalid('now must be epoch milliseconds', 'now');
  const authn = principal.authn;
  const mfaAt = authn.mfaAt;
  let mfaAgeSeconds: number | undefined;
  if (mfaAt !== undefined) {
    if (!Number.isFinite(mfaAt) || mfaAt > now + MFA_CLOCK_SKEW_MS) throw new ContextInvalid('authn.mfaAt lies in the future', 'authn.mfaAt');
    mfaAgeSeconds = Math.max(0, Math.floor((now - mfaAt) / 1000));
  }
  const d = new Date(now);
  const f = input.findings;
  const unique = (xs: string[]) => [...new Set(xs)];
  const actor = principal.actor?.[0];
  const raw: Record<string, unknown> = {
    time: { hour: d.getUTCHours(), weekday: d.getUTCDay() },
    sourceIp: input.sourceIp,
    listener: input.listener,
    authn: {
      method: authn.method,
      credentialId: authn.credentialId,
      mfa: mfaAgeSeconds !== undefined,
      mfaAgeSeconds,
      mtls: authn.method === 'mtls' || authn.certFingerprint !== undefined,
      signed: authn.method === 'http_signature',
      senderBound: authn.boundKey !== undefined,
    },
    inspected: f !== null,
    classification: f ? f.classification : 'none',
    findings: {
      piiTypes: f ? unique(f.items.filter((i) => i.category === 'pii').map((i) => i.type)) : [],
      secretFound: f ? f.items.some((i) => i.category === 'secret') : false,
      secretTypes: f ? unique(f.items.filter((i) => i.category === 'secret').map((i) => i.type)) : [],
      injectionScorePermille: permille(f ? f.injectionScore : 0, 'findings.injectionScore'),
      fromToolResult: f !== null && input.fromToolResult === true,
    },
    riskScorePermille: permille(input.riskScore, 'riskScore'),
    maxTokens: input.maxTokens,
    budgetTokensLeft: input.budgetLeft?.tokens ?? undefined,
    budgetCostLeftMicros: input.budgetLeft?.cost === null || input.budgetLeft?.cost === undefined ? undefined : Math.round(input.budgetLeft.cost * 1_000_000),
    tenant: input.tenant,
    region: input.region,
    purpose: input.purpose,
    agent: actor ? { kind: actor.kind, id: actor.id, tenant: actor.tenant } : undefined,
    delegated: actor !== undefined,
    args: input.toolArgs
      ? Object.entries(input.toolArgs).map(([name, v]) => ({ name, value: typeof v === 'string' ? v : canonicalJson(v) }))
      : undefined,
  };
  return contextFromPlain(raw, schema);
}

/**
 * A context given as plain JSON in RequestContext's shape (policy test files, `warden policy explain`):
 * numbers for decimals, strings for ipaddr. Checked against the schema exactly like buildContext's output.
 */
export function contextFromPlain(raw: unknown, schema: WardenSchema = defaultSchema()): PdpContext {
  try {
    const value = toCedarValue(schema, schema.contextType, raw, 'context') as Record<string, CedarValueJson>;
    return new PdpContext(value);
  } catch (e) {
    if (e instanceof CedarValueMismatch) throw new ContextInvalid(e.message, e.path);
    throw e;
  }
}
