// The continuous red team: runs the attack suite (attacks.ts) against the configured models through Warden's
// own inference listener, as the configured red-team principal, on a schedule or on demand, and keeps what it
// found: a history (one JSON line per run), a Markdown report (the latest run and the trend per model),
// Prometheus gauges, and a ledger entry when a run starts and when it ends.
//
// Credential: each run mints a short-lived API key for the red-team principal (scope: chat on every model —
// a ceiling; what the principal may actually do is policy's answer, as for anyone) and revokes it when the run
// ends, so no long-lived red-team secret sits in the config or the environment. The run's entries name the key.
import { appendFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { auditEvent } from '../../core/audit-event.js';
import type { AuditSink } from '../../core/audit-sink.js';
import type { Clock } from '../../core/clock.js';
import { Conflict, FailClosed, NotFound } from '../../core/errors.js';
import { newId, newRequestId } from '../../core/ids.js';
import type { RedTeamConfig } from '../../config/config.js';
import type { Metrics } from '../../gateway/metrics.js';
import { selectAttacks, type Attack } from './attacks.js';
import { runAttacks, type RedTeamRun } from './runner.js';

export interface RedTeamDeps {
  config: RedTeamConfig;
  dataDir: string;
  clock: Clock;
  log: Logger;
  audit: AuditSink;
  metrics: Metrics;
  /** Inference listener URL reachable from this process, and the CA that issued its certificate. */
  inferenceUrl: string;
  ca: () => string;
  /** Every model a configured upstream serves (the default target list). */
  models: () => string[];
  policyVersion: () => string;
  /** The principal, or null when it does not exist, is disabled or erased. */
  principalUsable: (id: string) => Promise<boolean>;
  mintKey: (principal: string, ttlMs: number, description: string) => Promise<{ id: string; key: string }>;
  /**
   * Clears what the monitor holds on the principal. Called before each attack, so that each is judged on its own
   * merits and not refused because the previous ones raised the principal's risk (absent: the monitor is off).
   */
  forgetRisk?: (principal: string) => Promise<void>;
  revokeKey: (id: string) => Promise<void>;
}

export interface RunRequest {
  models?: string[];
  kinds?: string[];
  /** Who asked (an admin's principal id, or `schedule`). */
  by: string;
}

export interface RunPlan {
  id: string;
  principal: string;
  models: string[];
  attacks: Attack[];
  by: string;
}

/** A run in the history without its per-attack results. */
export type RunSummary = Omit<RedTeamRun, 'results'> & { attempts: number; succeeded: number; blocked: number };

const KEY_TTL_MS = 30 * 60_000;

export class RedTeam {
  private running: { id: string; done: Promise<RedTeamRun> } | null = null;
  private timer: NodeJS.Timeout | null = null;
  /** Runs that failed (kept for GET /admin/v1/redteam/runs/{id}), newest 100. */
  private readonly failed = new Map<string, { code: string; message: string }>();
  private readonly dir: string;
  private lastScheduled: number;

  constructor(private readonly d: RedTeamDeps) {
    this.dir = join(d.dataDir, d.config.dir);
    this.lastScheduled = d.clock.now();
    // Checked at start, so a typo is a startup error and not a run that fails at 3 a.m.
    selectAttacks(d.config.kinds);
    const known = new Set(d.models());
    for (const m of d.config.models) if (!known.has(m)) throw new Error(`monitor.redteam.models: no configured upstream serves model ${JSON.stringify(m)}`);
  }

  get enabled(): boolean {
    return this.d.config.principal !== null;
  }

  /**
   * Starts the schedule (a no-op for on-demand only): a timer calls tick(), which starts a run once everyMs has
   * passed on the clock since the last one began (the first one everyMs after start).
   */
  schedule(): void {
    if (!this.enabled || this.d.config.everyMs === 0 || this.timer) return;
    this.timer = setInterval(() => this.tick(), Math.min(this.d.config.everyMs, 60_000));
    this.timer.unref();
  }

  /** Starts a scheduled run if one is due; returns its id, or null (not due, disabled, or still busy: skipped, not queued). */
  tick(): string | null {
    const every = this.d.config.everyMs;
    if (!this.enabled || every === 0 || this.running) return null;
    const now = this.d.clock.now();
    if (now - this.lastScheduled < every) return null;
    this.lastScheduled = now;
    try {
      return this.start({ by: 'schedule' }).id;
    } catch (err) {
      this.d.log.error({ err }, 'scheduled red-team run could not start');
      return null;
    }
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.running?.done.catch(() => undefined);
  }

  /**
   * Checks a run request without starting it: refused while another runs (409), when no red-team principal is
   * configured (503), or for a model or attack kind nobody configured (404).
   */
  prepare(req: RunRequest): RunPlan {
    if (this.running) throw new Conflict('redteam_run_in_progress', 'a red-team run is already under way; wait for it to finish');
    const principal = this.d.config.principal;
    // Like a disabled drift detector (404 drift_disabled): the feature is off in this configuration.
    if (principal === null) throw new NotFound('redteam_not_configured', 'no red-team principal is configured (monitor.redteam.principal)');
    const known = new Set(this.d.models());
    const models = req.models?.length ? req.models : this.d.config.models.length ? this.d.config.models : [...known];
    for (const m of models) if (!known.has(m)) throw new NotFound('model_not_found', `no configured upstream serves model ${JSON.stringify(m)}`);
    if (models.length === 0) throw new FailClosed('redteam_no_models', 'there is no model to attack (no upstream serves one)');
    let attacks;
    try {
      attacks = selectAttacks(req.kinds?.length ? req.kinds : this.d.config.kinds);
    } catch (e) {
      throw new NotFound('attack_kind_not_found', (e as Error).message);
    }
    return { id: newId('rt'), principal, models, attacks, by: req.by };
  }

  /** Starts a prepared run; returns its id and its completion (409 if another started meanwhile). */
  launch(plan: RunPlan): { id: string; done: Promise<RedTeamRun> } {
    if (this.running) throw new Conflict('redteam_run_in_progress', 'a red-team run is already under way; wait for it to finish');
    const { id } = plan;
    const done = this.execute(plan).finally(() => {
      this.running = null;
    });
    // Nobody may be waiting (a 202 answer, a scheduled run): the failure is kept for GET and logged here.
    done.catch((err: unknown) => {
      this.failed.set(id, { code: (err as { code?: string }).code ?? 'redteam_run_failed', message: (err as Error).message });
      if (this.failed.size > 100) this.failed.delete(this.failed.keys().next().value!);
      this.d.log.error({ err, run: id }, 'red-team run failed');
    });
    this.running = { id, done };
    return this.running;
  }

  start(req: RunRequest): { id: string; done: Promise<RedTeamRun> } {
    return this.launch(this.prepare(req));
  }

  /** The run under way, if any. */
  current(): string | null {
    return this.running?.id ?? null;
  }

  private async execute({ id, principal, models, attacks, by }: RunPlan): Promise<RedTeamRun> {
    if (!(await this.d.principalUsable(principal))) {
      throw new FailClosed('redteam_principal_unusable', `the red-team principal ${JSON.stringify(principal)} does not exist or is disabled; create it (warden principals create) first`);
    }
    const policyVersion = this.d.policyVersion();
    const key = await this.d.mintKey(principal, KEY_TTL_MS, `red-team run (${by})`);
    try {
      // Fail closed: a run whose start is not in the ledger does not send a single attack.
      await this.record('redteam.start', { by, run: id, principal, key: key.id, models: models.join(','), attacks: attacks.length, policyVersion, monitorResetPerAttack: this.d.forgetRisk ? 'yes' : 'no' });
      const run = await runAttacks({
        id,
        url: this.d.inferenceUrl,
        ca: this.d.ca(),
        credential: key.key,
        principal,
        policyVersion,
        models,
        attacks,
        concurrency: this.d.config.concurrency,
        now: () => this.d.clock.now(),
        ...(this.d.forgetRisk ? { beforeEach: () => this.d.forgetRisk!(principal) } : {}),
      });
      this.keep(run);
      const t = totals(run);
      await this.record('redteam.finish', { by, run: run.id, key: key.id, attempts: t.attempts, succeeded: t.succeeded, blocked: t.blocked, errors: t.errors, policyVersion });
      return run;
    } finally {
      await this.d.revokeKey(key.id).catch((err: unknown) => this.d.log.error({ err, key: key.id }, 'could not revoke the red-team run key (it expires on its own)'));
    }
  }

  private async record(action: string, details: Record<string, string | number>): Promise<void> {
    await this.d.audit.append(
      auditEvent({ time: new Date(this.d.clock.now()).toISOString(), requestId: newRequestId(), kind: 'system', action, decision: 'allow', status: 200, resource: { type: 'System', id: 'redteam' }, details }),
    );
  }

  /** History line, report file and gauges. A disk error is logged: the run's entries are in the ledger regardless. */
  private keep(run: RedTeamRun): void {
    for (const s of run.summary) {
      if (s.successRate !== null) this.d.metrics.redteamSuccess.set({ model: s.model, kind: s.kind }, s.successRate);
      for (const outcome of ['blocked', 'resisted', 'succeeded', 'errors'] as const) {
        if (s[outcome] > 0) this.d.metrics.redteamAttacks.inc({ model: s.model, kind: s.kind, outcome: outcome === 'errors' ? 'error' : outcome }, s[outcome]);
      }
    }
    this.d.metrics.redteamLastRun.set(Date.parse(run.finishedAt) / 1000);
    try {
      mkdirSync(this.dir, { recursive: true, mode: 0o700 });
      appendFileSync(join(this.dir, 'history.jsonl'), JSON.stringify(run) + '\n', { mode: 0o600 });
      writeFileSync(join(this.dir, 'report.md'), reportMarkdown(run, this.history()), { mode: 0o600 });
    } catch (err) {
      this.d.log.error({ err, dir: this.dir }, 'could not write the red-team history or report');
    }
  }

  /** Every run kept, oldest first (a line that does not parse is skipped and logged, not fatal). */
  runs(): RedTeamRun[] {
    const file = join(this.dir, 'history.jsonl');
    if (!existsSync(file)) return [];
    const out: RedTeamRun[] = [];
    for (const line of readFileSync(file, 'utf8').split('\n')) {
      if (!line.trim()) continue;
      try {
        out.push(JSON.parse(line) as RedTeamRun);
      } catch {
        this.d.log.warn({ file }, 'skipped a red-team history line that is not JSON');
      }
    }
    return out;
  }

  history(): RunSummary[] {
    return this.runs().map(summaryOf);
  }

  /** A finished run, or the state of one under way or failed. */
  get(id: string): RedTeamRun | { id: string; status: 'running' } | { id: string; status: 'failed'; error: { code: string; message: string } } {
    if (this.running?.id === id) return { id, status: 'running' };
    const f = this.failed.get(id);
    if (f) return { id, status: 'failed', error: f };
    const r = this.runs().find((x) => x.id === id);
    if (!r) throw new NotFound('redteam_run_not_found', `no red-team run ${JSON.stringify(id)}`);
    return r;
  }
}

function totals(run: RedTeamRun): { attempts: number; succeeded: number; blocked: number; errors: number } {
  let succeeded = 0;
  let blocked = 0;
  let errors = 0;
  for (const r of run.results) {
    if (r.outcome === 'succeeded') succeeded++;
    else if (r.outcome === 'blocked') blocked++;
    else if (r.outcome === 'error') errors++;
  }
  return { attempts: run.results.length, succeeded, blocked, errors };
}

export function summaryOf(run: RedTeamRun): RunSummary {
  const { results: _results, ...rest } = run;
  const t = totals(run);
  return { ...rest, attempts: t.attempts, succeeded: t.succeeded, blocked: t.blocked };
}

const pct = (x: number | null) => (x === null ? 'n/a' : `${Math.round(x * 100)}%`);

/** The latest run per model and kind, then the trend: attack success per model over the last runs. */
export function reportMarkdown(latest: RedTeamRun, history: readonly RunSummary[]): string {
  const lines = [
    '# Red-team report',
    '',
    `Latest run ${latest.id}: ${latest.startedAt} – ${latest.finishedAt}, as principal \`${latest.principal}\`, policy version \`${latest.policyVersion}\`.`,
    'Outcomes: blocked (Warden refused), resisted (answered without the attack working), succeeded (the answer shows it worked), error (left out of the rate).',
    '',
    '| model | attack kind | attempts | blocked | resisted | succeeded | errors | attack success |',
    '|---|---|---|---|---|---|---|---|',
    ...latest.summary.map((s) => `| ${s.model} | ${s.kind} | ${s.attempts} | ${s.blocked} | ${s.resisted} | ${s.succeeded} | ${s.errors} | ${pct(s.successRate)} |`),
    '',
    '## Trend (attack success per model, last 20 runs)',
    '',
    '| run | started | policy version | model | attack success |',
    '|---|---|---|---|---|',
  ];
  for (const h of history.slice(-20)) {
    const models = [...new Set(h.summary.map((s) => s.model))];
    for (const m of models) {
      const rows = h.summary.filter((s) => s.model === m);
      const counted = rows.reduce((a, s) => a + s.attempts - s.errors, 0);
      const won = rows.reduce((a, s) => a + s.succeeded, 0);
      lines.push(`| ${h.id} | ${h.startedAt} | ${h.policyVersion} | ${m} | ${pct(counted > 0 ? won / counted : null)} |`);
    }
  }
  return lines.join('\n') + '\n';
}
