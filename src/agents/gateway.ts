// Warden's A2A gateway: callers reach a registered agent at /a2a/{id} (JSON-RPC) once the inference listener's
// stages (identity, network, body) have passed; this plane then does what the tools mediator does for a tool
// call. The agent's pinned card is re-checked (a changed card quarantines it), the skill is named and found in
// the card, the message is inspected, the PDP decides `callAgent` on AgentSkill::"<agent>/<skill>", the callee
// gets a JIT token that names it as the actor for the caller's subject (RFC 8693 `act`, bounded depth), the
// answer (or every streamed update, as it passes) is inspected and decided again, and the call ends in exactly
// one ledger entry. The request body is relayed as sent: the gateway speaks A2A v1.0 and v0.3 method names.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import { A2A_VERSION_HEADER, formatSSEErrorEvent, formatSSEEvent, parseSseStream, SSE_HEADERS } from '@a2a-js/sdk';
import type { Clock } from '../core/clock.js';
import { canonicalJson } from '../core/canonical-json.js';
import { sha256Digest } from '../core/digest.js';
import { FailClosed, WardenError } from '../core/errors.js';
import { auditEvent, auditPrincipal, flagDetails } from '../core/audit-event.js';
import { flagsOnly } from '../policy/obligations.js';
import type { AuditSink } from '../core/audit-sink.js';
import type { AuditEvent, Decision, Findings, Principal } from '../core/types.js';
import { sendError, sendJson } from '../http/respond.js';
import type { EgressGuard, EgressPolicy } from '../network/egress.js';
import type { ToolInspector } from '../tools/mediator.js';
import type { ToolPolicyContext } from '../tools/decide.js';
import { cardDigest, cardSkills, fetchCard, rewriteCard, type CardSkill } from './card.js';
import {
  A2AAgentFailed,
  A2ACallDenied,
  A2ADepthExceeded,
  A2AMethodNotSupported,
  A2AOutsideTokenScope,
  A2ARequestInvalid,
  A2AResultBlocked,
  A2ASkillRequired,
  A2ASkillUnknown,
  A2ATaskUnknown,
  AgentCardChanged,
  AgentNotFound,
  AgentQuarantined,
} from './errors.js';
import type { AgentRecord, AgentStore } from './store.js';

export interface AgentPolicyRequest {
  principal: Principal;
  action: 'callAgent';
  resource: { type: 'AgentSkill'; id: string; attrs: Record<string, unknown> };
  context: ToolPolicyContext;
}
export type AgentDecide = (req: AgentPolicyRequest) => Decision;

export interface A2AGatewayDeps {
  clock: Clock;
  log: Logger;
  store: AgentStore;
  decide: AgentDecide;
  inspector: ToolInspector;
  egress: EgressGuard;
  audit: AuditSink;
  /** The inference listener's origin: rewritten cards point at `${publicOrigin}/a2a/{id}`. */
  publicOrigin: string;
  /** Hops an act chain may already hold when it calls an agent (a caller with this many actors is refused). */
  maxDepth: number;
  /** How old a card check may be before a call fetches the card again (0: before every call). */
  cardRecheckMs: number;
  limits: Pick<EgressPolicy, 'maxResponseBytes' | 'timeoutMs'>;
  /** A JIT token for the callee: the caller's subject, with the agent as the newest actor (src/identity/jit). */
  mint: (caller: Principal, agent: AgentRecord) => Promise<string>;
  risk?: (p: Principal) => number;
  /** Hears of every decided call (the monitor plane, as for tool calls): who, the status, the refusing stage, findings. */
  observe?: (p: Principal, o: { status: number; stage: string | null; findings: Findings | null }) => void;
}

export interface A2ACall {
  principal: Principal;
  sourceIp: string;
  requestId: string;
  agentId: string;
  body: Buffer;
  /** The caller's A2A-Version and Accept headers, relayed. */
  headers: IncomingMessage['headers'];
}

