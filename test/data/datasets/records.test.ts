// Record trees over JSONL and CSV: record boundaries (CSV quoted newlines, CRLF, a last line without \n),
// one record proven in (and a forged one out), and which records differ between two versions.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { leafHash } from '../../../src/ledger/hash.js';
import { InclusionProofInvalid } from '../../../src/ledger/errors.js';
import { diffRecords, leafAt, RecordSplitter, recordInclusionProof, recordTreeOf, verifyRecordInclusion, type RecordFormat } from '../../../src/data/datasets/records.js';

function split(text: string, format: RecordFormat, chunk = 3): { rec: string; line: number }[] {
  const out: { rec: string; line: number }[] = [];
  const s = new RecordSplitter(format, (b, line) => out.push({ rec: b.toString('utf8'), line }));
  const bytes = Buffer.from(text);
  // Small chunks: boundaries and quotes must survive being split across reads.
  for (let i = 0; i < bytes.length; i += chunk) s.push(bytes.subarray(i, i + chunk));
  s.end();
  return out;
}

test('JSONL: one record per line, CRLF trimmed, a final line without newline counts, no phantom last record', () => {
  assert.deepEqual(split('{"a":1}\r\n{"b":2}\n{"c":3}', 'jsonl'), [{ rec: '{"a":1}', line: 1 }, { rec: '{"b":2}', line: 2 }, { rec: '{"c":3}', line: 3 }]);
  assert.deepEqual(split('{"a":1}\n', 'jsonl').length, 1);
});

test('CSV: a quoted field may hold newlines and escaped quotes; the header is record 0', () => {
  const recs = split('text,label\n"multi\nline, with ""quotes""",1\nplain,0\n', 'csv', 2);
  assert.deepEqual(recs, [
    { rec: 'text,label', line: 1 },
    { rec: '"multi\nline, with ""quotes""",1', line: 2 },
    { rec: 'plain,0', line: 4 },
  ]);
});

test('a record is proven in the tree; a changed record or a wrong index is proven out', async () => {
  const data = Buffer.from(Array.from({ length: 13 }, (_, i) => JSON.stringify({ text: `row ${i}`, label: i % 2 })).join('\n') + '\n');
  const tree = recordTreeOf(data, 'jsonl');
  assert.equal(tree.count, 13);
  assert.equal(tree.leaves.length, 13 * 32);
  const rec = Buffer.from(JSON.stringify({ text: 'row 7', label: 1 }));
  const proof = await recordInclusionProof(tree.leaves, 7);
  verifyRecordInclusion(rec, 7, 13, proof, tree.root);
  assert.throws(() => verifyRecordInclusion(Buffer.from(JSON.stringify({ text: 'row 7', label: 0 })), 7, 13, proof, tree.root), InclusionProofInvalid);
  assert.throws(() => verifyRecordInclusion(rec, 6, 13, proof, tree.root), InclusionProofInvalid);
});

test('diffRecords names changed, inserted and deleted records by index and line', () => {
  const lines = Array.from({ length: 10 }, (_, i) => `{"i":${i}}`);
  const signed = recordTreeOf(Buffer.from(lines.join('\n')), 'jsonl').leaves;
  const changed = [...lines];
  changed[4] = '{"i":4,"label":"flipped"}';
  assert.deepEqual(diffRecords(signed, recordTreeOf(Buffer.from(changed.join('\n')), 'jsonl')), [{ kind: 'changed', index: 4, line: 5 }]);
  const inserted = [...lines.slice(0, 3), '{"evil":true}', ...lines.slice(3)];
  assert.deepEqual(diffRecords(signed, recordTreeOf(Buffer.from(inserted.join('\n')), 'jsonl')), [{ kind: 'added', index: 3, line: 4 }]);
  const deleted = lines.filter((_, i) => i !== 8);
  assert.deepEqual(diffRecords(signed, recordTreeOf(Buffer.from(deleted.join('\n')), 'jsonl')), [{ kind: 'removed', index: 8 }]);
  assert.deepEqual(diffRecords(signed, recordTreeOf(Buffer.from(lines.join('\n')), 'jsonl')), []);
  assert.ok(leafHash(Buffer.from(lines[0]!)).equals(leafAt(signed, 0)));
});
