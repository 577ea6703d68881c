// Wires the monitor plane: the gateway reports each answered request, the PDP asks for a principal's risk,
// the monitor's responses (throttle, release, revoke) are ledger entries, and a revoke is carried out on the
// credential in use (an API key or a Warden token; other credentials are the IdP's to revoke, recorded so).
// Admin: GET /admin/v1/monitor (readAudit), POST /admin/v1/monitor/{principal}/reset (manageKeys).
// With `store.redis` the windows and risk are shared by every replica (redis-monitor.ts).
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { AdminRequest } from '../admin/admin.js';
import type { Clock } from '../core/clock.js';
import { BadRequest, FailClosed, NotFound, WardenError } from '../core/errors.js';
import type { AuditEvent, AuthnMethod, Findings, Principal } from '../core/types.js';
import type { WardenConfig } from '../config/config.js';
import type { AuditSink } from '../core/audit-sink.js';
import { sendJson } from '../http/respond.js';
import { BehaviourMonitor, type MonitorAction, type MonitorOptions, type Observation, type RiskReport, type Signals } from './monitor.js';
import { MonitorUnavailable, SharedBehaviourMonitor } from './redis-monitor.js';
import { recordSystemEntry } from './entries.js';
import { assembleStreamedAnswer, profileAnswer, profileRequest, type AnswerSample } from './answer-profile.js';
import { DriftDetector, type DriftEvent } from './drift.js';
import { SharedDrift, type DriftProfileStore } from './drift-shared.js';
import { PlaybookEngine, type AttestationFailure, type Playbook, type PlaybookEffects } from './playbooks.js';
import { ExtractionDetector, promptsOf, type ExtractionAssessment, type ExtractionRequest } from './extraction.js';
import { SharedExtraction } from './redis-extraction.js';
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { PrincipalBaselines, type BaselineObservation } from './baselines.js';
import { prefixedStore, SharedBaselines, type SharedBaselineStore } from './baselines-shared.js';
import { PeerBaselines } from './peers.js';
import { RedisPeerDeviations } from './redis-peers.js';
import type { HoldStore, StepStore } from './playbook-state.js';

/** What the monitor reads of an answered model request to profile its answer (the gateway's context). */
export interface AnsweredRequest {
  model: string | null;
  /** The registered deployment that served (the workload plane's), if any. */
  deployment?: { id: string; artifactDigest: string };
  /** The configured upstream that served. */
  target?: { name: string };
}

export interface MonitorPlane {
  /**
   * Gateway: before policy, a throttled principal beyond its allowance gets 429 `monitor_throttled`. A promise
   * only when shared (Redis): then it also reads the principal's shared risk for `risk()`, and rejects with 503
   * `monitor_unavailable` when Redis does not answer.
   */
  admit(p: Principal): void | Promise<void>;
  /** Hears of every answered request (the gateway's context: who asked, and what inspection found). */
  observe(ctx: { principal?: Principal; findings?: Findings; endpoint?: string; body?: Record<string, unknown>; sourceIp?: string; model?: string | null; usage?: { prompt: number; completion: number } | null }, event: AuditEvent): void;
  /** Tools plane: every decided tool call. */
  observeTool(p: Principal, o: { status: number; stage: string | null; findings: Findings | null; tool?: string; sourceIp?: string; argsChars?: number }): void;
  /** Gateway: a model's answer as it produced it (a stream assembled at its end), with what the answer guard found in it. */
  observeAnswer(ctx: AnsweredRequest, answer: unknown, findings: readonly unknown[]): void;
  /** Gateway: a streamed answer at its end, as the upstream's event payloads (assembled and profiled here, once). */
  observeStreamedAnswer(ctx: AnsweredRequest, events: readonly string[], findings: readonly unknown[]): void;
  /** PDP: the principal's risk, 0..1. */
  risk(p: Principal): number;
  /** Inventory: the principal's risk and why (behaviour signals, extraction, deviation from its baseline). */
  riskWithReasons(p: { tenant: string; kind: string; id: string }): { risk: number; reasons: string[] };
  /**
   * Forgets a principal (windows and risk, extraction, baseline, playbook holds), as the admin reset does: the
   * red team clears its own principal before each attack so that each is judged on its own (the caller records it).
   */
  forget(p: { tenant: string; kind: string; id: string }): Promise<void>;
  /** Reads the stored drift profiles before the gateway serves (a restarted gateway judges at once), then keeps them in sync. */
  start(): Promise<void>;
  /** Saves what must survive a restart (the baselines: to the file, or merged into the shared store) and stops the monitor's timers. */
  close(): Promise<void>;
  /** Workload plane: a deployment's attestation turned untrusted (playbooks with `when: { attestation: true }`). */
  onAttestationFailure(e: AttestationFailure): void;
  adminRoute(req: IncomingMessage, res: ServerResponse, ar: AdminRequest): Promise<boolean>;
}

