// Time to first byte of a streamed (SSE) answer: `connections` closed loops on keep-alive TLS connections,
// each sending a `stream: true` chat request and timing from writing the request to the first body chunk
// (the first SSE event), then reading the stream to its end before the next request. wrk cannot do this: it
// times whole responses. The client runs in the benchmark's own process, the same for every target, so the
// difference between two targets is what the proxy in between adds.
import { Agent, request } from 'node:https';

export interface TtfbResult {
  requests: number;
  errors: number;
  firstError: string | null;
  p50ms: number;
  p90ms: number;
  p99ms: number;
  /** Median time to the end of the stream, for scale. */
  totalP50ms: number;
}

export interface TtfbTarget {
  url: string;
  headers: Record<string, string>;
  ca: string;
}

function pct(sorted: number[], p: number): number {
  return sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]! : NaN;
}

/** One streamed request; resolves with [ttfb ms, total ms] or rejects with what went wrong. */
function once(agent: Agent, target: TtfbTarget, body: string): Promise<[number, number]> {
  return new Promise((resolve, reject) => {
    const t0 = process.hrtime.bigint();
    let first = 0n;
    const req = request(target.url, { method: 'POST', agent, headers: { ...target.headers, 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } }, (res) => {
      if (res.statusCode !== 200) {
        let text = '';
        res.on('data', (c) => (text += c));
        res.on('end', () => reject(new Error(`status ${res.statusCode}: ${text.slice(0, 300)}`)));
        return;
      }
      let head = '';
      res.on('data', (c: Buffer) => {
        if (first === 0n) {
          first = process.hrtime.bigint();
          head = c.toString('utf8', 0, 5);
        }
      });
      res.on('end', () => {
        // Anything but an SSE event first would mean we timed the wrong thing (e.g. a buffered JSON answer).
        if (!head.startsWith('data:') && !head.startsWith('event') && !head.startsWith(':')) return reject(new Error(`first chunk is not an SSE event: ${JSON.stringify(head)}`));
        const end = process.hrtime.bigint();
        resolve([Number(first - t0) / 1e6, Number(end - t0) / 1e6]);
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

export interface TtfbSamples {
  ttfb: number[];
  total: number[];
  errors: number;
  firstError: string | null;
}

/** Runs closed loops for `seconds` (after `warmupSeconds` not counted) and returns every timing. */
export async function streamTtfb(target: TtfbTarget, body: string, connections: number, seconds: number, warmupSeconds = 0): Promise<TtfbSamples> {
  const agent = new Agent({ keepAlive: true, maxSockets: connections, ca: target.ca });
  const out: TtfbSamples = { ttfb: [], total: [], errors: 0, firstError: null };
  const start = Date.now();
  const measureFrom = start + warmupSeconds * 1000;
  const end = measureFrom + seconds * 1000;
  const loop = async () => {
    while (Date.now() < end) {
      const counted = Date.now() >= measureFrom;
      try {
        const [t, all] = await once(agent, target, body);
        if (counted) {
          out.ttfb.push(t);
          out.total.push(all);
        }
      } catch (e) {
        out.errors++;
        out.firstError ??= (e as Error).message;
        // A failing target must not spin: back off a little so the run stays bounded and cheap.
        await new Promise((r) => setTimeout(r, 10));
      }
    }
  };
  try {
    await Promise.all(Array.from({ length: connections }, loop));
  } finally {
    agent.destroy();
  }
  return out;
}

/** Percentiles of samples pooled from several runs (e.g. rounds interleaved with other targets). */
export function summarizeTtfb(runs: TtfbSamples[]): TtfbResult {
  const ttfb = runs.flatMap((r) => r.ttfb).sort((a, b) => a - b);
  const total = runs.flatMap((r) => r.total).sort((a, b) => a - b);
  const errors = runs.reduce((n, r) => n + r.errors, 0);
  const firstError = runs.find((r) => r.firstError)?.firstError ?? null;
  return { requests: ttfb.length, errors, firstError, p50ms: pct(ttfb, 50), p90ms: pct(ttfb, 90), p99ms: pct(ttfb, 99), totalP50ms: pct(total, 50) };
}
