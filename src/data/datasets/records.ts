// Records of JSONL and CSV shards, and a Merkle tree over them (RFC 9162 §2.1.1, the ledger's hash
// primitives), so one record can be proven in or out of a signed dataset without the others.
//   JSONL: a record is one line without its `\n` (and a trailing `\r`); a final line without `\n` counts.
//   CSV (RFC 4180): a record ends at a line break outside double quotes; the header is record 0.
// The file's SHA-256 is computed in the same streaming pass, so a shard is read once.
import { createHash, hash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { EMPTY_ROOT, HASH_SIZE, leafHash } from '../../ledger/hash.js';
import { MemoryTree } from '../../ledger/memory-tree.js';
import { inclusionProof } from '../../ledger/merkle-proof.js';
import { verifyInclusion } from '../../ledger/merkle-verify.js';

export type RecordFormat = 'jsonl' | 'csv';

export function recordFormatOf(name: string): RecordFormat | null {
  const n = name.toLowerCase();
  if (n.endsWith('.jsonl') || n.endsWith('.ndjson')) return 'jsonl';
  if (n.endsWith('.csv')) return 'csv';
  return null;
}

export interface RecordTree {
  format: RecordFormat;
  /** RFC 9162 leaf hashes (SHA-256(0x00 || record bytes)), 32 bytes each, packed in file order. */
  leaves: Buffer;
  count: number;
  /** First line (1-based) of each record, for messages. */
  lines: Uint32Array;
  /** Lowercase hex MTH over the leaves. */
  root: string;
}

/** Leaf `i` of packed leaves (a view, not a copy). */
export function leafAt(packed: Buffer, i: number): Buffer {
  return packed.subarray(i * HASH_SIZE, (i + 1) * HASH_SIZE);
}

export interface HashedRecordFile {
  sha256: string;
  size: number;
  tree: RecordTree;
}

const LF = 0x0a;
const CR = 0x0d;
const QUOTE = 0x22;

/**
 * Splits a byte stream into records, calling `onRecord` with each record's bytes, its first line and the byte
 * offset where it starts in the stream (the data read API seeks to it).
 */
export class RecordSplitter {
  private pending: Buffer[] = [];
  private inQuotes = false;
  private line = 1;
  private recordLine = 1;
  /** Bytes of the stream before the current chunk, and where the record being assembled starts. */
  private consumed = 0;
  private recordStart = 0;

  constructor(private readonly format: RecordFormat, private readonly onRecord: (bytes: Buffer, line: number, start: number) => void) {}

  push(chunk: Buffer): void {
    let start = 0;
    for (let i = 0; i < chunk.length; i++) {
      const b = chunk[i]!;
      // An escaped quote ("") toggles twice, so the state stays right without look-ahead across chunks.
      if (b === QUOTE && this.format === 'csv') this.inQuotes = !this.inQuotes;
      else if (b === LF) {
        this.line++;
        if (this.inQuotes) continue;
        this.pending.push(chunk.subarray(start, i));
        this.emit(this.consumed + i + 1);
        start = i + 1;
      }
    }
    if (start < chunk.length) this.pending.push(Buffer.from(chunk.subarray(start)));
    this.consumed += chunk.length;
  }

  end(): void {
    if (this.pending.some((p) => p.length > 0)) this.emit(this.consumed);
  }

  private emit(nextStart: number): void {
    let rec = this.pending.length === 1 ? this.pending[0]! : Buffer.concat(this.pending);
    if (rec.length > 0 && rec[rec.length - 1] === CR) rec = rec.subarray(0, rec.length - 1);
    this.pending = [];
    this.onRecord(rec, this.recordLine, this.recordStart);
    this.recordLine = this.line;
    this.recordStart = nextStart;
  }
}

/** The reference tree: MemoryTree appends, as the ledger builds its own (merkleRootOfPacked must agree). */
function treeOf(format: RecordFormat, leaves: Buffer[], lines: number[]): RecordTree {
  const t = new MemoryTree();
  for (const l of leaves) t.append(l);
  return { format, leaves: Buffer.concat(leaves, leaves.length * HASH_SIZE), count: leaves.length, lines: Uint32Array.from(lines), root: t.root().toString('hex') };
}

/** Reads `path` once: its SHA-256 and the record tree. */
export function hashRecordFile(path: string, format: RecordFormat, onBytes: (n: number) => void = () => {}): Promise<HashedRecordFile> {
  return new Promise((resolve, reject) => {
    const h = createHash('sha256');
    const leaves: Buffer[] = [];
    const lines: number[] = [];
    let size = 0;
    const splitter = new RecordSplitter(format, (rec, line) => {
      leaves.push(leafHash(rec));
      lines.push(line);
    });
    createReadStream(path, { highWaterMark: 1024 * 1024 })
      .on('data', (c) => {
        const chunk = c as Buffer;
        h.update(chunk);
        splitter.push(chunk);
        size += chunk.length;
        onBytes(chunk.length);
      })
      .on('error', reject)
      .on('end', () => {
        splitter.end();
        resolve({ sha256: h.digest('hex'), size, tree: treeOf(format, leaves, lines) });
      });
  });
}

/**
 * RFC 9162 §2.1.1 MTH over leaf hashes packed 32 bytes each. Pairing level by level and carrying an odd last
 * node up unchanged builds the same left-balanced tree as the split at the largest power of two, without
 * keeping every level (MemoryTree does, for proofs).
 */
export function merkleRootOfPacked(packed: Buffer): Buffer {
  let n = packed.length / HASH_SIZE;
  if (n === 0) return Buffer.from(EMPTY_ROOT);
  // One reused 0x01 || left || right input per node hash (nodeHash's shape), the levels packed like the leaves.
  const input = Buffer.allocUnsafe(1 + 2 * HASH_SIZE);
  input[0] = 0x01;
  let level = packed;
  while (n > 1) {
    const up = Buffer.allocUnsafe(Math.ceil(n / 2) * HASH_SIZE);
    let j = 0;
    for (let i = 0; i + 1 < n; i += 2, j++) {
      level.copy(input, 1, i * HASH_SIZE, (i + 2) * HASH_SIZE);
      (hash('sha256', input, 'buffer') as unknown as Buffer).copy(up, j * HASH_SIZE);
    }
    if (n % 2 === 1) level.copy(up, j * HASH_SIZE, (n - 1) * HASH_SIZE, n * HASH_SIZE);
    level = up;
    n = Math.ceil(n / 2);
  }
  return Buffer.from(level.subarray(0, HASH_SIZE));
}

/** The record tree of bytes already in memory (tests, proofs of a single record). */
export function recordTreeOf(bytes: Buffer, format: RecordFormat): RecordTree {
  const leaves: Buffer[] = [];
  const lines: number[] = [];
  const s = new RecordSplitter(format, (rec, line) => {
    leaves.push(leafHash(rec));
    lines.push(line);
  });
  s.push(bytes);
  s.end();
  return treeOf(format, leaves, lines);
}

/** RFC 9162 §2.1.3.1 inclusion proof of record `index` (MemoryTree keeps the complete subtrees a proof reads). */
export async function recordInclusionProof(packed: Buffer, index: number): Promise<Buffer[]> {
  const t = new MemoryTree();
  const n = packed.length / HASH_SIZE;
  for (let i = 0; i < n; i++) t.append(leafAt(packed, i));
  return inclusionProof(t, index, n);
}

/** Throws InclusionProofInvalid unless `record` is record `index` of the tree with `rootHex` and `size` records. */
export function verifyRecordInclusion(record: Buffer, index: number, size: number, proof: readonly Buffer[], rootHex: string): void {
  verifyInclusion(index, size, leafHash(record), proof, Buffer.from(rootHex, 'hex'));
}

export interface RecordChange {
  kind: 'changed' | 'added' | 'removed';
  /** 0-based record index in the signed file (changed, removed) or in the file on disk (added). */
  index: number;
  /** First line of the record in the file on disk (changed, added). */
  line?: number;
}

/**
 * Which records differ between the signed leaves and the file on disk: the common prefix and suffix are
 * equal; inside, records at the same position are changed, the rest added or removed.
 */
export function diffRecords(signed: Buffer, actual: RecordTree): RecordChange[] {
  const a = actual.leaves;
  const n = signed.length / HASH_SIZE;
  const m = actual.count;
  const same = (i: number, j: number) => signed.compare(a, j * HASH_SIZE, (j + 1) * HASH_SIZE, i * HASH_SIZE, (i + 1) * HASH_SIZE) === 0;
  let p = 0;
  while (p < n && p < m && same(p, p)) p++;
  let s = 0;
  while (s < n - p && s < m - p && same(n - 1 - s, m - 1 - s)) s++;
  const oldEnd = n - s;
  const newEnd = m - s;
  const out: RecordChange[] = [];
  const paired = Math.min(oldEnd - p, newEnd - p);
  for (let k = 0; k < paired; k++) if (!same(p + k, p + k)) out.push({ kind: 'changed', index: p + k, line: actual.lines[p + k]! });
  for (let k = p + paired; k < newEnd; k++) out.push({ kind: 'added', index: k, line: actual.lines[k]! });
  for (let k = p + paired; k < oldEnd; k++) out.push({ kind: 'removed', index: k });
  return out;
}
