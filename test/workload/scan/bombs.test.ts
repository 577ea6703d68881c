// Decompression and archive bombs (issue 21): every one is a clear refusal with the scanner's default
// limits, reached without inflating the bomb to the scan's byte budget, and benign compressed models pass.
import assert from 'node:assert/strict';
import { gzipSync } from 'node:zlib';
import { test } from 'node:test';
import { Readable } from 'node:stream';
import { rmSync } from 'node:fs';
import { spool, type ScanContext } from '../../../src/workload/scan/scan-model.js';
import { modelScanner, pkl, safetensors, tar, tarMember, zip } from './fixtures.js';

const scanAs = modelScanner('warden-bombs-');
const rulesOf = (r: Awaited<ReturnType<typeof scanAs>>) => r.issues.map((i) => `${i.file} ${i.rule}`);
const MIB = 1024 * 1024;
const zeros = Buffer.alloc(64 * MIB);

test('a gzip bomb (64 MiB of zeros in 64 KiB) is refused by its expansion ratio under the default limits', async () => {
  const bomb = gzipSync(zeros);
  assert.ok(bomb.length < 100 * 1024);
  const r = await scanAs('weights.bin.gz', bomb);
  assert.deepEqual(rulesOf(r), ['weights.bin.gz!weights.bin archive.expansion_ratio']);
  assert.match(r.issues[0]!.reason, /maxExpansionRatio/);
});

test('a tar.gz bomb is refused the same way; a higher maxExpansionRatio lets a known-sparse archive through', async () => {
  const data = gzipSync(tar(tarMember('model/zeros.bin', Buffer.alloc(8 * MIB))));
  assert.deepEqual(rulesOf(await scanAs('model.tgz', data)), ['model.tgz!model.tar archive.expansion_ratio']);
  const relaxed = await scanAs('model.tgz', data, { maxExpansionRatio: 100_000 });
  assert.deepEqual(rulesOf(relaxed), ['model.tgz!model.tar!model/zeros.bin format.unrecognized']);
});

test('a deflated zip member declaring a bomb-sized expansion is refused before it is inflated', async () => {
  const r = await scanAs('model.pt', zip([{ name: 'archive/data.pkl', data: pkl('\x80\x02}.') }, { name: 'archive/data/0', data: zeros, deflate: true }]));
  assert.deepEqual(rulesOf(r), ['model.pt!archive/data/0 archive.expansion_ratio']);
  assert.match(r.issues[0]!.reason, /^declared:/);
});

test('a deflated zip member that lies about its size is stopped while inflating', async () => {
  const r = await scanAs('model.zip', zip([{ name: 'w', data: zeros, deflate: true, declaredSize: 1000 }]));
  assert.equal(r.ok, false);
  assert.equal(r.issues.length, 1);
  assert.match(r.issues[0]!.rule, /^archive\.(expansion_ratio|unreadable_member)$/);
});

test('a member stream that fails before its spool file exists fails that member, never the process (CI saw this as an uncaught exception)', async () => {
  // yauzl's byte counter checks a lying member as soon as inflated bytes arrive, which can be before the scan's
  // temporary directory exists: that error must reach the scan. Here the source fails on the next tick, while
  // the first spool still waits for mkdtemp.
  const ctx: ScanContext = { opts: {}, modelRoot: '.', tmpCount: 0, decompressed: 0, members: 0, memberLimitReported: false };
  const source = new Readable({ read() {} });
  process.nextTick(() => source.destroy(new Error('too many bytes in the stream. expected 1000. got at least 16384')));
  await assert.rejects(spool(ctx, source, 100), /too many bytes in the stream/);
  assert.ok(source.destroyed);
  if (ctx.tmp) rmSync(ctx.tmp, { recursive: true, force: true });
});

test('the scan budget (maxDecompressedBytes) refuses a member whose declared size exceeds it, before inflating', async () => {
  const data = Buffer.alloc(3 * MIB);
  for (let i = 0; i < data.length; i += 4) data.writeUInt32LE((i * 2654435761) >>> 0, i); // barely compressible
  const r = await scanAs('big.zip', zip([{ name: 'w', data, deflate: true }]), { maxDecompressedBytes: 2 * MIB });
  assert.deepEqual(rulesOf(r), ['big.zip!w archive.too_large']);
});

