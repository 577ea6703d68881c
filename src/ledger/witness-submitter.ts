// The log side of C2SP tlog-witness: every interval, the latest checkpoint goes to each configured witness
// with a consistency proof from the size that witness last cosigned; the cosignatures that come back are
// checked and kept with the checkpoint, which /audit/v1/witnessed-checkpoint serves to auditors.
import { readFileSync } from 'node:fs';
import { rename, writeFile } from 'node:fs/promises';
import type { Logger } from 'pino';
import type { Clock } from '../core/clock.js';
import { openCheckpointWith, type SignedCheckpoint } from './checkpoint.js';
import { parseCosignatureLines, parseCosignatureVerifierKey, verifyCosignatures, type CosignatureVerifier } from './cosignature.js';
import type { Ledger } from './ledger.js';
import type { NoteVerifier } from './note.js';
import { formatAddCheckpointRequest } from './witness/request.js';

export interface WitnessEndpoint {
  /** A label for logs. */
  name: string;
  /** Submission prefix: the witness answers at `<url>/add-checkpoint`. */
  url: string;
  /** The witness's cosignature/v1 verifier key (`warden witness key`). */
  key: string;
}

export const WITNESSED_CHECKPOINT_FILE = 'witnessed-checkpoint';

/** A witness refused in a way that says the log, not the network, is wrong: it saw a larger or different tree. */
export class WitnessSawOtherHistory extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'WitnessSawOtherHistory';
  }
}

export interface WitnessSubmitterOptions {
  ledger: Pick<Ledger, 'latestCheckpoint' | 'consistencyProof'>;
  /** The log's own key, to check the stored witnessed checkpoint at start. */
  logKey: NoteVerifier;
  /** Keys the log's key replaced: a saved witnessed checkpoint from before a rotation still loads. */
  previousLogKeys?: readonly NoteVerifier[];
  witnesses: readonly WitnessEndpoint[];
  intervalMs: number;
  clock: Clock;
  /** File that keeps the latest witnessed checkpoint across restarts. */
  statePath: string;
  log?: Pick<Logger, 'info' | 'warn' | 'error'>;
  /** Per-request timeout (default: the interval, at most 10 s). */
  timeoutMs?: number;
  /** Each witness's outcome in each round (metrics: an operator sees a witness that stopped cosigning). */
  onResult?: (witness: string, cosigned: boolean, atMs: number) => void;
}

interface WitnessState {
  endpoint: WitnessEndpoint;
  verifier: CosignatureVerifier;
  /** Size of the latest checkpoint this witness cosigned, as far as we know (0 until it tells us). */
  knownSize: number;
}

export interface RoundResult {
  size: number;
  cosigned: string[];
  failed: { name: string; error: string }[];
}

export class WitnessSubmitter {
  private readonly witnesses: WitnessState[];
  private served: { note: string; size: number; count: number; at: number } | null = null;
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<RoundResult> | null = null;

  constructor(private readonly opts: WitnessSubmitterOptions) {
    this.witnesses = opts.witnesses.map((endpoint) => ({ endpoint, verifier: parseCosignatureVerifierKey(endpoint.key), knownSize: 0 }));
    this.loadState();
  }

  /** The latest checkpoint with the cosignatures collected for it, or null before any witness answered. */
  witnessedCheckpoint(): string | null {
    return this.served?.note ?? null;
  }

