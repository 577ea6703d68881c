// Record hashing on the worker pool gives byte-identical results to the reference (RecordSplitter + leafHash +
// MemoryTree, the calling-thread implementation `hashRecordFile`): on the repository's real JSONL and CSV
// fixtures and on edge cases (CRLF, no final newline, empty lines, a lone final \r, a record longer than the
// read buffer, quoted CSV newlines), for every way of cutting a JSONL file into ranges and buffers.
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { generateKeyPairSync } from 'node:crypto';
import { MemoryTree } from '../../../src/ledger/memory-tree.js';
import { leafHash } from '../../../src/ledger/hash.js';
import { hashDataset } from '../../../src/data/datasets/hash-dataset.js';
import { csvLeaves, jsonlLeavesOfRange, jsonlRanges } from '../../../src/data/datasets/record-leaves.js';
import { hashRecordFile, merkleRootOfPacked } from '../../../src/data/datasets/records.js';
import { signDataset } from '../../../src/data/datasets/sign-dataset.js';
import { serializeSidecar } from '../../../src/data/datasets/sidecar.js';
import { pemSigner } from '../../../src/workload/signing/keys.js';

const tmp = mkdtempSync(join(tmpdir(), 'warden-record-pool-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

const FIXTURES = [
  'test/fixtures/prompt_injection/normalized/setB_jackhhao.jsonl',
  'test/fixtures/prompt_injection/normalized/benign_pool.jsonl',
  'test/fixtures/prompt_injection/extra/bipia/benchmark/email/test.jsonl',
  'test/fixtures/prompt_injection/benign/xstest/xstest_prompts.csv',
];

const EDGE: Record<string, string> = {
  'crlf.jsonl': '{"a":1}\r\n{"b":2}\r\n{"c":3}\r\n',
  'no-final-newline.jsonl': '{"a":1}\n{"b":2}\n{"c":3}',
  'empty-lines.jsonl': '\n{"a":1}\n\n\n{"b":2}\n\n',
  'lone-cr.jsonl': '{"a":1}\n\r',
  'one-long-record.jsonl': `{"text":"${'x'.repeat(300_000)}"}\n{"b":2}\n{"text":"${'y'.repeat(70_000)}"}`,
  'empty.jsonl': '',
  'quoted.csv': 'text,label\r\n"multi\nline, with ""quotes""",1\r\nplain,0\n"a\r\nb",1',
};

function edgeFiles(): string[] {
  const dir = join(tmp, 'edge');
  mkdirSync(dir, { recursive: true });
  return Object.entries(EDGE).map(([name, text]) => {
    writeFileSync(join(dir, name), text);
    return join(dir, name);
  });
}

test('merkleRootOfPacked equals the ledger\'s MemoryTree root for every size 0..70', () => {
  const t = new MemoryTree();
  const leaves: Buffer[] = [];
  for (let n = 0; n <= 70; n++) {
    if (n > 0) {
      const l = leafHash(Buffer.from(`record ${n}`));
      leaves.push(l);
      t.append(l);
    }
    assert.deepEqual(merkleRootOfPacked(Buffer.concat(leaves)), t.root(), `size ${n}`);
  }
});

test('JSONL ranges and buffers of every size give the reference leaves', async () => {
  const files = [...FIXTURES.filter((f) => f.endsWith('.jsonl')), ...edgeFiles().filter((f) => f.endsWith('.jsonl'))];
  for (const path of files) {
    const ref = await hashRecordFile(path, 'jsonl');
    const size = statSync(path).size;
    for (const target of [1, 7, 4096, 100_000, size + 1]) {
      for (const chunk of [5, 64, 65_536]) {
        if (size > 200_000 && (target < 4096 || chunk < 64)) continue; // the big fixture at byte granularity takes long; its shape is covered by the others
        const ranges = await jsonlRanges(path, size, target);
        assert.equal(ranges[0]?.[0] ?? 0, 0);
        assert.equal(ranges.at(-1)?.[1] ?? size, size);
        const parts = await Promise.all(ranges.map(([s, e]) => jsonlLeavesOfRange(path, s, e, () => {}, chunk)));
        const packed = Buffer.concat(parts);
        assert.ok(packed.equals(ref.tree.leaves), `${path} target ${target} chunk ${chunk}: leaves differ`);
      }
    }
  }
});

test('CSV on the pool: the reference leaves and lines', async () => {
  for (const path of [FIXTURES[3]!, ...edgeFiles().filter((f) => f.endsWith('.csv'))]) {
    const ref = await hashRecordFile(path, 'csv');
    const got = await csvLeaves(path);
    assert.ok(got.leaves.equals(ref.tree.leaves), path);
    assert.deepEqual(got.lines, ref.tree.lines, path);
  }
});

test('a dataset hashed on the worker pool signs the same statement and sidecar as on the calling thread', async () => {
  const dir = join(tmp, 'dataset');
  mkdirSync(dir);
  for (const f of FIXTURES) copyFileSync(f, join(dir, f.split('/').pop()!));
  for (const [name, text] of Object.entries(EDGE)) writeFileSync(join(dir, name), text);
  writeFileSync(join(dir, 'weights.bin'), Buffer.alloc(100_000, 7));
  const inline = await hashDataset(dir, [], { inlineBelowBytes: Number.MAX_SAFE_INTEGER });
  const pooled = await hashDataset(dir, [], { inlineBelowBytes: 0, concurrency: 2 });
  assert.deepEqual(pooled.files, inline.files);
  assert.equal(pooled.trees.size, 11);
  for (const [name, t] of inline.trees) {
    const p = pooled.trees.get(name)!;
    assert.equal(p.root, t.root, name);
    assert.ok(p.leaves.equals(t.leaves), name);
    assert.deepEqual(p.lines, t.lines, name);
  }
  const signer = pemSigner(generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }) as string);
  const meta = { name: 'fixtures', version: '1', source: 's', owner: 'o', licence: 'mixed', classification: 'internal', categories: [], retention: 'P1D' };
  const a = await signDataset(dir, meta, signer, { hash: { inlineBelowBytes: Number.MAX_SAFE_INTEGER } });
  const b = await signDataset(dir, meta, signer, { hash: { inlineBelowBytes: 0 } });
  assert.equal(Buffer.from(b.bundle.dsseEnvelope.payload, 'base64').toString(), Buffer.from(a.bundle.dsseEnvelope.payload, 'base64').toString());
  assert.equal(serializeSidecar(b.sidecar), serializeSidecar(a.sidecar));
  assert.equal(b.digest, a.digest);
});

test('a file that disappears under the pool is a named failure, not a partial manifest', async () => {
  const dir = join(tmp, 'vanish');
  mkdirSync(dir);
  writeFileSync(join(dir, 'a.jsonl'), '{"a":1}\n');
  const path = join(dir, 'a.jsonl');
  await assert.rejects(jsonlLeavesOfRange(path, 0, 100), /file ended at byte 8, before 100/);
  await assert.rejects(jsonlRanges(join(dir, 'gone.jsonl'), 10, 4), /ENOENT/);
});