type MethodKind = 'send' | 'stream' | 'task';
const METHODS: Record<string, MethodKind> = {
  SendMessage: 'send',
  'message/send': 'send',
  SendStreamingMessage: 'stream',
  'message/stream': 'stream',
  GetTask: 'task',
  'tasks/get': 'task',
  CancelTask: 'task',
  'tasks/cancel': 'task',
};

/** Keys whose values are protocol bookkeeping, not content a model reads: not inspected. */
const NOT_CONTENT = new Set(['kind', 'role', 'state', 'messageId', 'taskId', 'contextId', 'id', 'artifactId', 'mediaType', 'mimeType', 'timestamp', 'jsonrpc', 'method', 'protocolVersion', 'extensions', 'referenceTaskIds', 'warden/skill']);

/** Every string a model could read in an A2A value (message parts, artifacts, status messages), joined. */
export function a2aText(v: unknown, out: string[] = []): string[] {
  if (typeof v === 'string') out.push(v);
  else if (Array.isArray(v)) for (const x of v) a2aText(x, out);
  else if (v !== null && typeof v === 'object') for (const [k, x] of Object.entries(v)) if (!NOT_CONTENT.has(k)) a2aText(x, out);
  return out;
}

/** Task ids an A2A result or streamed event names (v1.0 `{task}`, `{statusUpdate}`, ...; v0.3 `kind`). */
export function taskIdsOf(r: unknown): string[] {
  if (r === null || typeof r !== 'object') return [];
  const x = r as Record<string, Record<string, unknown> | unknown>;
  const ids: unknown[] = [];
  const sub = (k: string) => (x[k] && typeof x[k] === 'object' ? (x[k] as Record<string, unknown>) : null);
  ids.push(sub('task')?.id, sub('statusUpdate')?.taskId, sub('artifactUpdate')?.taskId, sub('message')?.taskId, x.taskId);
  if (x.kind === 'task') ids.push(x.id);
  return [...new Set(ids.filter((i): i is string => typeof i === 'string' && i !== ''))];
}

/** What one call has established so far, for its one ledger entry. */
interface CallState {
  stage: string;
  method: string | null;
  agent: AgentRecord | null;
  skill: string | null;
  decision: Decision | null;
  findings: Findings | null;
  requestDigest: string | null;
  responseDigest: string | null;
  details: Record<string, string | number | boolean | null>;
}

/** How long Warden remembers who started a task (GetTask / CancelTask after that: a2a_task_unknown). */
export const TASK_RETENTION_MS = 30 * 24 * 3600_000;
const PRUNE_EVERY_MS = 3600_000;

export class A2AGateway {
  private prunedAt = 0;
  /** When each agent's card was last compared with its pin. */
  private readonly checkedAt = new Map<string, number>();

  constructor(private readonly d: A2AGatewayDeps) {}

  private policy(a: AgentRecord): EgressPolicy {
    return { destinations: a.egress, maxResponseBytes: this.d.limits.maxResponseBytes, timeoutMs: this.d.limits.timeoutMs, maxRedirects: 0 };
  }

  /** The agent as this principal may see it: another tenant's agent does not exist for them; a quarantined one is refused. */
  private async visible(p: Principal, id: string): Promise<AgentRecord> {
    const a = await this.stored(() => this.d.store.find(id));
    if (!a || (a.tenant !== null && a.tenant !== p.tenant)) throw new AgentNotFound(id);
    if (a.pending) throw new AgentQuarantined(id, `its card changed (now ${a.pending.digest}); an admin must re-approve it`);
    return a;
  }

  private static checkCaller(p: Principal, maxDepth: number): number {
    const acts = p.scope.actions;
    if (!acts.includes('*') && !acts.includes('callAgent')) throw new A2AOutsideTokenScope();
    const depth = p.actor?.length ?? 0;
    if (depth >= maxDepth) throw new A2ADepthExceeded(depth, maxDepth);
    return depth;
  }