  private loadState(): void {
    let note: string;
    try {
      note = readFileSync(this.opts.statePath, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw e;
    }
    const cp = openCheckpointWith(note, [this.opts.logKey, ...(this.opts.previousLogKeys ?? [])], this.opts.logKey.name);
    const count = verifyCosignatures(note, this.witnesses.map((w) => w.verifier), { now: this.now() }).length;
    this.served = { note, size: cp.size, count, at: 0 };
    const current = this.opts.ledger.latestCheckpoint().size;
    if (cp.size > current) {
      this.opts.log?.error({ witnessedSize: cp.size, logSize: current }, 'the witnessed checkpoint is larger than the log: the log was rolled back, and auditors requiring witnesses will refuse it');
    }
  }

  private now(): number {
    return Math.floor(this.opts.clock.now() / 1000);
  }

  /** Submits the latest checkpoint to every witness once. */
  submitOnce(): Promise<RoundResult> {
    if (this.running) return this.running;
    this.running = this.round().finally(() => {
      this.running = null;
    });
    return this.running;
  }

  private async round(): Promise<RoundResult> {
    const cp = this.opts.ledger.latestCheckpoint();
    const settled = await Promise.allSettled(this.witnesses.map((w) => this.submitTo(w, cp)));
    const lines: string[] = [];
    const result: RoundResult = { size: cp.size, cosigned: [], failed: [] };
    const at = this.opts.clock.now();
    settled.forEach((s, i) => {
      const w = this.witnesses[i]!;
      this.opts.onResult?.(w.endpoint.name, s.status === 'fulfilled', at);
      if (s.status === 'fulfilled') {
        lines.push(...s.value);
        result.cosigned.push(w.endpoint.name);
      } else {
        const error = (s.reason as Error).message;
        result.failed.push({ name: w.endpoint.name, error });
        const level = s.reason instanceof WitnessSawOtherHistory ? 'error' : 'warn';
        this.opts.log?.[level]({ witness: w.endpoint.name, url: w.endpoint.url, size: cp.size, err: error }, 'witness did not cosign the checkpoint');
      }
    });
    if (lines.length > 0) await this.offer(cp, lines, result.cosigned.length);
    return result;
  }

  /**
   * Serves the new checkpoint unless it has fewer cosignatures than the one served now and that one is still
   * recent: one witness that is briefly down should not lower what auditors requiring N witnesses can see.
   */
  private async offer(cp: SignedCheckpoint, lines: string[], count: number): Promise<void> {
    const now = this.opts.clock.now();
    const cur = this.served;
    if (cur && cur.size <= cp.size && count < cur.count && now - cur.at < 3 * this.opts.intervalMs) return;
    const note = cp.note + lines.join('');
    this.served = { note, size: cp.size, count, at: now };
    await writeFile(this.opts.statePath + '.tmp', note, { mode: 0o600 });
    await rename(this.opts.statePath + '.tmp', this.opts.statePath);
  }

  private async post(w: WitnessState, body: string): Promise<{ status: number; type: string; text: string }> {
    const timeout = this.opts.timeoutMs ?? Math.min(this.opts.intervalMs, 10_000);
    const res = await fetch(`${w.endpoint.url.replace(/\/+$/, '')}/add-checkpoint`, { method: 'POST', body, headers: { 'content-type': 'text/plain; charset=utf-8' }, signal: AbortSignal.timeout(timeout) });
    return { status: res.status, type: res.headers.get('content-type') ?? '', text: await res.text() };
  }

  /** Returns this witness's verified cosignature lines on `cp`. */
  private async submitTo(w: WitnessState, cp: SignedCheckpoint): Promise<string[]> {
    // One resync is enough: a 409 names the witness's size, and the second attempt proves from there.
    for (let attempt = 0; attempt < 2; attempt++) {
      const old = w.knownSize;
      if (old > cp.size) {
        throw new WitnessSawOtherHistory(`witness ${w.endpoint.name} has cosigned size ${old}, larger than this log's ${cp.size}: the log was rolled back`);
      }
      const proof = old === 0 ? [] : (await this.opts.ledger.consistencyProof(old, cp.size)).hashes.map((h) => Buffer.from(h, 'base64'));
      const res = await this.post(w, formatAddCheckpointRequest({ oldSize: old, proof, checkpoint: cp.note }));
      if (res.status === 200) {
        const mine = parseCosignatureLines(res.text).filter((line) => verifyCosignatures(cp.note + line, [w.verifier], { now: this.now() }).length === 1);
        if (mine.length === 0) throw new Error(`witness ${w.endpoint.name} answered without a cosignature from its configured key`);
        w.knownSize = cp.size;
        return mine;
      }
      if (res.status === 409 && res.type.startsWith('text/x.tlog.size')) {
        const m = /^(0|[1-9][0-9]*)\n$/.exec(res.text);
        if (!m || !Number.isSafeInteger(Number(m[1]))) throw new Error(`witness ${w.endpoint.name} answered 409 with a malformed size`);
        const known = Number(m[1]);
        if (known === old) throw new WitnessSawOtherHistory(`witness ${w.endpoint.name} cosigned a different root at size ${old}: the log forked`);
        w.knownSize = known;
        continue;
      }
      if (res.status === 422) throw new WitnessSawOtherHistory(`witness ${w.endpoint.name} refused the consistency proof from size ${old} to ${cp.size}: this log is not an extension of what it cosigned (${res.text.trim()})`);
      throw new Error(`witness ${w.endpoint.name} answered ${res.status}: ${res.text.trim().slice(0, 200)}`);
    }
    throw new Error(`witness ${w.endpoint.name} kept answering 409`);
  }

  /** Submits every `intervalMs` (first round at once); rounds never overlap. */
  start(): void {
    if (this.timer) return;
    const tick = () => {
      this.submitOnce().catch((e: unknown) => this.opts.log?.error({ err: e }, 'witness round failed'));
    };
    tick();
    this.timer = setInterval(tick, this.opts.intervalMs);
    this.timer.unref();
  }

  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    if (this.running) await this.running.catch(() => {});
  }
}