test('overlapping zip members (the non-recursive zip bomb: many entries sharing one kernel) are refused', async () => {
  const members = [{ name: 'kernel', data: Buffer.alloc(2 * MIB), deflate: true }, ...Array.from({ length: 50 }, (_, i) => ({ name: `copy${i}`, data: Buffer.alloc(0), sameDataAs: 0 }))];
  const r = await scanAs('bomb.zip', zip(members));
  const overlapping = r.issues.filter((i) => i.rule === 'archive.overlapping_entries');
  assert.equal(overlapping.length, 50);
  assert.match(overlapping[0]!.reason, /"kernel"/);
  // The kernel itself is inflated once (2 MiB of zeros: over the ratio too); the copies are never inflated.
  assert.ok(r.issues.every((i) => i.rule === 'archive.overlapping_entries' || i.rule === 'archive.name_mismatch' || (i.file === 'bomb.zip!kernel' && i.rule === 'archive.expansion_ratio')), JSON.stringify(r.issues.slice(0, 3)));
});

test('archives nested deeper than the default depth (4) are refused, not followed', async () => {
  let data = pkl("cposix\nsystem\n(S'id'\ntR.");
  for (let i = 0; i < 6; i++) data = zip([{ name: `layer${i}.zip`, data }]);
  const r = await scanAs('nested.zip', data);
  assert.deepEqual(rulesOf(r), ['nested.zip!layer5.zip!layer4.zip!layer3.zip!layer2.zip archive.too_deep']);
});

test('an archive with more members than maxArchiveMembers is refused once, and the rest is not opened', async () => {
  const members = Array.from({ length: 10 }, (_, i) => tarMember(`m${i}.json`, Buffer.from('{}')));
  const ok = await scanAs('many.tar', tar(...members), { maxArchiveMembers: 10 });
  assert.deepEqual(ok.issues, []);
  const r = await scanAs('many.tar', tar(...members), { maxArchiveMembers: 3 });
  assert.deepEqual(rulesOf(r), ['many.tar!m3.json archive.too_many_members']);
  // A zip's central directory is read only up to the limit; the evil member past it is never opened.
  const z = zip([...Array.from({ length: 5 }, (_, i) => ({ name: `m${i}.json`, data: Buffer.from('{}') })), { name: 'late', data: pkl("cposix\nsystem\n(S'id'\ntR.") }]);
  assert.deepEqual(rulesOf(await scanAs('many.zip', z, { maxArchiveMembers: 3 })), ['many.zip archive.too_many_members']);
  assert.deepEqual(rulesOf(await scanAs('many.zip', z)), ['many.zip!late pickle.unsafe_global']);
  // The limit is for the whole scan, nested members included.
  const nested = tar(tarMember('a.json', Buffer.from('{}')), tarMember('inner.tar', tar(...members.slice(0, 4))));
  assert.deepEqual(rulesOf(await scanAs('nested.tar', nested, { maxArchiveMembers: 4 })), ['nested.tar!inner.tar!m2.json archive.too_many_members']);
});

test('a benign compressed model passes: tar.gz of config, vocabulary, safetensors and a plain pickle', async () => {
  const weights = safetensors({ w: { dtype: 'F32', shape: [256, 256], data_offsets: [0, 262144] } }, 262144);
  for (let i = weights.length - 262144; i < weights.length; i += 4) weights.writeFloatLE(Math.sin(i), i);
  const data = gzipSync(tar(
    tarMember('model/config.json', Buffer.from(JSON.stringify({ hidden: 256, layers: 1 }))),
    tarMember('model/vocab.txt', Buffer.from(Array.from({ length: 5000 }, (_, i) => `tok${i}`).join('\n'))),
    tarMember('model/model.safetensors', weights),
    tarMember('model/state.pkl', pkl('(dp0\nVw\np1\n(lp2\nF1.0\naF2.0\nas.')),
  ));
  const r = await scanAs('model.tar.gz', data);
  assert.deepEqual(r.issues, []);
  const zipped = await scanAs('model.zip', zip([{ name: 'config.json', data: Buffer.from('{"a":1}'), deflate: true }, { name: 'model.safetensors', data: weights, deflate: true }]));
  assert.deepEqual(zipped.issues, []);
});