  /**
   * The card the agent serves now against its pin, when the last check is older than cardRecheckMs. A different
   * card is kept as pending (the agent is quarantined) and this call refused with the digests in its entry.
   */
  private async recheck(a: AgentRecord, st: CallState): Promise<void> {
    const now = this.d.clock.now();
    const last = this.checkedAt.get(a.id);
    if (last !== undefined && now - last < this.d.cardRecheckMs) return;
    st.stage = 'definition';
    const served = await fetchCard(this.d.egress.fetchFor(this.policy(a)), a.cardUrl);
    const digest = cardDigest(served);
    if (digest !== a.digest) {
      // Recorded only if the pin is still the one this call read and nothing is pending (another replica may have
      // recorded the change first, or an admin approved it meanwhile); the call is refused either way.
      await this.stored(() => this.d.store.setPending(a.id, served, digest, now, a.digest));
      this.checkedAt.delete(a.id);
      const e = new AgentCardChanged(a.id);
      const before = new Set(cardSkills(a.card).map((s) => s.id));
      const after = new Set(cardSkills(served).map((s) => s.id));
      Object.assign(st.details, {
        pinnedDigest: a.digest,
        servedDigest: digest,
        changedFields: Object.keys({ ...a.card, ...served }).filter((k) => canonicalJson(a.card[k] ?? null) !== canonicalJson(served[k] ?? null)).sort().join(','),
        skillsAdded: [...after].filter((s) => !before.has(s)).join(','),
        skillsRemoved: [...before].filter((s) => !after.has(s)).join(','),
      });
      throw e;
    }
    this.checkedAt.set(a.id, now);
  }

  private decideCall(p: Principal, a: AgentRecord, skill: CardSkill, depth: number, findings: Findings | null, sourceIp: string): Decision {
    let server = a.url;
    try {
      server = new URL(a.url).origin;
    } catch {
      /* the registry stored a URL; keep it as is */
    }
    return this.d.decide({
      principal: p,
      action: 'callAgent',
      resource: { type: 'AgentSkill', id: `${a.id}/${skill.id}`, attrs: { agent: a.id, skill: skill.id, server, tags: skill.tags, grantees: a.grantees, depth } },
      context: { now: this.d.clock.now(), sourceIp, listener: 'inference', findings, riskScore: this.d.risk?.(p) ?? 0, tenant: p.tenant },
    });
  }

  /** GET /a2a/{id}/.well-known/agent-card.json: the pinned card, pointing through Warden. */
  async card(p: Principal, id: string): Promise<Record<string, unknown>> {
    A2AGateway.checkCaller(p, Number.POSITIVE_INFINITY);
    const a = await this.visible(p, id);
    return rewriteCard(a.card, `${this.d.publicOrigin}/a2a/${encodeURIComponent(a.id)}`);
  }

  private owner(p: Principal): string {
    return `${p.tenant}/${p.kind}/${p.id}`;
  }

  /** The agent store (PostgreSQL with replicas) not answering is a refusal, never a guess. */
  private async stored<T>(f: () => Promise<T>): Promise<T> {
    try {
      return await f();
    } catch (e) {
      if (e instanceof WardenError) throw e;
      this.d.log.error({ err: e }, 'the agent store cannot be reached');
      throw new FailClosed('agent_store_unavailable', 'the agent registry cannot be reached');
    }
  }

  /** A task this caller started on this agent (through any replica): its skill; else a2a_task_unknown. */
  private async ownTask(p: Principal, a: AgentRecord, id: string): Promise<string> {
    const t = await this.stored(() => this.d.store.findTask(a.id, id));
    if (!t || t.owner !== this.owner(p)) throw new A2ATaskUnknown(id);
    return t.skill;
  }

