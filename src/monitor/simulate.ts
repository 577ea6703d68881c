// `warden playbook simulate`: replays scripted traffic (JSON lines) through the real monitor, drift detector
// and playbook engine on a fixed clock, every playbook forced to dry run, and reports what would have fired
// and when. Nothing is revoked, quarantined or sent.
//
// A line is either a principal's request:
//   {"at": 1500, "principal": "acme/user:eve", "status": 403, "denied": true, "injectionScore": 0.97, "secrets": 0}
// or a deployment's answer:
//   {"at": 1600, "deployment": "dep_1", "model": "summarizer", "answer": "SELECT * FROM users;"}
// `at` is milliseconds from the start of the replay (non-decreasing).
import type { WardenConfig } from '../config/config.js';
import { FixedClock } from '../core/clock.js';
import type { AuthnMethod } from '../core/types.js';
import { profileAnswer } from './answer-profile.js';
import { DriftDetector } from './drift.js';
import { BehaviourMonitor } from './monitor.js';
import { PlaybookEngine, type Playbook, type StepRecord } from './playbooks.js';

export interface SimulatedStep {
  at: number;
  line: number;
  playbook: string;
  step: StepRecord['step'];
  subject: string;
  detail: StepRecord['detail'];
}

export interface SimulationReport {
  lines: number;
  principals: number;
  deployments: number;
  fired: SimulatedStep[];
  /** Per playbook: steps it would have run, and the `at` of its first. */
  byPlaybook: Record<string, { steps: number; firstAt: number | null }>;
}

export class SimulationInputError extends Error {
  readonly code = 'invalid_traffic';
}

const T0 = Date.UTC(2026, 0, 1);

export async function simulatePlaybooks(monitor: WardenConfig['monitor'], playbooks: Playbook[], jsonl: string): Promise<SimulationReport> {
  const clock = new FixedClock(T0);
  const fired: SimulatedStep[] = [];
  let line = 0;
  const engine = new PlaybookEngine({
    playbooks: playbooks.map((p) => ({ ...p, dryRun: true })),
    clock,
    effects: { revokeCredential: async () => false, revokeTokens: async () => false, quarantine: async () => false, quarantineTool: async () => null, releaseTool: async () => false, webhook: async () => false },
    onStep: (r) => fired.push({ at: r.at - T0, line, playbook: r.playbook, step: r.step, subject: r.subject, detail: r.detail }),
  });
  const behaviour = new BehaviourMonitor({ clock, windowMs: monitor.windowMs, injectionThreshold: monitor.injectionThreshold, burstPerWindow: monitor.burstPerWindow, throttleAt: monitor.throttleAt, throttleRps: monitor.throttleRequestsPerSecond, revokeAt: null });
  const drift = new DriftDetector({ baselineAnswers: monitor.drift.baselineAnswers, windowAnswers: monitor.drift.windowAnswers, threshold: monitor.drift.threshold, onDrift: (e) => void drifts.push(engine.onDrift(e)) });
  const drifts: Promise<void>[] = [];
  const principals = new Set<string>();
  const deployments = new Set<string>();
  let last = 0;
  for (const raw of jsonl.split('\n')) {
    line++;
    if (!raw.trim()) continue;
    let ev: Record<string, unknown>;
    try {
      ev = JSON.parse(raw) as Record<string, unknown>;
    } catch {
      throw new SimulationInputError(`line ${line}: not JSON`);
    }
    if (ev === null || typeof ev !== 'object' || Array.isArray(ev)) throw new SimulationInputError(`line ${line}: not a JSON object`);
    const at = ev.at;
    if (typeof at !== 'number' || !Number.isFinite(at) || at < last) throw new SimulationInputError(`line ${line}: "at" must be a number of milliseconds, not less than the line before`);
    last = at;
    clock.set(T0 + at);
    if (typeof ev.principal === 'string') {
      const m = /^([^/]+)\/([^:]+):(.+)$/.exec(ev.principal);
      if (!m) throw new SimulationInputError(`line ${line}: principal must look like tenant/kind:id`);
      principals.add(ev.principal);
      const who = { tenant: m[1]!, kind: m[2]!, id: m[3]! };
      const status = typeof ev.status === 'number' ? ev.status : 200;
      const authn = (typeof ev.authn === 'string' ? ev.authn : 'api_key') as AuthnMethod;
      const credentialId = typeof ev.credential === 'string' ? ev.credential : 'simulated';
      behaviour.observe({ principal: ev.principal, who, authn, credentialId, status, denied: ev.denied === true, injectionScore: typeof ev.injectionScore === 'number' ? ev.injectionScore : 0, secrets: typeof ev.secrets === 'number' ? ev.secrets : 0 });
      const now = behaviour.assess(ev.principal)!;
      await engine.onPrincipal({ principal: ev.principal, who, authn, credentialId, risk: now.risk, signals: now.signals, extraction: typeof ev.extraction === 'number' ? ev.extraction : 0 });
    } else if (typeof ev.deployment === 'string' && typeof ev.answer === 'string') {
      deployments.add(ev.deployment);
      drift.observe(ev.deployment, typeof ev.model === 'string' ? ev.model : ev.deployment, profileAnswer({ choices: [{ message: { content: ev.answer } }] }, typeof ev.findings === 'number' ? ev.findings : 0));
      await Promise.all(drifts.splice(0));
    } else if (typeof ev.deployment === 'string' && ev.attestation === 'failed') {
      deployments.add(ev.deployment);
      await engine.onAttestationFailure({ deployment: ev.deployment, code: typeof ev.code === 'string' ? ev.code : null, reason: null });
    } else {
      throw new SimulationInputError(`line ${line}: needs "principal" (a request), "deployment" and "answer" (an answer), or "deployment" and "attestation": "failed"`);
    }
  }
  const byPlaybook: SimulationReport['byPlaybook'] = {};
  for (const p of playbooks) byPlaybook[p.name] = { steps: 0, firstAt: null };
  for (const f of fired) {
    const b = byPlaybook[f.playbook]!;
    b.steps++;
    b.firstAt ??= f.at;
  }
  return { lines: line, principals: principals.size, deployments: deployments.size, fired, byPlaybook };
}
