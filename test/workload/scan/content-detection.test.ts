// Issue 21: files the scanner used to wave through because it judged them by name or first bytes.
// Each case is a file a loader would unpickle (torch.load, joblib.load, pickle.load, np.load) that
// scanned clean before; the Python-made fixtures are described in test/fixtures/workload/README.md.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { gzipSync } from 'node:zlib';
import { test } from 'node:test';
import { gguf, modelScanner, safetensors, tar, tarMember, zip } from './fixtures.js';

const FIXTURES = resolve('test/fixtures/workload');
const fixture = (...p: string[]) => readFileSync(join(FIXTURES, ...p));
const scanAs = modelScanner('warden-content-');
const rulesOf = (r: Awaited<ReturnType<typeof scanAs>>) => r.issues.map((i) => `${i.file} ${i.rule}:${i.severity}`);

const MISLEADING = ['pytorch_model.bin', 'model.pt', 'model.ckpt', 'model.joblib', 'weights.dat'];

for (let proto = 0; proto <= 5; proto++) {
  for (const name of MISLEADING) {
    test(`a protocol-${proto} pickle calling os.system, named ${name}, is found`, async () => {
      const r = await scanAs(name, fixture('pickles', `evil-p${proto}.pkl`));
      assert.equal(r.ok, false);
      assert.equal(r.files[0]!.format, 'pickle');
      assert.deepEqual(rulesOf(r), [`${name} pickle.unsafe_global:critical`]);
      assert.match(r.issues[0]!.reason, /posix\.system/);
    });
  }
  test(`a harmless protocol-${proto} pickle named pytorch_model.bin passes, read as a pickle`, async () => {
    const r = await scanAs('pytorch_model.bin', fixture('pickles', `benign-p${proto}.pkl`));
    assert.deepEqual(r.issues, []);
    assert.equal(r.files[0]!.format, 'pickle');
    assert.deepEqual(r.files[0]!.globals, ['collections.OrderedDict']);
  });
}

for (let proto = 0; proto <= 5; proto++) {
  test(`a protocol-${proto} pickle of plain data (a dict of lists, no global) passes under any name`, async () => {
    for (const name of ['data.pkl', 'pytorch_model.bin', 'weights.dat']) {
      const r = await scanAs(name, fixture('pickles', `plain-p${proto}.pkl`));
      assert.deepEqual(r.issues, [], name);
      assert.equal(r.files[0]!.format, 'pickle');
      assert.deepEqual(r.files[0]!.globals, []);
    }
  });
}

test('pickle/tar polyglot: a tar whose first member name is a protocol-0 pickle is scanned as both', async () => {
  const evil = fixture('pickles', 'evil-p0.pkl').toString('latin1');
  const r = await scanAs('model.bin', tar(tarMember(evil, Buffer.from('{}'))));
  assert.equal(r.files[0]!.format, 'tar');
  assert.equal(r.files[0]!.alsoPickle, true);
  assert.deepEqual(rulesOf(r), ['model.bin pickle.unsafe_global:critical']);
});

test('a pickle that imports os.system and then breaks off is still a pickle (pickle.load has run it by then)', async () => {
  const r = await scanAs('model.bin', tar(tarMember("cos\nsystem\n(S'id'\ntR", Buffer.from('{}'))));
  assert.ok(rulesOf(r).includes('model.bin pickle.unsafe_global:critical'), JSON.stringify(r.issues));
});

/**
 * A valid GGUF file that pickle.load also reads: BINFLOAT eats "GUF" + version + one byte, the tensor
 * count's second byte is 0x56 (UNICODE, a text line running into the first key), and the first key
 * carries the pickle: POP POP, then os.system("id").
 */
function ggufPicklePolyglot(): Buffer {
  const tensors = Array.from({ length: 0x5600 }, (_, i) => ({ name: `t${i}`, dims: [0], type: 0, offset: 0 }));
  return gguf([["\n00cposix\nsystem\n(S'id'\ntR.", 'string', 'x']], tensors, 0);
}

test('pickle/GGUF polyglot: a well-formed GGUF that unpickles to os.system is found', async () => {
  const data = ggufPicklePolyglot();
  assert.equal(data.readUInt16LE(8), 0x5600);
  const r = await scanAs('model.gguf', data);
  assert.equal(r.files[0]!.format, 'gguf');
  assert.equal(r.files[0]!.alsoPickle, true);
  assert.deepEqual(rulesOf(r), ['model.gguf pickle.unsafe_global:critical']);
});