  /**
   * Records the tasks an answer names as the caller's (the first record of a task stands: an agent naming another
   * caller's task id gives this caller nothing). Stored before the answer is released: a caller never holds a task
   * id that no replica would let it read.
   */
  private async noteTasks(p: Principal, a: AgentRecord, skill: string, result: unknown, st: CallState): Promise<void> {
    const now = this.d.clock.now();
    for (const id of taskIdsOf(result)) {
      if (await this.stored(() => this.d.store.claimTask({ agent: a.id, id, owner: this.owner(p), skill, createdAt: now }))) st.details.taskId = id;
    }
    if (now - this.prunedAt >= PRUNE_EVERY_MS) {
      this.prunedAt = now;
      this.d.store.pruneTasks(now - TASK_RETENTION_MS).catch((e: unknown) => this.d.log.warn({ err: e }, 'pruning old A2A tasks failed'));
    }
  }

  /** POST /a2a/{id}: one JSON-RPC call relayed, mediated and recorded. Answers the caller itself; throws only when the ledger cannot record. */
  async serve(call: A2ACall, res: ServerResponse): Promise<void> {
    const started = process.hrtime.bigint();
    const st: CallState = { stage: 'identity', method: null, agent: null, skill: null, decision: null, findings: null, requestDigest: sha256Digest(call.body), responseDigest: null, details: {} };
    let rpcId: unknown = null;
    try {
      const p = call.principal;
      const depth = A2AGateway.checkCaller(p, this.d.maxDepth);
      st.details.depth = depth;
      st.stage = 'validate';
      let rpc: Record<string, unknown>;
      try {
        rpc = JSON.parse(call.body.toString('utf8')) as Record<string, unknown>;
      } catch {
        throw new A2ARequestInvalid('the body is not JSON', 'body');
      }
      if (rpc === null || typeof rpc !== 'object' || Array.isArray(rpc)) throw new A2ARequestInvalid('the body must be one JSON-RPC request object (batches are not relayed)', 'body');
      rpcId = rpc.id ?? null;
      if (rpc.jsonrpc !== '2.0') throw new A2ARequestInvalid('jsonrpc must be "2.0"', 'jsonrpc');
      if (typeof rpc.method !== 'string') throw new A2ARequestInvalid('method must be a string', 'method');
      const kind = METHODS[rpc.method];
      if (!kind) throw new A2AMethodNotSupported(rpc.method);
      st.method = rpc.method;
      const params = (rpc.params ?? {}) as Record<string, unknown>;
      if (params === null || typeof params !== 'object' || Array.isArray(params)) throw new A2ARequestInvalid('params must be an object', 'params');
      const a = await this.visible(p, call.agentId);
      st.agent = a;
      await this.recheck(a, st);
      st.stage = 'validate';
      const skills = cardSkills(a.card);
      let skillId: string;
      if (kind === 'task') {
        if (typeof params.id !== 'string') throw new A2ARequestInvalid('params.id must name the task', 'params.id');
        skillId = await this.ownTask(p, a, params.id);
        st.details.taskId = params.id;
      } else {
        const message = params.message as Record<string, unknown> | undefined;
        if (!message || typeof message !== 'object' || !Array.isArray(message.parts)) throw new A2ARequestInvalid('params.message with parts is required', 'params.message');
        const meta = (message.metadata ?? params.metadata ?? {}) as Record<string, unknown>;
        const named = meta['warden/skill'];
        if (named !== undefined && typeof named !== 'string') throw new A2ARequestInvalid('metadata["warden/skill"] must be a string', 'params.message.metadata');
        if (named === undefined && skills.length !== 1) throw new A2ASkillRequired(a.id);
        skillId = named ?? skills[0]!.id;
        // A follow-up message on a task of someone else's is refused like reading it.
        if (typeof message.taskId === 'string' && message.taskId !== '') {
          await this.ownTask(p, a, message.taskId);
        }
      }
      const skill = skills.find((s) => s.id === skillId);
      if (!skill) throw new A2ASkillUnknown(a.id, skillId);
      st.skill = skill.id;
      st.stage = 'inspect';
      st.findings = this.d.inspector.inspect(a2aText(params).join('\n'));
      st.stage = 'policy';
      const d = this.decideCall(p, a, skill, depth, st.findings, call.sourceIp);
      st.decision = d;
      if (!d.allow) throw new A2ACallDenied(d.reasons);
      // An agent call honours a flag (recorded in its entry); any other duty is refused, never ignored.
      flagDetails(st.details, flagsOnly(d.obligations, 'an agent call'));
      st.stage = 'egress';
      const token = await this.d.mint(p, a);
      const headers: Record<string, string> = {
        'content-type': 'application/json',
        accept: kind === 'stream' ? 'text/event-stream' : 'application/json',
        authorization: `Bearer ${token}`,
        'x-request-id': call.requestId,
      };
      const version = call.headers[A2A_VERSION_HEADER.toLowerCase()];
      if (typeof version === 'string') headers[A2A_VERSION_HEADER] = version;
      let upstream: Response;
      try {
        upstream = await this.d.egress.fetchFor(this.policy(a))(a.url, { method: 'POST', headers, body: call.body });
      } catch (e) {
        if (e instanceof WardenError) throw e;
        throw new A2AAgentFailed(`the agent ${a.id} could not be reached`);
      }
      if (upstream.status !== 200) {
        await upstream.body?.cancel().catch(() => undefined);
        throw new A2AAgentFailed(`the agent ${a.id} answered ${upstream.status}`);
      }
      st.stage = 'result';
      if ((upstream.headers.get('content-type') ?? '').startsWith('text/event-stream')) return await this.relayStream(call, res, upstream, p, a, skill, depth, st, rpcId, started);
      const text = await upstream.text().catch(() => {
        throw new A2AAgentFailed(`the agent ${a.id}'s answer could not be read (too large, or cut)`);
      });
      let json: Record<string, unknown>;
      try {
        json = JSON.parse(text) as Record<string, unknown>;
      } catch {
        throw new A2AAgentFailed(`the agent ${a.id} did not answer JSON`);
      }
      // Indirect prompt injection: the answer is inspected and the PDP asked again with its findings.
      st.findings = this.d.inspector.inspect(a2aText(json.result ?? json.error ?? null).join('\n'));
      const after = this.decideCall(p, a, skill, depth, st.findings, call.sourceIp);
      st.decision = after;
      if (!after.allow) throw new A2AResultBlocked(after.reasons);
      flagDetails(st.details, flagsOnly(after.obligations, 'an agent call'));
      await this.noteTasks(p, a, skill.id, json.result, st);
      st.responseDigest = sha256Digest(text);
      await this.record(call, st, 200, null, started, { outcome: json.error ? 'agent_error' : 'relayed' });
      sendJson(res, 200, json, { 'x-request-id': call.requestId });
    } catch (e) {
      const err = e instanceof WardenError ? e : new WardenError(500, 'server_error', 'internal_error', 'internal error');
      if (!(e instanceof WardenError)) this.d.log.error({ err: e, requestId: call.requestId }, 'A2A call failed');
      if (err.stage === 'audit') throw err;
      await this.record(call, st, err.status, err, started);
      sendError(res, err, call.requestId);
    }
  }

