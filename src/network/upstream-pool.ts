// Several endpoints behind one upstream (upstreams[].endpoints): smooth weighted round robin over the endpoints
// that are healthy (active checks) and not ejected (consecutive failures), failover to another endpoint only
// when a connection could not be made (no byte of the request was sent, so nothing can have run twice), and a
// 503 naming the model when no endpoint can take the request. Every attempt is reported to the caller.
import { Pool, type Dispatcher } from 'undici';
import { UpstreamError } from '../core/errors.js';
import type { UpstreamPoolConfig } from '../config/config.js';
import type { UpstreamAbort } from './upstream.js';

/** One try of one endpoint, as it goes into the request's ledger entry. */
export interface UpstreamAttempt {
  endpoint: string;
  /** `connect_failed`: retried elsewhere if an endpoint is left; `failed`: after bytes were sent, never retried. */
  outcome: 'responded' | 'connect_failed' | 'failed';
  status?: number;
  code?: string;
}

interface Endpoint {
  /** `<upstream>#<index>` plus its origin: what operators read in entries and metrics. */
  label: string;
  origin: string;
  basePath: string;
  weight: number;
  pool: Pool;
  /** Smooth weighted round robin (as in nginx): the endpoint with the highest current weight is picked. */
  current: number;
  healthy: boolean;
  checkFailures: number;
  checkSuccesses: number;
  consecutiveFailures: number;
  ejectedUntil: number;
}

/** Errors undici raises before any byte of the request went out: the endpoint was never reached. */
const CONNECT_FAILURES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN', 'UND_ERR_CONNECT_TIMEOUT']);

export function isConnectFailure(e: unknown): boolean {
  const code = (e as { code?: unknown } | null)?.code;
  return typeof code === 'string' && CONNECT_FAILURES.has(code);
}

export interface PoolRequest {
  method: 'GET' | 'POST';
  path: string;
  headers: Record<string, string>;
  body: Buffer | null;
  headersTimeout: number;
  bodyTimeout: number;
  signal?: UpstreamAbort | AbortSignal;
}

export interface ConnectionSettings {
  connections: number;
  connectTimeoutMs: number;
  ca?: string;
  /** mTLS to the upstream: Warden's client certificate and key (zero trust both ways). */
  cert?: string;
  key?: string;
}

/** One keep-alive undici pool to one origin (an upstream, or one endpoint of it). */
export function openPool(origin: string, c: ConnectionSettings): Pool {
  return new Pool(origin, {
    connections: c.connections,
    pipelining: 1,
    keepAliveTimeout: 30_000,
    connect: { timeout: c.connectTimeoutMs, ...(c.ca ? { ca: c.ca } : {}), ...(c.cert && c.key ? { cert: c.cert, key: c.key } : {}) },
  });
}

export class EndpointPool {
  private readonly endpoints: Endpoint[];
  private readonly timer: NodeJS.Timeout | null = null;
  private checking = false;
  private authorization: string | undefined;

  /** A rotated upstream secret, for the health checks (calls carry the target's). */
  setAuthorization(a: string): void {
    this.authorization = a;
  }

  constructor(
    private readonly name: string,
    private readonly p: UpstreamPoolConfig,
    conn: ConnectionSettings & { authorization?: string },
    private readonly now: () => number = Date.now,
  ) {
    this.authorization = conn.authorization;
    this.endpoints = p.endpoints.map((e, i) => {
      const url = new URL(e.url);
      return {
        label: `${name}#${i} ${url.origin}`,
        origin: url.origin,
        basePath: url.pathname.replace(/\/+$/, ''),
        weight: e.weight,
        pool: openPool(url.origin, conn),
        current: 0,
        healthy: true,
        checkFailures: 0,
        checkSuccesses: 0,
        consecutiveFailures: 0,
        ejectedUntil: 0,
      };
    });
    if (p.healthCheck) {
      this.timer = setInterval(() => void this.checkAll(), p.healthCheck.intervalMs);
      this.timer.unref();
      void this.checkAll();
    }
  }

