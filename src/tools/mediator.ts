// Mediated tool calls: "the model proposes; the PDP disposes". Every call runs with the authority of
// the human it is made for (principal = the user, context.agent = the acting agent), is re-authorized
// with its arguments, may be held for a human approval, reaches its backend only through the egress
// guard with a per-call credential, and has its result inspected and re-checked by policy.
// Each call ends in exactly one ledger entry (kind `tool`); a ledger that cannot record refuses.
import type { Logger } from 'pino';
import type { Clock } from '../core/clock.js';
import { canonicalJson } from '../core/canonical-json.js';
import { sha256Digest } from '../core/digest.js';
import { FailClosed, Forbidden, WardenError } from '../core/errors.js';
import { decisionDuties } from '../policy/obligations.js';
import { auditEvent, auditPrincipal, flagDetails } from '../core/audit-event.js';
import type { AuditEvent, Decision, Findings, Principal } from '../core/types.js';
import type { AuditSink } from '../core/audit-sink.js';
import type { EgressGuard, EgressPolicy } from '../network/egress.js';
import type { ApprovalRecord, ServedToolDefinition, ToolRecord } from '../store/tools-store.js';
import { agentOf, type ApprovalService } from './approvals.js';
import { callHttpBackend, callMcpBackend, resolveBackendUrl, type BackendResult } from './backend.js';
import { SandboxUnavailable } from './sandbox/errors.js';
import type { SandboxPool } from './sandbox/pool.js';
import { callSandboxBackend } from './sandbox/run.js';
import { parseDestination } from '../network/egress-destinations.js';
import type { ToolCredentialIssuer } from './credential.js';
import { toolResourceAttrs, type ToolDecide } from './decide.js';
import { DelegationRequired, ToolCallDenied, ToolNotFound, ToolOutsideTokenScope, ToolResultBlocked } from './errors.js';
import type { ToolRegistry } from './registry.js';
import type { ToolPins } from './pins.js';
import type { ToolQuarantines } from './quarantine.js';

/** The inspection plane as the tools plane uses it (src/inspect: inspectText, countFindings). */
export interface ToolInspector {
  inspect(text: string): Findings;
  count(f: Findings): Record<string, number>;
  /** Replaces PII / secrets in a text with markers (src/inspect redact): the `redact:*` obligation on a tool result. */
  redact(text: string, targets: readonly ('pii' | 'secret')[]): string;
}

/**
 * What a tool call's decision obliges, from the policy plane's one parse. A tool call can be held for
 * approval, have its result redacted and be flagged for review; `max_tokens`, `route:*` and `spotlight`
 * describe model calls, so on a tool call they are refused (403 unenforceable_obligation), never ignored.
 */
export function toolDuties(d: Decision): { approval: boolean; redact: ('pii' | 'secret')[]; flags: string[] } {
  const out = { approval: false, redact: [] as ('pii' | 'secret')[], flags: [] as string[] };
  for (const o of decisionDuties(d.obligations)) {
    if (o.kind === 'approval') out.approval = true;
    else if (o.kind === 'redact') out.redact.push(o.what === 'pii' ? 'pii' : 'secret');
    else if (o.kind === 'flag') out.flags.push(o.label);
    else throw new Forbidden('unenforceable_obligation', `the policy attached an obligation a tool call cannot honour (${o.kind})`);
  }
  return out;
}

/** Every string in a JSON value passed through `f` (object keys are kept: they are the tool's schema). */
function mapStrings(v: unknown, f: (s: string) => string): unknown {
  if (typeof v === 'string') return f(v);
  if (Array.isArray(v)) return v.map((x) => mapStrings(x, f));
  if (v !== null && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, mapStrings(x, f)]));
  return v;
}

export interface MediatorDeps {
  clock: Clock;
  log: Logger;
  registry: ToolRegistry;
  approvals: ApprovalService;
  decide: ToolDecide;
  inspector: ToolInspector;
  egress: EgressGuard;
  credentials: ToolCredentialIssuer;
  audit: AuditSink;
  limits?: Partial<Pick<EgressPolicy, 'maxResponseBytes' | 'timeoutMs' | 'maxRedirects'>>;
  /** Pinned definitions of MCP-backed tools (rug-pull quarantine). */
  pins: ToolPins;
  /** Tools an operator or a playbook took out of service: refused on every path. */
  quarantines: ToolQuarantines;
  /** Runs sandbox tools (`backend.type: "sandbox"`); without it such tools are refused (503 sandbox_unavailable). */
  sandbox?: SandboxPool;
  /** The monitor's current risk for the caller (0..1): the PDP context's riskScorePermille. Default 0. */
  risk?: (p: Principal) => number;
  /** The monitor's throttle: throws 429 `monitor_throttled` for a throttled caller beyond its allowance. */
  admit?: (p: Principal) => void | Promise<void>;
  /** Hears of every decided call (the monitor plane): who, the answer's status, the refusing stage, findings. */
  observe?: (p: Principal, o: { status: number; stage: string | null; findings: Findings | null; tool?: string; sourceIp?: string; argsChars?: number }) => void;
}

