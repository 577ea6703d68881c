// Baselines beyond the principal's own (docs/monitor.md "Peer groups, models and tools"): each model and each tool
// has a baseline of how it is used (source networks, hours, prompt or argument length), and each peer group —
// the principals of one tenant, kind and set of groups (their role) — one of what its members do (networks,
// hours, the models and tools they call, prompt length). A request is compared with its peer group's baseline
// and with the model's or tool's before they learn it; what stands out is held against the principal that made
// it for `holdMs`, with the reasons ("peers acme/user[consumers]: new_model gpt-admin"), and feeds its risk.
// A new member acting like its peers is not flagged though it has no history of its own; a member doing what no
// peer does is, even when its own baseline is still learning.
import { PrincipalBaselines, type BaselineObservation, type BaselineReport, type Deviation } from './baselines.js';

export interface PeerObservation {
  /** The principal's monitor key (tenant/kind:id). */
  principal: string;
  who: { tenant: string; kind: string; groups: readonly string[] };
  sourceIp: string;
  /** A model request: the model; a tool call: null (see `tool`). */
  model: string | null;
  tool: string | null;
  /** The prompt's length (a model request) or the arguments' (a tool call). */
  chars: number;
  /** What the answer cost and what came of it (tokens, refusal, findings), learnt by every baseline here. */
  answer?: Pick<BaselineObservation, 'tokensIn' | 'tokensOut' | 'refusal' | 'findings'>;
}

export interface PeerOptions {
  clock: { now(): number };
  minObservations?: number;
  holdMs?: number;
  halfLife?: number;
  reportAt?: number;
  onDeviation?: (principal: string, d: Deviation) => void;
  /** Cluster: where every replica's held deviations meet (redis-peers.ts); the one that reports is the store's call. */
  shared?: SharedPeerDeviations;
  /** A held deviation that could not be shared (it still holds here). */
  onShareError?: (err: unknown, principal: string) => void;
}

/** The held peer deviations shared by the replicas. */
export interface SharedPeerDeviations {
  /**
   * Keeps the stronger of `d` and the one held (for `holdMs`); true when this call is the first to see the
   * principal's deviation at or past `reportAt` while held (this replica reports it).
   */
  put(principal: string, d: Deviation, reportAt: number): Promise<boolean>;
  /** The deviation held for the principal by any replica (null: none, or it faded). */
  get(principal: string): Promise<Deviation | null>;
  delete(principal: string): Promise<void>;
}

/** The peer group a principal belongs to: its tenant, kind and groups (sorted). */
export const peerGroupOf = (who: PeerObservation['who']): string => `${who.tenant}/${who.kind}[${[...who.groups].sort().join(',')}]`;

export class PeerBaselines {
  /** Keys: `peer:<group>`, `model:<name>`, `tool:<name>`. */
  readonly baselines: PrincipalBaselines;
  private readonly held = new Map<string, Deviation & { reported: boolean }>();
  private readonly holdMs: number;
  private readonly reportAt: number;

  constructor(private readonly o: PeerOptions) {
    this.baselines = new PrincipalBaselines({ clock: o.clock, ...(o.minObservations ? { minObservations: o.minObservations } : {}), ...(o.halfLife ? { halfLife: o.halfLife } : {}), maxPrincipals: 20_000 });
    this.holdMs = o.holdMs ?? 600_000;
    this.reportAt = o.reportAt ?? 0.5;
  }

  /** Compares the request with its peer group's and its model's or tool's baseline, learns it; the principal's deviation now. */
  observe(ob: PeerObservation): Deviation | null {
    const used = ob.model ?? (ob.tool ? `tool:${ob.tool}` : null);
    const group = peerGroupOf(ob.who);
    const found: { score: number; reasons: string[] }[] = [];
    const peers = this.baselines.judgeAndLearn(`peer:${group}`, { sourceIp: ob.sourceIp, model: used, promptChars: ob.chars, ...ob.answer });
    if (peers) found.push({ score: peers.score, reasons: peers.reasons.map((r) => `peers ${group}: ${r}`) });
    const resource = ob.model ? `model:${ob.model}` : ob.tool ? `tool:${ob.tool}` : null;
    if (resource) {
      // Who calls a model is the peer group's business (new_model there); the resource's own baseline judges where
      // from, when and how large.
      const r = this.baselines.judgeAndLearn(resource, { sourceIp: ob.sourceIp, model: null, promptChars: ob.chars, ...ob.answer } satisfies BaselineObservation);
      if (r) found.push({ score: r.score, reasons: r.reasons.map((x) => `${resource}: ${x}`) });
    }
    const now = this.o.clock.now();
    const current = this.deviation(ob.principal);
    if (found.length) {
      const score = Math.round((1 - found.reduce((acc, f) => acc * (1 - f.score), 1)) * 1000) / 1000;
      if (score >= (current?.score ?? 0)) {
        const d = { score, reasons: found.flatMap((f) => f.reasons), at: now, reported: (current && this.held.get(ob.principal)?.reported) ?? false };
        this.held.delete(ob.principal);
        if (this.held.size >= 100_000) this.held.delete(this.held.keys().next().value!);
        this.held.set(ob.principal, d);
        const seen = { score: d.score, reasons: d.reasons, at: d.at };
        if (this.o.shared) {
          // The cluster's held deviation: the stronger stays, and exactly one replica reports a crossing.
          d.reported = true;
          this.o.shared.put(ob.principal, seen, this.reportAt).then(
            (first) => first && this.o.onDeviation?.(ob.principal, seen),
            (e: unknown) => this.o.onShareError?.(e, ob.principal),
          );
        } else if (d.score >= this.reportAt && !d.reported) {
          d.reported = true;
          this.o.onDeviation?.(ob.principal, seen);
        }
      }
    }
    return this.deviation(ob.principal);
  }

  /** The principal's deviation from its peers and from the models and tools it used, while held (null: none). */
  deviation(principal: string): Deviation | null {
    const d = this.held.get(principal);
    if (!d) return null;
    if (this.o.clock.now() - d.at >= this.holdMs) {
      this.held.delete(principal);
      return null;
    }
    return { score: d.score, reasons: d.reasons, at: d.at };
  }

  /** A peer group's, model's or tool's baseline (`peer:<group>`, `model:<name>`, `tool:<name>`). */
  report(key: string): BaselineReport | null {
    return this.baselines.report(key);
  }

  /** Forgets what is held against the principal (its peers' and the resources' baselines are not its own), everywhere. */
  async reset(principal: string): Promise<void> {
    this.held.delete(principal);
    await this.o.shared?.delete(principal);
  }

  /** Cluster: before the principal's request, what any replica holds against it counts here too (not reported again). */
  async admit(principal: string): Promise<void> {
    if (!this.o.shared) return;
    const theirs = await this.o.shared.get(principal);
    const mine = this.deviation(principal);
    if (!theirs || this.o.clock.now() - theirs.at >= this.holdMs) {
      // Lifted everywhere (an operator's reset through another replica) or faded.
      if (!theirs) this.held.delete(principal);
      return;
    }
    if (!mine || theirs.score > mine.score) {
      this.held.delete(principal);
      this.held.set(principal, { ...theirs, reported: true });
    }
  }
}