  /** The first endpoint's connection pool (what a single-endpoint caller such as evidence fetching uses). */
  get primary(): Pool {
    return this.endpoints[0]!.pool;
  }

  /** What each endpoint looks like now (for tests and the admin view). */
  state(): { endpoint: string; healthy: boolean; ejected: boolean }[] {
    const t = this.now();
    return this.endpoints.map((e) => ({ endpoint: e.label, healthy: e.healthy, ejected: e.ejectedUntil > t }));
  }

  async request(req: PoolRequest, model: string | null, attempts: UpstreamAttempt[] | null): Promise<Dispatcher.ResponseData> {
    const tried = new Set<Endpoint>();
    for (let n = 0; n <= this.p.retries; n++) {
      const ep = this.pick(tried);
      if (!ep) break;
      tried.add(ep);
      let r: Dispatcher.ResponseData;
      try {
        r = await ep.pool.request({ ...req, path: ep.basePath + req.path });
      } catch (e) {
        const code = (e as { code?: string }).code;
        // A call the client (or a shutdown) cancelled says nothing about the endpoint.
        if (req.signal?.aborted) {
          attempts?.push({ endpoint: ep.label, outcome: 'failed', code: 'aborted' });
          throw e;
        }
        this.failed(ep);
        if (isConnectFailure(e)) {
          attempts?.push({ endpoint: ep.label, outcome: 'connect_failed', ...(code ? { code } : {}) });
          continue;
        }
        attempts?.push({ endpoint: ep.label, outcome: 'failed', ...(code ? { code } : {}) });
        throw e;
      }
      // A 5xx counts towards ejection, but the request reached the model: it is answered, never retried.
      if (r.statusCode >= 500) this.failed(ep);
      else ep.consecutiveFailures = 0;
      attempts?.push({ endpoint: ep.label, outcome: 'responded', status: r.statusCode });
      return r;
    }
    const which = model === null ? '' : ` for model ${model}`;
    throw new UpstreamError(503, 'no_healthy_upstream', `no healthy endpoint of upstream ${this.name}${which} (${tried.size} of ${this.endpoints.length} tried, the rest unhealthy or ejected)`);
  }

  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await Promise.all(this.endpoints.map((e) => e.pool.close().catch(() => {})));
  }

  private pick(exclude: Set<Endpoint>): Endpoint | null {
    const t = this.now();
    let best: Endpoint | null = null;
    let total = 0;
    for (const e of this.endpoints) {
      if (!e.healthy || e.ejectedUntil > t || exclude.has(e)) continue;
      e.current += e.weight;
      total += e.weight;
      if (!best || e.current > best.current) best = e;
    }
    if (best) best.current -= total;
    return best;
  }

  private failed(ep: Endpoint): void {
    const o = this.p.outlierEjection;
    if (++ep.consecutiveFailures < o.consecutiveFailures) return;
    ep.consecutiveFailures = 0;
    ep.ejectedUntil = this.now() + o.ejectMs;
  }

  private async checkAll(): Promise<void> {
    const hc = this.p.healthCheck;
    if (!hc || this.checking) return;
    this.checking = true;
    try {
      await Promise.all(
        this.endpoints.map(async (e) => {
          let ok = false;
          try {
            const r = await e.pool.request({ method: 'GET', path: e.basePath + hc.path, headersTimeout: hc.timeoutMs, bodyTimeout: hc.timeoutMs, ...(this.authorization ? { headers: { authorization: this.authorization } } : {}) });
            await r.body.dump();
            ok = r.statusCode >= 200 && r.statusCode < 300;
          } catch {
            ok = false;
          }
          if (ok) {
            e.checkFailures = 0;
            if (!e.healthy && ++e.checkSuccesses >= hc.healthyAfter) {
              e.healthy = true;
              e.checkSuccesses = 0;
            }
          } else {
            e.checkSuccesses = 0;
            if (e.healthy && ++e.checkFailures >= hc.unhealthyAfter) {
              e.healthy = false;
              e.checkFailures = 0;
            }
          }
        }),
      );
    } finally {
      this.checking = false;
    }
  }
}