export interface ToolCall {
  principal: Principal;
  /** The one tool the presented token was narrowed to (JIT `tool` claim), if any. */
  narrowedTo?: string;
  tool: string;
  args: unknown;
  approvalId?: string;
  sourceIp: string;
  requestId: string;
  /** `inference` for /v1/tools, `mcp` for /mcp. */
  listener: string;
}

export type ToolOutcome =
  | { kind: 'done'; tool: string; result: BackendResult; findings: Findings; decision: Decision; approvalId: string | null }
  | { kind: 'held'; tool: string; approval: ApprovalRecord; decision: Decision };

/** Decision for a proposed call, without executing it (chat tool_calls filtering, MCP tools/list). */
export interface ProposedCallDecision {
  allow: boolean;
  approvalRequired: boolean;
  decision: Decision | null;
  reason: string | null;
}

const ANY = '*';

/** What one call has established so far, for its one ledger entry. */
interface CallState {
  stage: string;
  tool: ToolRecord | null;
  decision: Decision | null;
  findings: Findings | null;
  /** The arguments' findings: what the caller sent, which is all the monitor holds against the caller (an injection
   *  found in a tool's result was written by whoever wrote that document, not by the principal who fetched it). */
  argsFindings: Findings | null;
  argsDigest: string | null;
  resultDigest: string | null;
  /** Backend-specific facts for the entry (a sandbox run: the code's digest, its time). */
  details: Record<string, string | number | boolean | null>;
}

/** Only people call tools; agents and services do so only with a user's delegated token. */
export function checkCaller(p: Principal, tool: string, narrowedTo?: string): void {
  if (p.kind !== 'user') throw new DelegationRequired(p.kind);
  const acts = p.scope.actions;
  if (!acts.includes(ANY) && !acts.includes('callTool')) throw new ToolOutsideTokenScope('the credential does not include the callTool action');
  const narrowed = narrowedTo !== undefined ? [narrowedTo] : p.scope.tools;
  if (narrowed !== undefined && !narrowed.includes(tool)) throw new ToolOutsideTokenScope(`the token was narrowed to ${narrowed.join(', ') || 'no tool'}, not ${tool}`);
}

/**
 * The policy version an approval binds to: the published set's. The live set's version also hashes the
 * generated per-credential policies, which change whenever anyone creates a key or exchanges a token, so
 * binding to it voided every pending approval. A decider that cannot say which published set decided
 * neither holds nor executes approved calls.
 */
function boundPolicyVersion(d: Decision): string {
  if (!d.publishedVersion) throw new FailClosed('policy_version_unknown', 'the decision does not name the published policy set; approvals cannot be bound to it');
  return d.publishedVersion;
}

export class ToolMediator {
  constructor(private readonly d: MediatorDeps) {}

  /** The tool as this principal may see it: another tenant's tool does not exist for them. */
  private visible(p: Principal, t: ToolRecord): ToolRecord {
    if (t.tenant !== null && t.tenant !== p.tenant) throw new ToolNotFound(t.name);
    return t;
  }

  private policyFor(t: ToolRecord): EgressPolicy {
    return this.egressPolicy(t.egress);
  }

  /** The egress policy for a tool's declared destinations, with this gateway's limits. */
  egressPolicy(destinations: string[]): EgressPolicy {
    return {
      destinations,
      maxResponseBytes: this.d.limits?.maxResponseBytes ?? 1024 * 1024,
      timeoutMs: this.d.limits?.timeoutMs ?? 10_000,
      maxRedirects: this.d.limits?.maxRedirects ?? 2,
    };
  }

  private decideCall(p: Principal, t: ToolRecord, args: Record<string, unknown> | undefined, findings: Findings | null, sourceIp: string, listener: string, fromToolResult = false): Decision {
    return this.d.decide({
      principal: p,
      action: 'callTool',
      resource: { type: 'Tool', id: t.name, attrs: toolResourceAttrs(t) },
      context: { now: this.d.clock.now(), sourceIp, listener, findings, fromToolResult, riskScore: this.d.risk?.(p) ?? 0, tenant: p.tenant, ...(args !== undefined ? { toolArgs: args } : {}) },
    });
  }

