// Human in the loop. A held call becomes an approval request bound to {requester, agent, tool (and its
// version), arguments digest, published policy set version, expiry}. A different human with the `approve`
// permission and recent MFA decides it once; the approved call then executes once, with exactly the
// approved arguments under the same policy version — anything else needs a new approval.
import type { Clock } from '../core/clock.js';
import { newId } from '../core/ids.js';
import type { Principal } from '../core/types.js';
import { BadRequest } from '../core/errors.js';
import type { ChangeFeed } from '../store/pg-changes.js';
import type { ApprovalRecord, ApprovalStatus, ToolRecord, ToolStore } from '../store/tools-store.js';
import type { ToolDecide } from './decide.js';
import { toolResourceAttrs } from './decide.js';
import {
  ApprovalAlreadyDecided,
  ApprovalAlreadyUsed,
  ApprovalExpired,
  ApprovalMismatch,
  ApprovalNotApproved,
  ApprovalNotFound,
  ApproverNotPermitted,
  ApproverStepUpRequired,
} from './errors.js';

export interface ApprovalOptions {
  /** How long a request may wait for a decision and then for its execution; default 15 min. */
  ttlMs?: number;
  /** The approver's MFA must be at most this old (RFC 9470 max_age); default 900 s. */
  approverMfaMaxAgeSec?: number;
}

/** Replicas sharing the store: decisions are announced, and a waiter re-reads the store every `pollMs` as a safety net. */
export interface SharedApprovals {
  changes: ChangeFeed;
  /** Default 2000 ms. */
  pollMs?: number;
  /** An announcement that could not be sent or read (the poll still delivers the decision). */
  onError?: (e: unknown) => void;
}

export interface HeldCall {
  tool: ToolRecord;
  principal: Principal;
  argsDigest: string;
  argsJson: string;
  policyVersion: string;
  requestId: string;
}

export function agentOf(p: Principal): string | null {
  return p.actor?.[0]?.id ?? null;
}

export function approvalView(a: ApprovalRecord): Record<string, unknown> {
  const iso = (t: number | null) => (t === null ? null : new Date(t).toISOString());
  return {
    id: a.id,
    tool: a.tool,
    tool_version: a.toolVersion,
    requester: a.requester,
    tenant: a.tenant,
    agent: a.agent,
    arguments: JSON.parse(a.argsJson) as unknown,
    args_digest: a.argsDigest,
    policy_version: a.policyVersion,
    status: a.status,
    created_at: iso(a.createdAt),
    expires_at: iso(a.expiresAt),
    decided_by: a.decidedBy,
    decided_at: iso(a.decidedAt),
    reason: a.reason,
    consumed_at: iso(a.consumedAt),
  };
}

export const APPROVAL_PAGE_DEFAULT = 50;
export const APPROVAL_PAGE_MAX = 500;

export interface ApprovalListQuery {
  status?: ApprovalStatus;
  tool?: string;
  requester?: string;
  order?: 'oldest' | 'newest';
  limit?: number;
  cursor?: string;
}

export interface ApprovalPage {
  data: ApprovalRecord[];
  nextCursor: string | null;
}

// A cursor is the position of the last row shown, and the order it was shown in: reading it in the other
// order would silently skip or repeat rows, so that is refused.
function encodeCursor(order: 'oldest' | 'newest', a: ApprovalRecord): string {
  return Buffer.from(JSON.stringify([order, a.createdAt, a.id]), 'utf8').toString('base64url');
}

function decodeCursor(cursor: string, order: 'oldest' | 'newest'): { createdAt: number; id: string } {
  let v: unknown;
  try {
    v = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    v = null;
  }
  if (!Array.isArray(v) || v.length !== 3 || (v[0] !== 'oldest' && v[0] !== 'newest') || !Number.isSafeInteger(v[1]) || typeof v[2] !== 'string') {
    throw new BadRequest('invalid_field', 'cursor is not one this server issued', 'cursor');
  }
  if (v[0] !== order) throw new BadRequest('invalid_field', `cursor was issued for order=${String(v[0])}, not order=${order}`, 'cursor');
  return { createdAt: v[1] as number, id: v[2] };
}

export class ApprovalService {
  readonly ttlMs: number;
  readonly mfaMaxAgeSec: number;
  /** Callers waiting for a decision (RFC 7240 `Prefer: wait`), by approval id. */
  private readonly waiters = new Map<string, Set<(status: ApprovalRecord['status']) => void>>();
  private readonly unsubscribe: () => void = () => undefined;

