// What /readyz answers: ready only when every check passes, each within a deadline. A check that throws,
// hangs or says no makes the replica not ready, and the answer names which check (never why: /readyz needs
// no credential, so the cause goes to the log).
import type { Logger } from 'pino';

export interface ReadinessCheck {
  name: string;
  /** Resolves true when the dependency can serve; false or a throw means it cannot. */
  probe: () => Promise<boolean>;
}

export interface ReadinessReport {
  ready: boolean;
  /** Set while shutting down: the replica finishes what it has and takes nothing new. */
  status?: 'draining';
  checks: Record<string, 'ok' | 'failing' | 'draining'>;
}

export class Readiness {
  private started = false;
  private stopped = false;

  constructor(
    private readonly checks: ReadinessCheck[],
    private readonly log: Logger,
    private readonly timeoutMs = 2_000,
  ) {}

  /** Start-up finished (ports bound, every plane built). */
  markStarted(): void {
    this.started = true;
  }

  /** Shutting down: a load balancer should stop sending before the listeners close. */
  markStopping(): void {
    this.stopped = true;
  }

  async report(): Promise<ReadinessReport> {
    if (this.stopped) return { ready: false, status: 'draining', checks: { lifecycle: 'draining' } };
    if (!this.started) return { ready: false, checks: { lifecycle: 'failing' } };
    const results = await Promise.all(this.checks.map(async (c) => [c.name, await this.run(c)] as const));
    const checks: ReadinessReport['checks'] = { lifecycle: 'ok' };
    for (const [name, ok] of results) checks[name] = ok ? 'ok' : 'failing';
    return { ready: results.every(([, ok]) => ok), checks };
  }

  private async run(c: ReadinessCheck): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined;
    try {
      const deadline = new Promise<boolean>((resolve) => {
        timer = setTimeout(() => {
          this.log.warn({ check: c.name, timeoutMs: this.timeoutMs }, 'readiness check timed out');
          resolve(false);
        }, this.timeoutMs);
      });
      return await Promise.race([c.probe(), deadline]);
    } catch (e) {
      this.log.warn({ err: e, check: c.name }, 'readiness check failed');
      return false;
    } finally {
      clearTimeout(timer);
    }
  }
}