  /** A changed served definition quarantines the tool; the pinned and served digests and the diff go in the entry. */
  private async checkServed(name: string, served: ServedToolDefinition | null, st: CallState): Promise<void> {
    st.stage = 'definition';
    try {
      await this.d.pins.check(name, served);
    } catch (e) {
      const details = (e as { details?: Record<string, string> }).details;
      if (details) Object.assign(st.details, details);
      throw e;
    }
    st.stage = 'egress';
  }

  /** Would this call be allowed (and would it be held)? Nothing is executed or recorded. */
  assess(p: Principal, name: string, args: unknown, sourceIp: string, listener = 'inference'): ProposedCallDecision {
    try {
      checkCaller(p, name);
      const t = this.visible(p, this.d.registry.peek(name));
      // A quarantined tool (taken out of service, or its MCP server changed what it says it is) is neither listed nor proposed.
      this.d.quarantines.peekUsable(t.name);
      this.d.pins.peekUsable(t);
      const checked = args === undefined ? undefined : this.d.registry.validateArgs(t, args);
      const findings = checked === undefined ? null : this.d.inspector.inspect(canonicalJson(checked));
      const d = this.decideCall(p, t, checked, findings, sourceIp, listener);
      if (!d.allow) return { allow: false, approvalRequired: false, decision: d, reason: d.reasons.join('; ') || 'denied by policy' };
      return { allow: true, approvalRequired: t.needsApproval || toolDuties(d).approval, decision: d, reason: null };
    } catch (e) {
      return { allow: false, approvalRequired: false, decision: null, reason: e instanceof WardenError ? e.code : 'error' };
    }
  }

  async invoke(call: ToolCall): Promise<ToolOutcome> {
    const started = process.hrtime.bigint();
    const st: CallState & { approvalId: string | null } = {
      stage: 'identity', tool: null, decision: null, findings: null, argsFindings: null, argsDigest: null, resultDigest: null, approvalId: null, details: {},
    };
    try {
      const p = call.principal;
      // A throttled caller is turned away before any other work.
      st.stage = 'network';
      await this.d.admit?.(p);
      st.stage = 'identity';
      checkCaller(p, call.tool, call.narrowedTo);
      st.stage = 'validate';
      // An execution reads the stored definition, never a replica's possibly older copy.
      const t = this.visible(p, await this.d.registry.get(call.tool));
      // A quarantined tool is not called (nor is an approval spent on it); the quarantine and the pin are read
      // from the store, as the definition is.
      await this.d.quarantines.assertUsable(t.name);
      await this.d.pins.assertUsable(t);
      st.tool = t;
      const args = this.d.registry.validateArgs(t, call.args);
      // Filled before policy and approval: a call whose URL cannot be built never holds or spends an approval.
      const url = t.backend.type === 'http' ? resolveBackendUrl(t.backend.url, args) : t.backend.type === 'mcp' ? t.backend.url : null;
      // The code a sandbox call runs is named in its entry even when the run is refused.
      if (t.backend.type === 'sandbox') st.details.codeDigest = sha256Digest(String(args.code));
      const argsJson = canonicalJson(args);
      st.argsDigest = sha256Digest(argsJson);
      st.stage = 'inspect';
      st.findings = this.d.inspector.inspect(argsJson);
      st.argsFindings = st.findings;
      st.stage = 'policy';
      const d = this.decideCall(p, t, args, st.findings, call.sourceIp, call.listener);
      st.decision = d;
      if (!d.allow) throw new ToolCallDenied(d.reasons);
      const before = toolDuties(d);
      flagDetails(st.details, before.flags);
      const needsApproval = t.needsApproval || before.approval;
      st.stage = 'approval';
      if (call.approvalId !== undefined) {
        st.approvalId = call.approvalId;
        await this.d.approvals.consume(call.approvalId, { tool: t, principal: p, argsDigest: st.argsDigest, policyVersion: boundPolicyVersion(d) });
      } else if (needsApproval) {
        const approval = await this.d.approvals.hold({ tool: t, principal: p, argsDigest: st.argsDigest, argsJson, policyVersion: boundPolicyVersion(d), requestId: call.requestId });
        st.approvalId = approval.id;
        await this.record(call, st, 202, null, started, { outcome: 'approval_pending', approvalId: approval.id });
        return { kind: 'held', tool: t.name, approval, decision: d };
      }
      let result: BackendResult;
      if (t.backend.type === 'sandbox') {
        // No network and no credential: the code runs in a fresh WebAssembly instance under the tool's caps.
        st.stage = 'sandbox';
        if (!this.d.sandbox) throw new SandboxUnavailable('no code sandbox is running in this gateway');
        const ran = await callSandboxBackend(this.d.sandbox, t.backend, args);
        st.details.sandboxMs = ran.elapsedMs;
        if (ran.isError) st.details.guestError = true;
        result = ran;
      } else {
        st.stage = 'egress';
        // The destination is checked before a credential exists for it: an argument-made URL (http_get-like
        // tools) never gets a credential minted for an undeclared audience.
        const policy = this.policyFor(t);
        const target = this.d.egress.check(url!, policy.destinations.map((x) => parseDestination(x)));
        const credential = await this.d.credentials.mint({ tool: t.name, audience: target.origin, principal: p, argsDigest: st.argsDigest, requestId: call.requestId });
        const input = { tool: t, url: url!, args, credential, requestId: call.requestId, policy };
        result = t.backend.type === 'http' ? await callHttpBackend(this.d.egress, input) : await callMcpBackend(this.d.egress, { ...input, checkDefinition: (served) => this.checkServed(t.name, served, st) });
      }
      st.resultDigest = sha256Digest(canonicalJson(result.value ?? null));
      st.stage = 'result';
      // Indirect prompt injection: the result is inspected and the PDP asked again with its findings.
      const findings = this.d.inspector.inspect(result.text);
      st.findings = findings;
      const after = this.decideCall(p, t, args, findings, call.sourceIp, call.listener, true);
      st.decision = after;
      if (!after.allow) throw new ToolResultBlocked(after.reasons);
      // The decision that releases the result decides its duties (a finding in the result can add one).
      const duties = toolDuties(after);
      flagDetails(st.details, duties.flags);
      if (duties.redact.length > 0) {
        const r = (x: string) => this.d.inspector.redact(x, duties.redact);
        result = { ...result, value: mapStrings(result.value, r), text: r(result.text) };
        // The entry's digest is of what is released.
        st.resultDigest = sha256Digest(canonicalJson(result.value ?? null));
      }
      await this.record(call, st, 200, null, started, { outcome: 'executed', ...(st.approvalId ? { approvalId: st.approvalId } : {}) });
      return { kind: 'done', tool: t.name, result, findings, decision: after, approvalId: st.approvalId };
    } catch (e) {
      const err = e instanceof WardenError ? e : new WardenError(500, 'server_error', 'internal_error', 'internal error');
      if (!(e instanceof WardenError)) this.d.log.error({ err: e, requestId: call.requestId }, 'tool call failed');
      if (err.stage === 'audit') throw err;
      try {
        await this.record(call, st, err.status, err, started, st.approvalId ? { approvalId: st.approvalId } : undefined);
      } catch (auditErr) {
        this.d.log.error({ err: auditErr, requestId: call.requestId }, 'audit append failed for a refused tool call');
      }
      throw err;
    }
  }