/** One principal, one key: tenant, kind and id (ids of different IdPs may coincide). */
export const monitorKey = (p: { tenant: string; kind: string; id: string }): string => `${p.tenant}/${p.kind}:${p.id}`;

/** What the plane needs of a monitor: the in-process one answers at once, the shared one with promises. */
interface MonitorEngine {
  observe(ob: Observation): void | Promise<void>;
  admit(principal: string): void | Promise<void>;
  risk(principal: string): number;
  /** Risk and window signals as this replica last saw them (null for a principal never seen). */
  assess(principal: string): { risk: number; signals: Signals } | null;
  report(): RiskReport[] | Promise<RiskReport[]>;
  reset(principal: string): boolean | Promise<boolean>;
}

/** The principal a monitor key names (null for a key not of that shape). */
function principalOf(key: string): { id: string; kind: Principal['kind']; tenant: string } | null {
  const m = /^([^/]+)\/([^:]+):(.+)$/.exec(key);
  return m ? { tenant: m[1]!, kind: m[2]! as Principal['kind'], id: m[3]! } : null;
}

export function buildMonitor(
  config: WardenConfig,
  o: {
    clock: Clock;
    log: Logger;
    audit: AuditSink;
    revoke: (authn: AuthnMethod, credentialId: string) => Promise<boolean>;
    /** Where the per-principal baselines are kept across restarts (loaded at start, saved every minute and at close). */
    baselinesFile?: string;
    /** Cluster mode: windows and risk shared by every replica under `<prefix>` (e.g. `warden:monitor:`). */
    shared?: { redis: Redis; prefix: string };
    /** Cluster mode: the per-principal baselines merged by every replica (instead of `baselinesFile`). */
    sharedBaselines?: SharedBaselineStore;
    /** Where the drift profiles are kept and shared (SQLite in the data dir, or PostgreSQL); absent: per process. */
    driftStore?: DriftProfileStore;
    /** Takes a registered deployment out of routing (the workload plane's quarantine); false when it cannot. */
    quarantine?: (deploymentId: string, reason: string) => Promise<boolean>;
    /** Revokes every Warden token naming the principal (a playbook's revokeTokens). */
    revokeTokens?: (principalId: string) => Promise<boolean>;
    /**
     * Where playbook step records outlive the process (a revert after a restart or through another replica), and in
     * cluster mode where holds are shared (docs/monitor.md "Response playbooks").
     */
    playbookState?: { steps: StepStore; holds?: HoldStore };
    /** Takes a tool out of service and puts it back (the tools plane's quarantine; a playbook's quarantineTool and its revert). */
    tools?: { quarantineTool: PlaybookEffects['quarantineTool']; releaseTool: PlaybookEffects['releaseTool'] };
  },
): MonitorPlane | null {
  const m = config.monitor;
  if (!m.enabled) return null;
  const playbooks = m.playbooks.length ? buildPlaybooks(m.playbooks, o) : null;
  const drift = m.drift.enabled ? buildDrift(config, o, playbooks) : null;
  const inputDrift = m.drift.enabled && m.drift.inputs ? buildInputDrift(config, o) : null;
  const sharedDrift = drift && o.driftStore ? new SharedDrift(drift.detector, inputDrift, o.driftStore, { syncMs: m.drift.syncMs, clock: o.clock, log: o.log }) : null;
  /** A finding about a principal (extraction, deviation): a warning and a `kind: system` entry naming it. */
  const finding = (action: string, principal: string, details: Record<string, string | number | boolean | null>) => {
    o.log.warn({ principal, [action]: details }, `monitor: ${action}`);
    const who = principalOf(principal);
    recordSystemEntry(o, { ...(who ? { principal: { ...who, authn: 'none' as const } } : {}), action, decision: 'allow', details });
  };
  const x = m.extraction;
  const extraction = x.enabled
    ? new ExtractionDetector({
        clock: o.clock,
        windowMs: x.windowMs,
        minRequests: x.minRequests,
        samples: x.samples,
        embeddingInputs: x.embeddingInputs,
        threshold: x.threshold,
        onSuspect: (principal, a) => suspect(principal, a),
      })
    : null;
  function suspect(principal: string, a: ExtractionAssessment): void {
    finding('monitor.extraction', principal, { score: a.score, ...Object.fromEntries(Object.entries(a.parts).map(([k, v]) => [k, Math.round(v * 1000) / 1000])), requests: a.requests, distinctShort: a.distinctShort, templatedRequests: a.templatedRequests, logprobRequests: a.logprobRequests, samples: a.samples, embeddingInputs: a.embeddingInputs });
  }
  // Cluster: the windows are counted in Redis, so a campaign spread over the replicas is one campaign.
  const sharedExtraction = extraction && o.shared ? new SharedExtraction(o.shared.redis, o.shared.prefix, extraction, { clock: o.clock, onSuspect: suspect }) : null;
  const extractionView = sharedExtraction ?? extraction;
  const extractionOf = (key: string) => (extractionView ? extractionView.score(key) : 0);
  const bl = m.baselines;
  const baselines = bl.enabled
    ? new PrincipalBaselines({
        clock: o.clock,
        minObservations: bl.minObservations,
        holdMs: bl.holdMs,
        halfLife: bl.halfLife,
        reportAt: bl.reportAt,
        onDeviation: (principal, d) => finding('monitor.deviation', principal, { score: d.score, reasons: d.reasons.join('; ') }),
      })
    : null;
  // Cluster stores: one baseline per principal for every replica, kept in the store; else a file in the data dir.
  const sharedBaselines = baselines && o.sharedBaselines ? new SharedBaselines(baselines, o.sharedBaselines, { syncMs: bl.syncMs, clock: o.clock, log: o.log }) : null;
  sharedBaselines?.start();
  // Peer groups, models and tools (docs/monitor.md "Peer groups, models and tools"); shared like the rest, by merge only.
  const peers =
    bl.enabled && bl.peerWeight > 0
      ? new PeerBaselines({
          clock: o.clock,
          minObservations: bl.minObservations,
          holdMs: bl.holdMs,
          halfLife: bl.halfLife,
          reportAt: bl.reportAt,
          onDeviation: (principal, d) => finding('monitor.peer_deviation', principal, { score: d.score, reasons: d.reasons.join('; ') }),
          // Cluster: what one replica holds against a principal counts on every one (reported once).
          ...(o.shared ? { shared: new RedisPeerDeviations(o.shared.redis, o.shared.prefix, { holdMs: bl.holdMs, clock: o.clock }) } : {}),
          onShareError: (err, principal) => o.log.error({ err, principal }, 'monitor: a peer deviation could not be shared with the other replicas'),
        })
      : null;
  const sharedPeers = peers && o.sharedBaselines ? new SharedBaselines(peers.baselines, prefixedStore(o.sharedBaselines, 'res:'), { syncMs: bl.syncMs, clock: o.clock, log: o.log }) : null;
  sharedPeers?.start();
  const keepBaselines = baselines && !sharedBaselines && o.baselinesFile ? persistBaselines(baselines, o.baselinesFile, o.log) : null;
  // The PDP's risk: behaviour, extraction weighted (a confirmed campaign alone reaches riskWeight), and the
  // deviation from the principal's own baseline.
  const riskOf = (key: string) => {
    const r = 1 - (1 - monitor.risk(key)) * (1 - x.riskWeight * extractionOf(key)) * (1 - (baselines?.deviation(key)?.score ?? 0)) * (1 - bl.peerWeight * (peers?.deviation(key)?.score ?? 0));
    return Math.round(r * 1000) / 1000;
  };
  const record = (a: MonitorAction, decision: 'allow' | 'deny', extra: Record<string, string | number | boolean | null> = {}) =>
    recordSystemEntry(o, {
      principal: { id: a.who.id, kind: a.who.kind as Principal['kind'], tenant: a.who.tenant, authn: a.kind === 'revoke' ? a.authn : 'none' },
      action: `monitor.${a.kind}`,
      decision,
      details: { risk: a.risk, requests: a.signals.requests, denials: a.signals.denials, injections: a.signals.injections, secrets: a.signals.secrets, ...extra },
    });
  const options: MonitorOptions = {
    clock: o.clock,
    windowMs: m.windowMs,
    injectionThreshold: m.injectionThreshold,
    burstPerWindow: m.burstPerWindow,
    throttleAt: m.throttleAt,
    throttleRps: m.throttleRequestsPerSecond,
    revokeAt: m.revokeAt,
    onAction: (a) => {
      o.log.warn({ monitor: a.kind, principal: a.principal, risk: a.risk, signals: a.signals }, 'monitor response');
      if (a.kind !== 'revoke') return record(a, 'allow');
      // Only credentials Warden issued can be revoked here; for the others the ledger says so.
      o.revoke(a.authn, a.credentialId).then(
        (done) => record(a, done ? 'allow' : 'deny', { credential: a.credentialId, revoked: done }),
        (e: unknown) => {
          o.log.error({ err: e, credential: a.credentialId }, 'monitor could not revoke a credential');
          record(a, 'deny', { credential: a.credentialId, revoked: false });
        },
      );
    },
  };
  const monitor: MonitorEngine = o.shared ? new SharedBehaviourMonitor(o.shared.redis, o.shared.prefix, options) : new BehaviourMonitor(options);

  /** What the answer cost and what came of it (docs/monitor.md "Baselines per principal"), for the baselines. */
  type AnswerFeatures = Pick<BaselineObservation, 'tokensIn' | 'tokensOut' | 'refusal' | 'findings'>;
  const report = (p: Principal, status: number, stage: string | null, findings: Findings | null, request: ExtractionRequest | null, seen?: { sourceIp: string; model: string | null; tool?: string; chars?: number; answer: AnswerFeatures }) => {
    const key = monitorKey(p);
    const counted = request && status < 400 ? (sharedExtraction ? sharedExtraction.observe(key, request) : extraction?.observe(key, request)) : null;
    const chars = seen?.chars ?? (request ? promptsOf(request).reduce((a, t) => a + t.length, 0) : 0);
    if (baselines && seen && !seen.tool && status < 400) baselines.observe(key, { sourceIp: seen.sourceIp, model: seen.model, promptChars: chars, ...seen.answer });
    if (peers && seen && status < 400) peers.observe({ principal: key, who: p, sourceIp: seen.sourceIp, model: seen.model, tool: seen.tool ?? null, chars, answer: seen.answer });
    const observed = monitor.observe({
      principal: key,
      who: { id: p.id, kind: p.kind, tenant: p.tenant },
      authn: p.authn.method,
      credentialId: p.authn.credentialId,
      status,
      denied: (status === 401 || status === 403) && (stage === 'identity' || stage === 'policy'),
      injectionScore: findings?.injectionScore ?? 0,
      secrets: findings ? findings.items.filter((i) => i.category === 'secret').length : 0,
    });
    const pending = counted instanceof Promise ? Promise.all([observed, counted]) : observed;
    const afterObserve = () => {
      if (!playbooks?.hasPrincipalPlaybooks) return;
      const now = monitor.assess(key);
      if (!now) return;
      playbooks
        .onPrincipal({ principal: key, who: { id: p.id, kind: p.kind, tenant: p.tenant }, authn: p.authn.method, credentialId: p.authn.credentialId, signals: now.signals, extraction: extractionOf(key), risk: riskOf(key), tool: seen?.tool ?? null })
        .catch((e: unknown) => o.log.error({ err: e, principal: key }, 'a response playbook failed'));
    };
    // The answer has gone already: an observation the shared store did not take can only be logged.
    if (pending) pending.then(afterObserve, (e: unknown) => o.log.error({ err: e, principal: p.id }, 'monitor: could not record an observation in the shared store'));
    else afterObserve();
  };

  /** Everything the monitor holds on one principal, gone (the admin reset, the red team before each attack). */
  const forgetKey = async (key: string): Promise<void> => {
    await monitor.reset(key);
    if (sharedExtraction) await sharedExtraction.reset(key);
    else extraction?.reset(key);
    if (sharedBaselines) await sharedBaselines.reset(key);
    else baselines?.reset(key);
    await peers?.reset(key);
    await playbooks?.forget(key);
  };

  /** Findings of a request (and its answer): each item, and an injection score past the threshold. */
  const findingsOf = (f: Findings | null | undefined) => (f ? f.items.length + (f.injectionScore > m.injectionThreshold ? 1 : 0) : 0);
  /** Whether a non-streamed answer was a refusal, from observeAnswer to the request's observation that follows it. */
  const refusals = new WeakMap<object, boolean>();

  /**
   * An operator approves a profile's baseline: the learnt one awaiting approval, or (`answers`) an answer set given
   * now. Checked before it is recorded, recorded before it is written; a refusal found in the write (another
   * operator got there first) is recorded too.
   */
  async function approveDrift(key: string, detector: DriftDetector | null, ar: AdminRequest, res: ServerResponse): Promise<boolean> {
    const body = await ar.body();
    const input = key.startsWith('input:');
    if (!detector) throw new NotFound('deployment_not_profiled', `input drift is off (monitor.drift.inputs): no profile ${key}`);
    if (body.model !== undefined && (typeof body.model !== 'string' || !body.model)) throw new BadRequest('invalid_model', '`model` must be a non-empty string');
    let answers: AnswerSample[] | null = null;
    if (body.answers !== undefined) {
      if (!Array.isArray(body.answers)) throw new BadRequest('invalid_answers', '`answers` must be an array of answers (a text, {"text"}, or a chat/completions response)');
      answers = body.answers.map((a: unknown, i) => {
        const text = typeof a === 'string' ? a : a && typeof a === 'object' && typeof (a as { text?: unknown }).text === 'string' ? (a as { text: string }).text : null;
        if (text !== null) return input ? profileRequest(text, false, 0) : profileAnswer({ choices: [{ text }] }, 0);
        if (a && typeof a === 'object' && Array.isArray((a as { choices?: unknown }).choices) && !input) return profileAnswer(a, 0);
        throw new BadRequest('invalid_answers', `answers[${i}] is not ${input ? 'a prompt text' : 'an answer'} (a text, {"text"}, or a chat/completions response)`);
      });
      if (answers.length < detector.baselineAnswers) throw new BadRequest('too_few_answers', `an approved answer set needs at least monitor.drift.baselineAnswers (${detector.baselineAnswers}) answers; got ${answers.length}`);
    }
    const by = `${ar.principal.kind}:${ar.principal.id}`;
    const details = { answers: answers?.length ?? null, from: answers ? 'answer_set' : 'learnt' };
    // Every gateway has a store (warden.db or PostgreSQL); a monitor built without one cannot keep an approval.
    if (!sharedDrift) throw new FailClosed('drift_store_unavailable', 'approving a baseline needs the drift profile store');
    const current = await sharedDrift.peek(key);
    if (!answers) {
      if (!current) throw new NotFound('deployment_not_profiled', `the monitor has no profile for ${key} (approve it with an answer set, or let it answer first)`);
      sharedDrift.checkApprovable(key, current);
    }
    await ar.record('monitor.drift.approve', { type: 'Deployment', id: key }, details);
    let r;
    try {
      r = await sharedDrift.approve(key, by, answers, typeof body.model === 'string' ? body.model : null);
    } catch (e) {
      if (e instanceof WardenError) await ar.record('monitor.drift.approve', { type: 'Deployment', id: key }, details, e);
      throw e;
    }
    sendJson(res, 200, { approved: key, phase: r.phase, baselineAnswers: r.baselineN, approvedBy: r.approvedBy, approvedAt: r.approvedAt }, { 'x-request-id': ar.requestId });
    return true;
  }

  return {
    admit(p) {
      const key = monitorKey(p);
      const shared = monitor.admit(key);
      // Holds set or lifted by any replica are read before the request is judged (a store away: 503).
      const unavailable = (e: unknown) => Promise.reject(new MonitorUnavailable(e));
      const holds = o.playbookState?.holds && playbooks?.hasPrincipalPlaybooks ? playbooks.syncHolds(key).catch(unavailable) : null;
      // What another replica holds against the principal from its peers' baselines counts here too.
      const peerHeld = o.shared && peers ? peers.admit(key).catch(unavailable) : null;
      const extractionRead = sharedExtraction ? sharedExtraction.admit(key).catch(unavailable) : null;
      // The principal's shared baseline is read (when not known here lately) before its request is judged.
      if (sharedBaselines || holds || peerHeld || extractionRead) {
        return Promise.all([shared, sharedBaselines?.admit(key), holds, peerHeld, extractionRead]).then(() => {
          playbooks?.admit(key, p);
          return playbooks?.admitThrottle(key) ?? undefined;
        });
      }
      if (shared) return shared.then(() => playbooks?.admit(key, p));
      playbooks?.admit(key, p);
    },
    observe(ctx, event) {
      if (!ctx.principal) return;
      const e = ctx.endpoint;
      const request: ExtractionRequest | null = (e === 'chat' || e === 'completions' || e === 'embeddings') && ctx.body ? { endpoint: e, body: ctx.body } : null;
      // Tokens as the upstream reported them (an estimate for a stream that reported none); an embedding has no output.
      const answer: AnswerFeatures = {
        tokensIn: ctx.usage?.prompt ?? null,
        tokensOut: ctx.usage && e !== 'embeddings' ? ctx.usage.completion : null,
        refusal: refusals.get(ctx) ?? null,
        findings: findingsOf(ctx.findings),
      };
      report(ctx.principal, event.status, event.stage ?? null, ctx.findings ?? null, request, ctx.sourceIp ? { sourceIp: ctx.sourceIp, model: ctx.model ?? null, answer } : undefined);
      // Input drift per model: every request that named a model, refused or not (a wave of refused
      // injections at one model is exactly the shift to see).
      if (inputDrift && ctx.model && request && e !== 'embeddings') {
        inputDrift.observe(`input:${ctx.model}`, ctx.model, profileRequest(promptsOf(request).join('\n'), Array.isArray(request.body.tools) && request.body.tools.length > 0, findingsOf(ctx.findings)));
      }
    },
    observeTool: (p, o) =>
      report(p, o.status, o.stage, o.findings, null, o.tool && o.sourceIp ? { sourceIp: o.sourceIp, model: null, tool: o.tool, chars: o.argsChars ?? 0, answer: { findings: findingsOf(o.findings) } } : undefined),
    observeAnswer(ctx, answer, findings) {
      if ((!drift && !baselines) || !ctx.model) return;
      const profile = profileAnswer(answer, findings.length);
      if (baselines) refusals.set(ctx, profile.refusal);
      if (!drift) return;
      // A registered deployment is watched as itself; a configured upstream per model it serves.
      const key = ctx.deployment ? ctx.deployment.id : `upstream:${ctx.target?.name ?? 'none'}/${ctx.model}`;
      drift.detector.observe(key, ctx.model, profile);
    },
    observeStreamedAnswer(ctx, events, findings) {
      if ((drift || baselines) && ctx.model) this.observeAnswer(ctx, assembleStreamedAnswer(events), findings);
    },
    risk: (p) => riskOf(monitorKey(p)),
    riskWithReasons(p) {
      const key = monitorKey(p);
      const reasons: string[] = [];
      const b = monitor.assess(key);
      if (b) for (const k of ['denials', 'injections', 'secrets'] as const) if (b.signals[k] > 0) reasons.push(`${k} ${b.signals[k]} in the window`);
      const e = extractionView?.assessment(key);
      if (e && e.score > 0) reasons.push(`extraction ${e.score} (${Object.entries(e.parts).filter(([, v]) => v > 0).map(([k]) => k).join(', ')})`);
      const d = baselines?.deviation(key);
      if (d) reasons.push(...d.reasons);
      const pd = peers?.deviation(key);
      if (pd) reasons.push(...pd.reasons);
      return { risk: riskOf(key), reasons };
    },
    forget: (p) => forgetKey(monitorKey(p)),
    start: async () => sharedDrift?.start(),
    async close() {
      keepBaselines?.close();
      await sharedDrift?.close().catch((e: unknown) => o.log.error({ err: e }, 'monitor: the last drift profiles merge failed'));
      await sharedPeers?.close().catch((e: unknown) => o.log.error({ err: e }, 'monitor: the last peer baselines merge failed'));
      await sharedBaselines?.close().catch((e: unknown) => o.log.error({ err: e }, 'monitor: the last baselines merge failed'));
    },
    onAttestationFailure(e) {
      playbooks?.onAttestationFailure(e).catch((err: unknown) => o.log.error({ err, deployment: e.deployment }, 'a response playbook failed'));
    },
    async adminRoute(req, res, ar) {
      if (ar.path === '/admin/v1/monitor') {
        if (req.method !== 'GET') throw new BadRequest('method_not_allowed', '/admin/v1/monitor accepts GET only');
        const data = (await monitor.report())
          .map((r) => ({ ...r, risk: riskOf(r.principal), extraction: extractionView ? extractionView.assessment(r.principal) : null, baseline: baselines?.report(r.principal) ?? null, peerDeviation: peers?.deviation(r.principal) ?? null }))
          .sort((a, b) => b.risk - a.risk);
        sendJson(res, 200, { data }, { 'x-request-id': ar.requestId });
        return true;
      }
      if (ar.path === '/admin/v1/monitor/drift') {
        if (req.method !== 'GET') throw new BadRequest('method_not_allowed', '/admin/v1/monitor/drift accepts GET only');
        if (!drift) throw new NotFound('drift_disabled', 'monitor.drift.enabled is false');
        sendJson(res, 200, { data: drift.detector.report(), inputs: inputDrift?.report() ?? [] }, { 'x-request-id': ar.requestId });
        return true;
      }
      const rl = /^\/admin\/v1\/monitor\/drift\/([^/]+)\/(relearn|approve)$/.exec(ar.path);
      if (rl) {
        if (req.method !== 'POST') throw new BadRequest('method_not_allowed', `${rl[2]} accepts POST only`);
        if (!drift) throw new NotFound('drift_disabled', 'monitor.drift.enabled is false');
        const key = decodeURIComponent(rl[1]!);
        // `input:MODEL` names a model's input profile (GET /admin/v1/monitor/drift, `inputs`); anything else a deployment's answers.
        const detector = key.startsWith('input:') ? inputDrift : drift.detector;
        if (rl[2] === 'approve') return approveDrift(key, detector, ar, res);
        if (!detector || !(sharedDrift ? await sharedDrift.known(key) : detector.record(key))) throw new NotFound('deployment_not_profiled', `the monitor has no ${key.startsWith('input:') ? 'input' : 'answer'} profile for ${key}`);
        await ar.record('monitor.drift.relearn', { type: 'Deployment', id: key });
        if (sharedDrift) await sharedDrift.relearn(key);
        else detector.relearn(key);
        sendJson(res, 200, { relearn: key }, { 'x-request-id': ar.requestId });
        return true;
      }
      if (ar.path === '/admin/v1/playbooks') {
        sendJson(res, 200, { playbooks: m.playbooks, steps: playbooks ? (await playbooks.allSteps()).reverse() : [] }, { 'x-request-id': ar.requestId });
        return true;
      }
      const rv = /^\/admin\/v1\/playbooks\/steps\/([^/]+)\/revert$/.exec(ar.path);
      if (rv) {
        const id = decodeURIComponent(rv[1]!);
        if (!playbooks) throw new NotFound('step_not_found', `no playbook step ${id} (no playbooks are configured)`);
        await playbooks.load(id); // a step run before a restart, or by another replica
        playbooks.revertable(id);
        await ar.record('playbook.revert', { type: 'System', id });
        let reverted;
        try {
          reverted = await playbooks.revertStep(id);
        } catch (e) {
          // Decided and recorded, but the tool's quarantine was no longer the step's to lift: the refusal is recorded too.
          if (e instanceof WardenError) await ar.record('playbook.revert', { type: 'System', id }, {}, e);
          throw e;
        }
        sendJson(res, 200, { reverted }, { 'x-request-id': ar.requestId });
        return true;
      }
      const r = /^\/admin\/v1\/monitor\/([^/]+)\/reset$/.exec(ar.path);
      if (!r) return false;
      if (req.method !== 'POST') throw new BadRequest('method_not_allowed', 'reset accepts POST only');
      const key = decodeURIComponent(r[1]!);
      if (!(await monitor.report()).some((x) => x.principal === key)) throw new NotFound('principal_not_watched', `the monitor has nothing on ${key} (keys look like tenant/kind:id)`);
      await ar.record('monitor.reset', { type: 'Principal', id: key });
      await forgetKey(key);
      sendJson(res, 200, { reset: key }, { 'x-request-id': ar.requestId });
      return true;
    },
  };
}