  /** SSE: each update is inspected and decided as it passes; a refused one ends the stream with an error event. */
  private async relayStream(call: A2ACall, res: ServerResponse, upstream: Response, p: Principal, a: AgentRecord, skill: CardSkill, depth: number, st: CallState, rpcId: unknown, started: bigint): Promise<void> {
    res.writeHead(200, { ...SSE_HEADERS, 'x-request-id': call.requestId });
    let events = 0;
    const digests: string[] = [];
    const findingsSeen: Findings[] = [];
    const closed = new AbortController();
    res.once('close', () => closed.abort());
    try {
      for await (const ev of parseSseStream(upstream, this.d.limits.maxResponseBytes)) {
        if (closed.signal.aborted) break;
        let json: Record<string, unknown>;
        try {
          json = JSON.parse(ev.data) as Record<string, unknown>;
        } catch {
          throw new A2AAgentFailed(`the agent ${a.id} streamed an event that is not JSON`);
        }
        events++;
        st.details.events = events;
        const f = this.d.inspector.inspect(a2aText(json.result ?? json.error ?? null).join('\n'));
        findingsSeen.push(f);
        st.findings = f;
        const after = this.decideCall(p, a, skill, depth, f, call.sourceIp);
        st.decision = after;
        if (!after.allow) throw new A2AResultBlocked(after.reasons);
        flagDetails(st.details, flagsOnly(after.obligations, 'an agent call'));
        await this.noteTasks(p, a, skill.id, json.result, st);
        digests.push(sha256Digest(ev.data));
        res.write(ev.type === 'error' ? formatSSEErrorEvent(json) : formatSSEEvent(json));
      }
      st.responseDigest = sha256Digest(digests.join(','));
      if (closed.signal.aborted) {
        await upstream.body?.cancel().catch(() => undefined);
        await this.record(call, st, 499, new WardenError(499, 'invalid_request_error', 'client_closed', 'the caller closed the stream'), started);
        return;
      }
      await this.record(call, st, 200, null, started, { outcome: 'streamed' });
      res.end();
    } catch (e) {
      await upstream.body?.cancel().catch(() => undefined);
      const err = e instanceof WardenError ? e : new A2AAgentFailed(`the stream from ${a.id} failed`);
      if (err.stage === 'audit') {
        res.destroy();
        throw err;
      }
      st.responseDigest = sha256Digest(digests.join(','));
      // The status was sent with the first byte: the refusal is the stream's last event (JSON-RPC error, Warden's code).
      await this.record(call, st, err.status, err, started);
      if (!res.writableEnded) res.end(formatSSEErrorEvent({ jsonrpc: '2.0', id: rpcId, error: { code: -32603, message: `${err.code}: ${err.message}`, data: { warden_code: err.code, request_id: call.requestId } } }));
    }
  }

