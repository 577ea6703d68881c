// A one-line progress bar for hashing, drawn only on a terminal so logs and pipes stay clean.
import type { WriteStream } from 'node:tty';

export type ProgressFn = (doneBytes: number, totalBytes: number) => void;

export function terminalProgress(label: string, stream: NodeJS.WriteStream = process.stderr): ProgressFn | undefined {
  if (!stream.isTTY) return undefined;
  const tty = stream as WriteStream;
  let last = 0;
  const started = Date.now();
  return (done, total) => {
    const now = Date.now();
    if (now - last < 100 && done < total) return;
    last = now;
    const width = Math.max(10, Math.min(40, (tty.columns ?? 80) - 50));
    const frac = total === 0 ? 1 : done / total;
    const filled = Math.round(frac * width);
    const mbps = done / 1e6 / Math.max(0.001, (now - started) / 1000);
    tty.write(`\r${label} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${(frac * 100).toFixed(0).padStart(3)}% ${mbps.toFixed(0)} MB/s`);
    if (done >= total) tty.write('\n');
  };
}