/**
 * The drift detector and its response: every drift is a ledger entry (`monitor.drift`); with
 * `monitor.drift.action: quarantine` a registered deployment is also quarantined through the workload plane
 * (an unregistered upstream cannot be, and the entry says `quarantined: false`).
 */
function buildDrift(config: WardenConfig, o: Parameters<typeof buildMonitor>[1], playbooks: PlaybookEngine | null): { detector: DriftDetector } {
  const d = config.monitor.drift;
  if (d.approval === 'operator') o.log.info('monitor: drift baselines wait for an operator\'s approval (warden monitor drift approve DEPLOYMENT) before answers are judged');
  const record = (e: DriftEvent, quarantined: boolean): void =>
    recordSystemEntry(o, {
      action: 'monitor.drift',
      resource: { type: 'Model', id: e.model },
      decision: d.action === 'quarantine' && !quarantined ? 'deny' : 'allow',
      details: { deployment: e.deployment, feature: e.feature, psi: e.psi, baseline: e.baseline, window: e.window, answers: e.answersSinceBaseline, action: d.action, quarantined },
    });
  const detector = new DriftDetector({
    baselineAnswers: d.baselineAnswers,
    windowAnswers: d.windowAnswers,
    threshold: d.threshold,
    approval: d.approval,
    onDrift: (e) => {
      o.log.warn({ drift: e }, 'a deployment\'s answers drifted from its baseline');
      playbooks?.onDrift(e).catch((err: unknown) => o.log.error({ err, deployment: e.deployment }, 'a response playbook failed'));
      const registered = !e.deployment.startsWith('upstream:');
      if (d.action !== 'quarantine' || !registered || !o.quarantine) return record(e, false);
      o.quarantine(e.deployment, `output drift: ${e.feature} PSI ${e.psi} (baseline ${e.baseline}, now ${e.window})`).then(
        (done) => record(e, done),
        (err: unknown) => {
          o.log.error({ err, deployment: e.deployment }, 'the monitor could not quarantine a drifting deployment');
          record(e, false);
        },
      );
    },
  });
  return { detector };
}

