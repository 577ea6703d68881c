// Reads records of a verified dataset for the data read API, proving each one against the signed record root.
// A file is indexed once (record start offsets, first lines, leaf hashes) and its index is trusted only when
// the leaves rebuild the root the data source signed; the index is rebuilt whenever the file's identity
// (size, mtime, inode) changes. Every record served is hashed again and compared with its signed leaf, so a
// file changed in place after indexing is refused rather than served.
import { createReadStream } from 'node:fs';
import { LRUCache } from 'lru-cache';
import { open, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { HASH_SIZE, leafHash } from '../../ledger/hash.js';
import { DatasetChangedOnDisk } from './errors.js';
import { merkleRootOfPacked, RecordSplitter, type RecordFormat } from './records.js';

export interface SignedRecordFile {
  name: string;
  format: RecordFormat;
  count: number;
  /** Lowercase hex root from the signed manifest. */
  root: string;
}

interface FileIndex {
  identity: string;
  /** Start offset of each record, plus the end of the file. */
  starts: Float64Array;
  lines: Uint32Array;
  /** Leaf hashes, 32 bytes each, in record order. */
  leaves: Buffer;
}

export interface ReadRecord {
  index: number;
  line: number;
  text: string;
}

const identityOf = (s: { size: number; mtimeMs: number; ino: number }) => `${s.size}:${s.mtimeMs}:${s.ino}`;

async function indexFile(path: string, f: SignedRecordFile, identity: string): Promise<FileIndex> {
  const starts: number[] = [];
  const lines: number[] = [];
  const leaves: Buffer[] = [];
  let size = 0;
  const splitter = new RecordSplitter(f.format, (rec, line, start) => {
    starts.push(start);
    lines.push(line);
    leaves.push(leafHash(rec));
  });
  await new Promise<void>((resolve, reject) => {
    createReadStream(path, { highWaterMark: 1024 * 1024 })
      .on('data', (c) => {
        splitter.push(c as Buffer);
        size += (c as Buffer).length;
      })
      .on('error', reject)
      .on('end', () => resolve());
  });
  splitter.end();
  const packed = Buffer.concat(leaves, leaves.length * HASH_SIZE);
  if (leaves.length !== f.count || merkleRootOfPacked(packed).toString('hex') !== f.root) {
    throw new DatasetChangedOnDisk(`${f.name} no longer matches its signed record root (${leaves.length} records on disk, ${f.count} signed)`);
  }
  return { identity, starts: Float64Array.from([...starts, size]), lines: Uint32Array.from(lines), leaves: packed };
}

/** Files whose index is kept (about 44 bytes per record each): the ones training jobs are reading now. */
const MAX_INDEXED_FILES = 32;

export class VerifiedRecordReader {
  /** Key: dataset id and file name; least recently read files are dropped (and indexed again when read). */
  private readonly indexes = new LRUCache<string, Promise<FileIndex>>({ max: MAX_INDEXED_FILES });

  /** Records [offset, offset+limit) of `f` under `dir`, stopping early past `maxBytes`; each proven against its leaf. */
  async read(datasetId: string, dir: string, f: SignedRecordFile, offset: number, limit: number, maxBytes: number): Promise<{ records: ReadRecord[]; total: number }> {
    const path = join(dir, f.name);
    const key = `${datasetId}\n${f.name}`;
    let st;
    try {
      st = await stat(path);
    } catch (e) {
      throw new DatasetChangedOnDisk(`${f.name} cannot be read on the gateway host: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
    const identity = identityOf(st);
    let pending = this.indexes.get(key);
    if (!pending || (await pending.catch(() => null))?.identity !== identity) {
      pending = indexFile(path, f, identity);
      this.indexes.set(key, pending);
      pending.catch(() => this.indexes.delete(key));
    }
    const idx = await pending;
    const total = idx.lines.length;
    if (offset >= total) return { records: [], total };
    let end = Math.min(total, offset + limit);
    // Keep the answer bounded: at least one record, then whole records while under maxBytes.
    while (end > offset + 1 && idx.starts[end]! - idx.starts[offset]! > maxBytes) end--;
    const from = idx.starts[offset]!;
    const bytes = Buffer.alloc(idx.starts[end]! - from);
    const fh = await open(path, 'r');
    try {
      const { bytesRead } = await fh.read(bytes, 0, bytes.length, from);
      if (bytesRead !== bytes.length) throw new DatasetChangedOnDisk(`${f.name} is shorter than when it was indexed`);
    } finally {
      await fh.close();
    }
    const records: ReadRecord[] = [];
    const splitter = new RecordSplitter(f.format, (rec) => {
      const index = offset + records.length;
      const signed = idx.leaves.subarray(index * HASH_SIZE, (index + 1) * HASH_SIZE);
      if (index >= end || !leafHash(rec).equals(signed)) throw new DatasetChangedOnDisk(`${f.name} record ${index} does not match its signed leaf`);
      records.push({ index, line: idx.lines[index]!, text: rec.toString('utf8') });
    });
    splitter.push(bytes);
    splitter.end();
    if (records.length !== end - offset) throw new DatasetChangedOnDisk(`${f.name} records ${offset}..${end - 1} do not match the signed records`);
    return { records, total };
  }
}