  private async record(call: A2ACall, st: CallState, status: number, err: WardenError | null, started: bigint, details?: Record<string, string | number | boolean | null>): Promise<void> {
    const p = call.principal;
    const event: AuditEvent = auditEvent({
      time: new Date(this.d.clock.now()).toISOString(),
      requestId: call.requestId,
      kind: 'tool',
      principal: auditPrincipal(p),
      action: 'callAgent',
      resource: { type: 'AgentSkill', id: `${call.agentId}/${st.skill ?? '*'}` },
      decision: err ? (err.status >= 500 ? 'error' : 'deny') : 'allow',
      policyIds: st.decision?.policyIds ?? [],
      policyVersion: st.decision?.policyVersion ?? null,
      findings: st.findings ? this.d.inspector.count(st.findings) : {},
      deployment: st.agent ? { id: `agent:${st.agent.id}`, artifactDigest: st.agent.digest } : null,
      requestDigest: st.requestDigest,
      responseDigest: st.responseDigest,
      status,
      latencyMs: Math.round(Number(process.hrtime.bigint() - started) / 1e3) / 1e3,
      details: { listener: 'inference', agent: call.agentId, skill: st.skill, method: st.method, ...st.details, ...(details ?? {}) },
    });
    if (err) {
      event.errorCode = err.code;
      if (err.reason !== undefined) event.reason = err.reason;
      event.stage = err.stage ?? st.stage;
    }
    this.d.observe?.(p, { status, stage: event.stage ?? null, findings: st.findings });
    try {
      await this.d.audit.append(event);
    } catch (e) {
      this.d.log.error({ err: e, requestId: call.requestId }, 'audit append failed; the A2A answer is withheld');
      const fc = new FailClosed('audit_unavailable', 'the audit ledger could not record this agent call; the answer is withheld');
      fc.stage = 'audit';
      throw fc;
    }
  }
}