/**
 * The baselines survive a restart: loaded from `file` at start, written every minute and at close (atomically:
 * a temporary file renamed over it; mode 0600, it names principals and their networks). A file that cannot be
 * read is moved aside (`.unreadable-<time>`) and logged as an error; learning starts again rather than the
 * gateway refusing to start over a statistic.
 */
function persistBaselines(b: PrincipalBaselines, file: string, log: Logger): { close(): void } {
  if (existsSync(file)) {
    try {
      const n = b.restore(JSON.parse(readFileSync(file, 'utf8')) as unknown);
      log.info({ file, principals: n }, 'monitor baselines restored');
    } catch (err) {
      const aside = `${file}.unreadable-${Date.now()}`;
      renameSync(file, aside);
      log.error({ err, file, movedTo: aside }, 'monitor baselines could not be restored: learning again from the next requests');
    }
  }
  const save = () => {
    try {
      // Per process: `warden up --workers N` runs N monitors on one data dir (the last writer's baselines win).
      const tmp = `${file}.${process.pid}.tmp`;
      writeFileSync(tmp, JSON.stringify(b.snapshot()), { mode: 0o600 });
      renameSync(tmp, file);
    } catch (err) {
      log.error({ err, file }, 'monitor baselines could not be saved');
    }
  };
  const timer = setInterval(save, 60_000);
  timer.unref();
  return {
    close() {
      clearInterval(timer);
      save();
    },
  };
}