test('a safetensors file whose length prefix happens to read as a harmless pickle ("N.") still passes', async () => {
  // Header length 0x2e4e: the first two bytes are NONE, STOP — pickle.load returns None and runs nothing,
  // and the bytes after it are no pickle: nothing a loader could run, so not judged as one.
  const base = JSON.stringify({ w: { dtype: 'F32', shape: [1], data_offsets: [0, 4] }, __metadata__: { pad: '' } });
  const header = { w: { dtype: 'F32', shape: [1], data_offsets: [0, 4] }, __metadata__: { pad: 'x'.repeat(0x2e4e - base.length) } };
  const data = safetensors(header, 4);
  assert.equal(data.readUInt16LE(0), 0x2e4e);
  const r = await scanAs('model.safetensors', data);
  assert.deepEqual(r.issues, []);
  assert.equal(r.files[0]!.format, 'safetensors');
  assert.equal(r.files[0]!.alsoPickle, undefined);
});

test('raw tensor bytes that begin like a pickle ("N.") in a PyTorch storage slot pass', async () => {
  const storage = Buffer.concat([Buffer.from('N.', 'latin1'), Buffer.from([0x00, 0x3c, 0x00, 0x40, 0x00, 0xbc])]);
  const r = await scanAs('model.pt', zip([{ name: 'archive/data.pkl', data: fixture('pickles', 'benign-p2.pkl') }, { name: 'archive/data/0', data: storage }]));
  assert.deepEqual(r.issues, []);
});

test('a harmless pickle followed by a second one that imports os.system is found (loaders read pickles in a row)', async () => {
  const r = await scanAs('state.dat', Buffer.concat([Buffer.from('N.', 'latin1'), fixture('pickles', 'evil-p0.pkl')]));
  assert.deepEqual(rulesOf(r), ['state.dat pickle.unsafe_global:critical']);
});

test('a tar holding a protocol-0 pickle under an innocent name is opened and the pickle found', async () => {
  const r = await scanAs('model.tar', tar(tarMember('model/config.json', Buffer.from('{}')), tarMember('model/weights.dat', fixture('pickles', 'evil-p0.pkl'))));
  assert.deepEqual(rulesOf(r), ['model.tar!model/weights.dat pickle.unsafe_global:critical']);
});

test('a tar.gz holding a pickle is decompressed and opened', async () => {
  const r = await scanAs('model.tar.gz', gzipSync(tar(tarMember('weights.bin', fixture('pickles', 'evil-p1.pkl')))));
  assert.deepEqual(rulesOf(r), ['model.tar.gz!model.tar!weights.bin pickle.unsafe_global:critical']);
});

test('a zip member not named .pkl is scanned by its content', async () => {
  const r = await scanAs('model.pt', zip([
    { name: 'archive/data.pkl', data: fixture('pickles', 'benign-p2.pkl') },
    { name: 'archive/extra/weights', data: fixture('pickles', 'evil-p2.pkl') },
    { name: 'archive/notes', data: fixture('pickles', 'evil-p0.pkl') },
  ]));
  assert.deepEqual(rulesOf(r), ['model.pt!archive/extra/weights pickle.unsafe_global:critical', 'model.pt!archive/notes pickle.unsafe_global:critical']);
});

test('a pickle in a PyTorch storage slot (archive/data/0) is still found', async () => {
  const r = await scanAs('model.pt', zip([{ name: 'archive/data.pkl', data: fixture('pickles', 'benign-p2.pkl') }, { name: 'archive/data/0', data: fixture('pickles', 'evil-p0.pkl') }]));
  assert.deepEqual(rulesOf(r), ['model.pt!archive/data/0 pickle.unsafe_global:critical']);
});

test('nesting: a pickle inside a zip inside a tar inside a tar.gz is found; past maxArchiveDepth the archive is refused', async () => {
  const inner = zip([{ name: 'w', data: fixture('pickles', 'evil-p0.pkl') }]);
  const data = gzipSync(tar(tarMember('layer.tar', tar(tarMember('bundle.zip', inner)))));
  const r = await scanAs('bundle.tgz', data);
  assert.deepEqual(rulesOf(r), ['bundle.tgz!bundle.tar!layer.tar!bundle.zip!w pickle.unsafe_global:critical']);
  const shallow = await scanAs('bundle.tgz', data, { maxArchiveDepth: 2 });
  assert.deepEqual(rulesOf(shallow), ['bundle.tgz!bundle.tar!layer.tar archive.too_deep:high']);
});