  constructor(
    private readonly store: ToolStore,
    private readonly clock: Clock,
    opts: ApprovalOptions = {},
    private readonly shared: SharedApprovals | null = null,
  ) {
    this.ttlMs = opts.ttlMs ?? 15 * 60_000;
    this.mfaMaxAgeSec = opts.approverMfaMaxAgeSec ?? 900;
    if (shared) {
      this.unsubscribe = shared.changes.subscribe((c) => {
        if (c.type === 'approval') void this.wakeFromStore(c.id);
        else if (c.type === 'resync') for (const id of this.waiters.keys()) void this.wakeFromStore(id);
      });
    }
  }

  /** Wakes the waiters of `id` if the stored request is no longer pending (decided here or on another replica). */
  private async wakeFromStore(id: string): Promise<void> {
    if (!this.waiters.has(id)) return;
    try {
      const a = await this.store.getApproval(id);
      if (a && a.status !== 'pending') this.wake(id, a.status);
    } catch (e) {
      this.shared?.onError?.(e);
    }
  }

  private wake(id: string, status: ApprovalRecord['status']): void {
    for (const fn of this.waiters.get(id) ?? []) fn(status);
    this.waiters.delete(id);
  }

  async hold(c: HeldCall): Promise<ApprovalRecord> {
    const now = this.clock.now();
    const a: ApprovalRecord = {
      id: newId('apr'),
      tool: c.tool.name,
      toolVersion: c.tool.version,
      requester: c.principal.id,
      tenant: c.principal.tenant,
      agent: agentOf(c.principal),
      argsDigest: c.argsDigest,
      argsJson: c.argsJson,
      policyVersion: c.policyVersion,
      createdAt: now,
      expiresAt: now + this.ttlMs,
      status: 'pending',
      decidedBy: null,
      decidedAt: null,
      reason: null,
      consumedAt: null,
      requestId: c.requestId,
    };
    await this.store.insertApproval(a);
    return a;
  }

  async get(id: string): Promise<ApprovalRecord> {
    const a = await this.store.getApproval(id);
    if (!a) throw new ApprovalNotFound(id);
    return a;
  }

  /** One page, oldest first unless asked otherwise; `nextCursor` is null on the last page. */
  async list(q: ApprovalListQuery = {}): Promise<ApprovalPage> {
    const order = q.order ?? 'oldest';
    const limit = q.limit ?? APPROVAL_PAGE_DEFAULT;
    const after = q.cursor === undefined ? undefined : decodeCursor(q.cursor, order);
    // One row more than asked says whether another page exists without a count query.
    const rows = await this.store.listApprovals({ status: q.status, tool: q.tool, requester: q.requester, newestFirst: order === 'newest', after, limit: limit + 1 });
    const data = rows.slice(0, limit);
    const last = data[data.length - 1];
    return { data, nextCursor: rows.length > limit && last ? encodeCursor(order, last) : null };
  }

  /**
   * An approver decides. Checks, each an early refusal: pending, not expired, a human acting for
   * themself, not the requester or the agent, same tenant, recent MFA, and the PDP's `approve`.
   */
  async decide(id: string, approver: Principal, approve: boolean, reason: string | null, tool: ToolRecord, decide: ToolDecide, sourceIp: string): Promise<ApprovalRecord> {
    const a = await this.get(id);
    const now = this.clock.now();
    if (a.status !== 'pending') throw new ApprovalAlreadyDecided(a.status);
    if (now >= a.expiresAt) throw new ApprovalExpired();
    if (approver.kind !== 'user') throw new ApproverNotPermitted(`approvals are decided by a person, not a ${approver.kind}`);
    if (approver.actor?.length) throw new ApproverNotPermitted('an approval cannot be decided through a delegated token');
    if (approver.id === a.requester) throw new ApproverNotPermitted('the requester cannot approve their own call (four eyes)');
    if (a.agent !== null && approver.id === a.agent) throw new ApproverNotPermitted('the acting agent cannot approve the call');
    if (approver.tenant !== a.tenant && approver.tenant !== 'system') throw new ApproverNotPermitted('the approver belongs to another tenant');
    const mfaAt = approver.authn.mfaAt;
    if (mfaAt === undefined) throw new ApproverStepUpRequired(this.mfaMaxAgeSec, 'the credential carries no MFA');
    if (now - mfaAt > this.mfaMaxAgeSec * 1000) throw new ApproverStepUpRequired(this.mfaMaxAgeSec, 'the last MFA is too old');
    const d = decide({
      principal: approver,
      action: 'approve',
      resource: { type: 'Tool', id: tool.name, attrs: toolResourceAttrs(tool) },
      context: { now, sourceIp, listener: 'admin', findings: null, riskScore: 0, tenant: a.tenant },
    });
    if (!d.allow) throw new ApproverNotPermitted(`the policy does not grant ${approver.id} the approve permission on ${tool.name}${d.reasons.length ? ` (${d.reasons.join('; ')})` : ''}`);
    if (!(await this.store.decideApproval(id, approve ? 'approved' : 'denied', approver.id, now, reason))) throw new ApprovalAlreadyDecided((await this.get(id)).status);
    const decided = await this.get(id);
    this.wake(id, decided.status);
    // The decision is committed; a replica that misses the announcement still sees it at its next poll.
    await this.shared?.changes.publish({ type: 'approval', id }).catch((e: unknown) => this.shared?.onError?.(e));
    return decided;
  }