  private async record(
    call: ToolCall,
    st: CallState,
    status: number,
    err: WardenError | null,
    started: bigint,
    details?: Record<string, string | number | boolean | null>,
  ): Promise<void> {
    const p = call.principal;
    // One builder for entries other than the gateway's requests (core/audit-event.ts).
    const event: AuditEvent = auditEvent({
      time: new Date(this.d.clock.now()).toISOString(),
      requestId: call.requestId,
      kind: 'tool',
      principal: auditPrincipal(p),
      action: 'callTool',
      resource: { type: 'Tool', id: call.tool },
      decision: err ? (err.status >= 500 ? 'error' : 'deny') : 'allow',
      policyIds: st.decision?.policyIds ?? [],
      policyVersion: st.decision?.policyVersion ?? null,
      findings: st.findings ? this.d.inspector.count(st.findings) : {},
      deployment: st.tool ? { id: `tool:${st.tool.name}@${st.tool.version}`, artifactDigest: null } : null,
      requestDigest: st.argsDigest,
      responseDigest: st.resultDigest,
      status,
      latencyMs: Math.round(Number(process.hrtime.bigint() - started) / 1e3) / 1e3,
      details: { listener: call.listener, agent: agentOf(p), ...st.details, ...(details ?? {}) },
    });
    if (err) {
      event.errorCode = err.code;
      if (err.reason !== undefined) event.reason = err.reason;
      event.stage = err.stage ?? st.stage;
    }
    this.d.observe?.(p, { status, stage: event.stage ?? null, findings: st.argsFindings, tool: call.tool, sourceIp: call.sourceIp, argsChars: JSON.stringify(call.args ?? null).length });
    try {
      await this.d.audit.append(event);
    } catch (e) {
      if (err) throw e;
      this.d.log.error({ err: e, requestId: call.requestId }, 'audit append failed; the tool result is withheld');
      const fc = new FailClosed('audit_unavailable', 'the audit ledger could not record this tool call; the result is withheld');
      fc.stage = 'audit';
      throw fc;
    }
  }
}