/**
 * Input drift per model: what each model is asked, against its first `baselineAnswers` requests (re-learnt by
 * POST /admin/v1/monitor/drift/input:MODEL/relearn). A shift is a `monitor.input_drift` entry and a warning: the
 * traffic changed, not the model, so nothing is quarantined; playbooks do not act on it (yet).
 */
function buildInputDrift(config: WardenConfig, o: Parameters<typeof buildMonitor>[1]): DriftDetector {
  const d = config.monitor.drift;
  return new DriftDetector({
    baselineAnswers: d.baselineAnswers,
    windowAnswers: d.windowAnswers,
    threshold: d.threshold,
    approval: d.approval,
    onDrift: (e) => {
      o.log.warn({ inputDrift: e }, 'the requests to a model drifted from its baseline');
      recordSystemEntry(o, {
        action: 'monitor.input_drift',
        resource: { type: 'Model', id: e.model },
        decision: 'allow',
        details: { feature: e.feature, psi: e.psi, baseline: e.baseline, window: e.window, requests: e.answersSinceBaseline },
      });
    },
  });
}

/** The playbook engine, acting through the identity and workload planes; each step a `playbook.step` entry. */
function buildPlaybooks(books: Playbook[], o: Parameters<typeof buildMonitor>[1]): PlaybookEngine {
  return new PlaybookEngine({
    playbooks: books,
    clock: o.clock,
    ...(o.playbookState ? { steps: o.playbookState.steps, ...(o.playbookState.holds ? { holds: o.playbookState.holds } : {}) } : {}),
    onStoreError: (err, what) => o.log.error({ err }, `monitor: ${what} could not be written to its store`),
    effects: {
      revokeCredential: o.revoke,
      revokeTokens: (who) => (o.revokeTokens ? o.revokeTokens(who.id) : Promise.resolve(false)),
      quarantine: (id, reason) => (o.quarantine ? o.quarantine(id, reason) : Promise.resolve(false)),
      quarantineTool: (name, reason, by) => (o.tools ? o.tools.quarantineTool(name, reason, by) : Promise.resolve(null)),
      releaseTool: (name, by, made) => (o.tools ? o.tools.releaseTool(name, by, made) : Promise.resolve(false)),
      webhook: async (url, body) => {
        const r = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body), signal: AbortSignal.timeout(5_000) });
        await r.body?.cancel();
        return r.ok;
      },
    },
    onStep: (r) => {
      o.log.warn({ playbook: r.playbook, step: r.step, subject: r.subject, dryRun: r.dryRun, done: r.done }, 'playbook step');
      recordSystemEntry(o, {
        action: 'playbook.step',
        ...(r.who ? { principal: { id: r.who.id, kind: r.who.kind as Principal['kind'], tenant: r.who.tenant, authn: 'none' as const } } : { resource: { type: 'Deployment' as const, id: r.subject } }),
        decision: r.done || r.dryRun ? 'allow' : 'deny',
        details: { playbook: r.playbook, step: r.step, stepId: r.id, dryRun: r.dryRun, done: r.done, reversible: r.reversible, ...r.detail },
      });
    },
  });
}