  /**
   * Resolves with the approval's status once it is decided, or with 'pending' after `ms` or when `signal`
   * aborts (the caller went away). Decisions made by this process wake the waiter at once; with a shared
   * store, so do decisions announced by other replicas, and the store is polled in case one was missed.
   */
  async waitForDecision(id: string, ms: number, signal: AbortSignal): Promise<ApprovalRecord['status']> {
    const now = (await this.get(id)).status;
    if (now !== 'pending' || ms <= 0 || signal.aborted) return now;
    return new Promise((resolve) => {
      const set = this.waiters.get(id) ?? new Set();
      this.waiters.set(id, set);
      const finish = (status: ApprovalRecord['status']) => {
        clearTimeout(timer);
        if (poll) clearInterval(poll);
        signal.removeEventListener('abort', onAbort);
        set.delete(wake);
        if (set.size === 0 && this.waiters.get(id) === set) this.waiters.delete(id);
        resolve(status);
      };
      const wake = (status: ApprovalRecord['status']) => finish(status);
      const onAbort = () => finish('pending');
      const timer = setTimeout(() => {
        this.store.getApproval(id).then(
          (a) => finish(a?.status ?? 'pending'),
          () => finish('pending'),
        );
      }, ms);
      const poll = this.shared ? setInterval(() => void this.wakeFromStore(id), this.shared.pollMs ?? 2000) : null;
      set.add(wake);
      signal.addEventListener('abort', onAbort, { once: true });
      // A decision committed while the first read was in flight woke nobody: look once more.
      void this.wakeFromStore(id);
    });
  }

  /**
   * The held call comes back with its approval id: it must be the very call that was approved, under
   * the same policy version and tool version; then the approval is consumed (exactly once).
   */
  async consume(id: string, c: { tool: ToolRecord; principal: Principal; argsDigest: string; policyVersion: string }): Promise<ApprovalRecord> {
    const a = await this.get(id);
    const now = this.clock.now();
    if (a.requester !== c.principal.id || a.tenant !== c.principal.tenant) throw new ApprovalMismatch('requester');
    if (a.agent !== agentOf(c.principal)) throw new ApprovalMismatch('agent');
    if (a.tool !== c.tool.name || a.toolVersion !== c.tool.version) throw new ApprovalMismatch('tool');
    if (a.argsDigest !== c.argsDigest) throw new ApprovalMismatch('arguments');
    if (a.status === 'consumed') throw new ApprovalAlreadyUsed();
    if (a.status !== 'approved') throw new ApprovalNotApproved(a.status);
    if (now >= a.expiresAt) throw new ApprovalExpired();
    if (a.policyVersion !== c.policyVersion) throw new ApprovalMismatch('policy_version');
    // One conditional UPDATE in the shared store: of parallel attempts on any replicas exactly one wins.
    if (!(await this.store.consumeApproval(id, now))) throw new ApprovalAlreadyUsed();
    return { ...a, status: 'consumed', consumedAt: now };
  }

  close(): void {
    this.unsubscribe();
    for (const id of [...this.waiters.keys()]) this.wake(id, 'pending');
  }
}
