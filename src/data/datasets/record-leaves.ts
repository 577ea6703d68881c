// Leaf hashes of records, fast enough for the worker pool: the same records and the same RFC 9162 leaves as
// RecordSplitter + leafHash (records.ts), which stays the reference (test/data/datasets/record-pool.test.ts).
//   JSONL: a byte range that starts at a record boundary and ends at one (or at the end of the file) is split
//          with indexOf; each leaf is SHA-256 over 0x00 || record, hashed in place by writing the 0x00 over
//          the byte before the record (the previous `\n`, or a reserved first byte) and restoring it.
//   CSV:   quotes decide where records end, so a CSV file is one job, split by RecordSplitter.
import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { hash } from 'node:crypto';
import { HASH_SIZE, leafHash } from '../../ledger/hash.js';
import { RecordSplitter } from './records.js';

const LF = 0x0a;
const CR = 0x0d;

/** Packed 32-byte leaves, growing by doubling. */
class LeafSink {
  buf = Buffer.allocUnsafe(HASH_SIZE * 4096);
  count = 0;

  push(h: Buffer): void {
    if ((this.count + 1) * HASH_SIZE > this.buf.length) {
      const bigger = Buffer.allocUnsafe(this.buf.length * 2);
      this.buf.copy(bigger, 0, 0, this.count * HASH_SIZE);
      this.buf = bigger;
    }
    h.copy(this.buf, this.count * HASH_SIZE);
    this.count++;
  }

  /** A copy in its own memory (never Node's shared pool slab), so its ArrayBuffer can be transferred. */
  packed(): Buffer {
    const out = Buffer.allocUnsafeSlow(this.count * HASH_SIZE);
    this.buf.copy(out, 0, 0, this.count * HASH_SIZE);
    return out;
  }
}

/** Leaves of the JSONL records in [start, end) of `path`; `end` is a record boundary or the file's size. */
export async function jsonlLeavesOfRange(path: string, start: number, end: number, onBytes: (n: number) => void = () => {}, chunkSize = 4 * 1024 * 1024): Promise<Buffer> {
  const sink = new LeafSink();
  // buf[0] is reserved so that even a record at the start of the buffer has a byte before it to borrow.
  let buf = Buffer.allocUnsafe(chunkSize + 1);
  let carry = 0;
  let pos = start;
  const leafAt = (s: number, e: number) => {
    if (e > s && buf[e - 1] === CR) e--;
    const saved = buf[s - 1]!;
    buf[s - 1] = 0x00;
    sink.push(hash('sha256', buf.subarray(s - 1, e), 'buffer') as unknown as Buffer);
    buf[s - 1] = saved;
  };
  const fh = await open(path, 'r');
  try {
    while (pos < end) {
      if (1 + carry >= buf.length) {
        // One record longer than the buffer: grow it, keeping the partial record.
        const bigger = Buffer.allocUnsafe(buf.length * 2);
        buf.copy(bigger, 1, 1, 1 + carry);
        buf = bigger;
      }
      const want = Math.min(buf.length - 1 - carry, end - pos);
      const { bytesRead } = await fh.read(buf, 1 + carry, want, pos);
      if (bytesRead === 0) throw new Error(`file ended at byte ${pos}, before ${end}: it changed while being hashed`);
      pos += bytesRead;
      onBytes(bytesRead);
      const view = buf.subarray(0, 1 + carry + bytesRead);
      let s = 1;
      for (let i = view.indexOf(LF, s); i !== -1; i = view.indexOf(LF, s)) {
        leafAt(s, i);
        s = i + 1;
      }
      carry = view.length - s;
      if (carry > 0 && s > 1) buf.copy(buf, 1, s, view.length);
    }
    // The last record of the file may have no `\n`; an empty remainder is no record (as RecordSplitter.end).
    if (carry > 0) leafAt(1, 1 + carry);
  } finally {
    await fh.close();
  }
  return sink.packed();
}

/** Leaves and first lines of every record of a CSV file (RFC 4180 quotes), by the reference splitter. */
export function csvLeaves(path: string, onBytes: (n: number) => void = () => {}): Promise<{ leaves: Buffer; lines: Uint32Array }> {
  const sink = new LeafSink();
  const lines: number[] = [];
  const splitter = new RecordSplitter('csv', (rec, line) => {
    sink.push(leafHash(rec));
    lines.push(line);
  });
  return new Promise((resolve, reject) => {
    createReadStream(path, { highWaterMark: 1024 * 1024 })
      .on('data', (c) => {
        splitter.push(c as Buffer);
        onBytes((c as Buffer).length);
      })
      .on('error', reject)
      .on('end', () => {
        splitter.end();
        resolve({ leaves: sink.packed(), lines: Uint32Array.from(lines) });
      });
  });
}

/**
 * Record boundaries that cut `size` bytes of a JSONL file into ranges of about `target` bytes: each cut is just
 * after a `\n`, so every range holds whole records.
 */
export async function jsonlRanges(path: string, size: number, target: number): Promise<[number, number][]> {
  const cuts = [0];
  const probe = Buffer.allocUnsafe(64 * 1024);
  const fh = await open(path, 'r');
  try {
    let at = target;
    while (at < size) {
      let found = -1;
      for (let p = at; p < size && found === -1; p += probe.length) {
        const { bytesRead } = await fh.read(probe, 0, probe.length, p);
        if (bytesRead === 0) break;
        const i = probe.subarray(0, bytesRead).indexOf(LF);
        if (i !== -1) found = p + i + 1;
      }
      if (found === -1 || found >= size) break;
      cuts.push(found);
      at = Math.max(found, at) + target;
    }
  } finally {
    await fh.close();
  }
  cuts.push(size);
  return cuts.slice(1).map((e, i) => [cuts[i]!, e] as [number, number]);
}