test('a decompression bomb stops at the byte budget and is reported (bombs.test.ts: the expansion ratio stops it sooner)', async () => {
  const r = await scanAs('bomb.gz', gzipSync(Buffer.alloc(4 * 1024 * 1024, 'a')), { maxDecompressedBytes: 1024 * 1024, maxExpansionRatio: 1e9 });
  assert.deepEqual(rulesOf(r), ['bomb.gz!bomb archive.too_large:high']);
});

test('.npy with dtype=object is refused; a float .npy passes', async () => {
  const bad = await scanAs('embeddings.npy', fixture('object-array.npy'));
  assert.deepEqual(rulesOf(bad), ['embeddings.npy npy.object_dtype:critical']);
  const renamed = await scanAs('embeddings.bin', fixture('object-array.npy'));
  assert.deepEqual(rulesOf(renamed), ['embeddings.bin npy.object_dtype:critical']);
  const ok = await scanAs('embeddings.npy', fixture('float-array.npy'));
  assert.deepEqual(ok.issues, []);
  assert.equal(ok.files[0]!.format, 'npy');
});

test('.npz with an object member is refused and the member named; plain .npz files (stored and deflated) pass', async () => {
  const bad = await scanAs('arrays.npz', fixture('object-arrays.npz'));
  assert.deepEqual(rulesOf(bad), ['arrays.npz!bad.npy npy.object_dtype:critical']);
  const ok = await scanAs('arrays.npz', fixture('float-arrays.npz'));
  assert.deepEqual(ok.issues, []);
  const deflated = await scanAs('arrays.npz', fixture('float-arrays-deflated.npz'));
  assert.deepEqual(deflated.issues, []);
});

test('an object .npy deflated inside an .npz, or in a tar.gz, is still refused', async () => {
  const npz = await scanAs('arrays.npz', zip([{ name: 'ok.npy', data: fixture('float-array.npy'), deflate: true }, { name: 'bad.npy', data: fixture('object-array.npy'), deflate: true }]));
  assert.deepEqual(rulesOf(npz), ['arrays.npz!bad.npy npy.object_dtype:critical']);
  const tgz = await scanAs('arrays.tgz', gzipSync(tar(tarMember('bad.npy', fixture('object-array.npy')))));
  assert.deepEqual(rulesOf(tgz), ['arrays.tgz!arrays.tar!bad.npy npy.object_dtype:critical']);
});

test('a structured dtype with an object field is refused', async () => {
  const header = "{'descr': [('a', '<i4'), ('b', '|O')], 'fortran_order': False, 'shape': (1,), }";
  const padded = header + ' '.repeat(118 - header.length) + '\n';
  const len = Buffer.alloc(2);
  len.writeUInt16LE(padded.length);
  const r = await scanAs('table.npy', Buffer.concat([Buffer.from('\x93NUMPY\x01\x00', 'latin1'), len, Buffer.from(padded, 'latin1'), Buffer.alloc(16)]));
  assert.deepEqual(rulesOf(r), ['table.npy npy.object_dtype:critical']);
});

test('a file whose format cannot be established is reported, not passed', async () => {
  const r = await scanAs('weights.dat', Buffer.from([0x00, 0xff, 0x13, 0x37, 0x00, 0x01, 0xfe, 0xed]));
  assert.equal(r.ok, false);
  assert.equal(r.files[0]!.format, 'unknown');
  assert.deepEqual(rulesOf(r), ['weights.dat format.unrecognized:medium']);
});

test('compressed data Warden cannot open (bzip2) is reported, not passed', async () => {
  const r = await scanAs('model.pkl.bz2', Buffer.from('BZh91AY&SY\x00\x00\x00\x00', 'latin1'));
  assert.deepEqual(rulesOf(r), ['model.pkl.bz2 archive.unsupported_compression:high']);
});

test('text files (JSON, vocabularies, model cards) pass as text', async () => {
  const r = await scanAs('vocab.txt', Buffer.from('[PAD]\n[UNK]\nhello\nwörld\n'));
  assert.deepEqual(r.issues, []);
  assert.equal(r.files[0]!.format, 'text');
});
