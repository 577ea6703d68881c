import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { after, test } from 'node:test';
import { scanModel, type ScanOptions } from '../../../src/workload/scan/scan-model.js';
import { paxMember, pkl, tar, tarMember, zip } from './fixtures.js';

const tmp = mkdtempSync(join(tmpdir(), 'warden-archive-'));
after(() => rmSync(tmp, { recursive: true, force: true }));
const put = (name: string, data: Buffer) => {
  const p = join(tmp, name);
  writeFileSync(p, data);
  return p;
};
const scan = async (name: string, data: Buffer, opts: ScanOptions = {}) => (await scanModel(put(name, data), opts)).issues;
const safePickle = pkl('\x80\x02ccollections\nOrderedDict\n)R.');
const evilPickle = pkl('\x80\x02cos\nsystem\n(S\'id\'\ntR.');

test('a PyTorch-style zip with a safe data.pkl passes', async () => {
  const r = await scanModel(put('ok.pt', zip([{ name: 'archive/data.pkl', data: safePickle }, { name: 'archive/data/0', data: Buffer.alloc(16) }, { name: 'archive/version', data: Buffer.from('3\n') }])));
  assert.deepEqual(r.issues, []);
  assert.equal(r.files[0]!.format, 'zip');
  assert.deepEqual(r.files[0]!.globals, ['collections.OrderedDict']);
});

test('a malicious data.pkl inside a .pt zip is found and named with its member', async () => {
  const issues = await scan('evil.pt', zip([{ name: 'archive/data.pkl', data: evilPickle }]));
  assert.equal(issues.length, 1);
  assert.equal(issues[0]!.file, 'evil.pt!archive/data.pkl');
  assert.equal(issues[0]!.rule, 'pickle.unsafe_global');
});

for (const [label, name] of [['..', '../../.bashrc'], ['absolute', '/etc/cron.d/x'], ['backslash', '..\\..\\x'], ['drive letter', 'C:/Windows/x']] as const) {
  test(`zip member path traversal (${label}) is critical`, async () => {
    const issues = await scan(`slip-${label}.zip`, zip([{ name, data: Buffer.from('x') }]));
    assert.ok(issues.some((i) => i.rule === 'archive.path_traversal' && i.severity === 'critical'), JSON.stringify(issues));
  });
}

test('zip symlink members, duplicate names and local/central name mismatches are refused', async () => {
  const issues = await scan('tricks.zip', zip([
    { name: 'link', data: Buffer.from('/etc/passwd'), mode: 0o120777 },
    { name: 'a.txt', data: Buffer.from('1') },
    { name: 'a.txt', data: Buffer.from('2') },
    { name: 'b.txt', data: Buffer.from('3'), localName: '../b.txt' },
  ]));
  assert.deepEqual(issues.map((i) => i.rule).sort(), ['archive.duplicate_entry', 'archive.name_mismatch', 'archive.symlink']);
});

test('a file that is not a zip is reported as malformed, not passed', async () => {
  const issues = await scan('fake.zip', Buffer.from('PK\x03\x04 definitely not a zip'));
  assert.equal(issues[0]!.rule, 'archive.malformed');
});

test('an oversize pickle member fails closed', async () => {
  const issues = await scan('big.pt', zip([{ name: 'archive/data.pkl', data: Buffer.concat([safePickle, Buffer.alloc(2000)]) }]), { maxPickleBytes: 1000 });
  assert.deepEqual(issues.map((i) => [i.file, i.rule]), [['big.pt!archive/data.pkl', 'pickle.too_large']]);
});

test('tar: a clean archive passes; ../, absolute, escaping symlinks and PAX paths are refused', async () => {
  assert.deepEqual(await scan('ok.tar', tar(tarMember('model/config.json', Buffer.from('{}')), tarMember('model/link', Buffer.alloc(0), '2', 'config.json'))), []);
  const issues = await scan('evil.tar', tar(
    tarMember('../../etc/profile.d/x.sh', Buffer.from('id')),
    tarMember('/abs', Buffer.from('x')),
    tarMember('model/link', Buffer.alloc(0), '2', '/etc/passwd'),
    paxMember({ path: '../pax-escape' }),
    tarMember('innocent', Buffer.from('y')),
  ));
  assert.deepEqual(issues.map((i) => [i.file, i.rule]), [
    ['evil.tar!../../etc/profile.d/x.sh', 'archive.path_traversal'],
    ['evil.tar!/abs', 'archive.path_traversal'],
    ['evil.tar!model/link', 'archive.link_escape'],
    ['evil.tar!../pax-escape', 'archive.path_traversal'],
  ]);
});

test('tar.gz: traversal inside a gzipped tar is found', async () => {
  const issues = await scan('evil.tar.gz', gzipSync(tar(tarMember('a/../../b', Buffer.alloc(700, 'x')))));
  assert.equal(issues[0]!.rule, 'archive.path_traversal');
  assert.equal(issues[0]!.file, 'evil.tar.gz!evil.tar!a/../../b');
});

test('tar: a header with a bad checksum is malformed', async () => {
  const t = tar(tarMember('model/config.json', Buffer.from('{}')), tarMember('x', Buffer.from('y')));
  t[1024] = 0x41; // first byte of the second header's name
  const issues = await scan('bad.tar', t);
  assert.deepEqual(issues.map((i) => i.rule), ['archive.malformed']);
});
