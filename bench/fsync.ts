// How long one durable write takes on a filesystem: append 4 KiB and fdatasync, N times, in a file in the
// given directory (the gateway benchmark passes Warden's data dir, so the figure is for the disk the ledger
// commits to). The durable-before-release rule makes this the floor of a buffered answer's added latency.
import { closeSync, fdatasyncSync, openSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';

export interface FsyncResult {
  n: number;
  p50ms: number;
  p90ms: number;
  p99ms: number;
}

export function fdatasyncLatency(dir: string, n = 200): FsyncResult {
  const file = join(dir, `fdatasync-probe-${process.pid}.bin`);
  const block = Buffer.alloc(4096, 0xa5);
  const times: number[] = [];
  const fd = openSync(file, 'w');
  try {
    for (let i = 0; i < n; i++) {
      const t0 = process.hrtime.bigint();
      writeSync(fd, block);
      fdatasyncSync(fd);
      times.push(Number(process.hrtime.bigint() - t0) / 1e6);
    }
  } finally {
    closeSync(fd);
    rmSync(file, { force: true });
  }
  times.sort((a, b) => a - b);
  const pct = (p: number) => times[Math.min(times.length - 1, Math.floor((p / 100) * times.length))]!;
  return { n, p50ms: pct(50), p90ms: pct(90), p99ms: pct(99) };
}
