// A byte range of a file on disk: a whole model file, a member stored in a tar or an uncompressed
// zip (PyTorch writes its zips stored), or a decompressed member in the scan's private temp dir.
// Members are scanned where they lie, so a 40 GB checkpoint is not copied to be looked at.
import { closeSync, openSync, readSync } from 'node:fs';

export interface Region {
  path: string;
  offset: number;
  length: number;
}

/** The subset of FileHandle the format checkers use, positioned relative to a region. */
export interface ReadAt {
  read(buffer: Buffer, offset: number, length: number, position: number): Promise<{ bytesRead: number }>;
}

/** Random access to bytes: what the pickle parser reads through (a Buffer or a region of a file). */
export interface ByteSource {
  readonly length: number;
  /** `n` bytes at `pos`; the caller has checked that `pos + n <= length`. */
  read(pos: number, n: number): Buffer;
  /** Offset of the first `byte` at or after `from`, or -1. */
  indexOf(byte: number, from: number): number;
}

export function bufferSource(buf: Buffer): ByteSource {
  return { length: buf.length, read: (pos, n) => buf.subarray(pos, pos + n), indexOf: (b, from) => buf.indexOf(b, from) };
}

const BLOCK = 64 * 1024;

/** Synchronous positional reads with a one-block cache; the parser is synchronous, the file may be huge. */
export class FileSource implements ByteSource {
  private readonly fd: number;
  private blockStart = -1;
  private block = Buffer.alloc(0);

  constructor(private readonly region: Region) {
    this.fd = openSync(region.path, 'r');
  }

  get length(): number {
    return this.region.length;
  }

  private load(pos: number): void {
    const start = pos - (pos % BLOCK);
    if (start === this.blockStart) return;
    const n = Math.min(BLOCK, this.region.length - start);
    const buf = Buffer.alloc(n);
    let got = 0;
    while (got < n) {
      const r = readSync(this.fd, buf, got, n - got, this.region.offset + start + got);
      if (r === 0) throw new Error(`${this.region.path} shrank while being scanned`);
      got += r;
    }
    this.block = buf;
    this.blockStart = start;
  }

  read(pos: number, n: number): Buffer {
    this.load(pos);
    const inBlock = pos - this.blockStart;
    if (inBlock + n <= this.block.length) return this.block.subarray(inBlock, inBlock + n);
    const out = Buffer.alloc(n);
    let done = 0;
    while (done < n) {
      this.load(pos + done);
      const at = pos + done - this.blockStart;
      const take = Math.min(n - done, this.block.length - at);
      this.block.copy(out, done, at, at + take);
      done += take;
    }
    return out;
  }

  indexOf(byte: number, from: number): number {
    for (let pos = from; pos < this.region.length; ) {
      this.load(pos);
      const at = pos - this.blockStart;
      const i = this.block.indexOf(byte, at);
      if (i >= 0) return this.blockStart + i;
      pos = this.blockStart + this.block.length;
    }
    return -1;
  }

  close(): void {
    closeSync(this.fd);
  }
}

/** Runs `fn` with a source over the region, closing the file afterwards. */
export function withFileSource<T>(region: Region, fn: (src: ByteSource) => T): T {
  const src = new FileSource(region);
  try {
    return fn(src);
  } finally {
    src.close();
  }
}
