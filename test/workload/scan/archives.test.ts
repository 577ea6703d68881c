import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { after, test } from 'node:test';
import { scanTar } from '../../../src/workload/scan/tar.js';
import { scanZip } from '../../../src/workload/scan/zip.js';
import { paxMember, pkl, tar, tarMember, zip } from './fixtures.js';

const tmp = mkdtempSync(join(tmpdir(), 'warden-archive-'));
after(() => rmSync(tmp, { recursive: true, force: true }));
const put = (name: string, data: Buffer) => {
  const p = join(tmp, name);
  writeFileSync(p, data);
  return p;
};
const safePickle = pkl('\x80\x02ccollections\nOrderedDict\n)R.');
const evilPickle = pkl('\x80\x02cos\nsystem\n(S\'id\'\ntR.');

test('a PyTorch-style zip with a safe data.pkl passes', async () => {
  const p = put('ok.pt', zip([{ name: 'archive/data.pkl', data: safePickle }, { name: 'archive/data/0', data: Buffer.alloc(16) }, { name: 'archive/version', data: Buffer.from('3\n') }]));
  const r = await scanZip(p, 'ok.pt');
  assert.deepEqual(r.issues, []);
  assert.deepEqual(r.members, ['archive/data.pkl', 'archive/data/0', 'archive/version']);
});

test('a malicious data.pkl inside a .pt zip is found and named with its member', async () => {
  const p = put('evil.pt', zip([{ name: 'archive/data.pkl', data: evilPickle }]));
  const r = await scanZip(p, 'evil.pt');
  assert.equal(r.issues.length, 1);
  assert.equal(r.issues[0]!.file, 'evil.pt!archive/data.pkl');
  assert.equal(r.issues[0]!.rule, 'pickle.unsafe_global');
});

for (const [label, name] of [['..', '../../.bashrc'], ['absolute', '/etc/cron.d/x'], ['backslash', '..\\..\\x'], ['drive letter', 'C:/Windows/x']] as const) {
  test(`zip member path traversal (${label}) is critical`, async () => {
    const p = put(`slip-${label}.zip`, zip([{ name, data: Buffer.from('x') }]));
    const r = await scanZip(p, 'a.zip');
    assert.ok(r.issues.some((i) => i.rule === 'archive.path_traversal' && i.severity === 'critical'), JSON.stringify(r.issues));
  });
}

test('zip symlink members, duplicate names and local/central name mismatches are refused', async () => {
  const p = put('tricks.zip', zip([
    { name: 'link', data: Buffer.from('/etc/passwd'), mode: 0o120777 },
    { name: 'a.txt', data: Buffer.from('1') },
    { name: 'a.txt', data: Buffer.from('2') },
    { name: 'b.txt', data: Buffer.from('3'), localName: '../b.txt' },
  ]));
  const rules = (await scanZip(p, 'tricks.zip')).issues.map((i) => i.rule).sort();
  assert.deepEqual(rules, ['archive.duplicate_entry', 'archive.name_mismatch', 'archive.symlink']);
});

test('a file that is not a zip is reported as malformed, not passed', async () => {
  const p = put('fake.zip', Buffer.from('PK\x03\x04 definitely not a zip'));
  const r = await scanZip(p, 'fake.zip');
  assert.equal(r.issues[0]!.rule, 'archive.malformed');
});

test('an oversize pickle member fails closed', async () => {
  const p = put('big.pt', zip([{ name: 'archive/data.pkl', data: Buffer.concat([safePickle, Buffer.alloc(2000)]) }]));
  const r = await scanZip(p, 'big.pt', { maxPickleBytes: 1000 });
  assert.equal(r.issues[0]!.rule, 'archive.unreadable_member');
});

test('tar: a clean archive passes; ../, absolute, escaping symlinks and PAX paths are refused', async () => {
  const ok = put('ok.tar', tar(tarMember('model/config.json', Buffer.from('{}')), tarMember('model/link', Buffer.alloc(0), '2', 'config.json')));
  assert.deepEqual((await scanTar(ok, 'ok.tar', false)).issues, []);
  const evil = put('evil.tar', tar(
    tarMember('../../etc/profile.d/x.sh', Buffer.from('id')),
    tarMember('/abs', Buffer.from('x')),
    tarMember('model/link', Buffer.alloc(0), '2', '/etc/passwd'),
    paxMember({ path: '../pax-escape' }),
    tarMember('innocent', Buffer.from('y')),
  ));
  const r = await scanTar(evil, 'evil.tar', false);
  assert.deepEqual(r.members, ['../../etc/profile.d/x.sh', '/abs', 'model/link', '../pax-escape']);
  assert.deepEqual(r.issues.map((i) => i.rule), ['archive.path_traversal', 'archive.path_traversal', 'archive.link_escape', 'archive.path_traversal']);
});

test('tar.gz: traversal inside a gzipped tar is found', async () => {
  const p = put('evil.tar.gz', gzipSync(tar(tarMember('a/../../b', Buffer.alloc(700)))));
  const r = await scanTar(p, 'evil.tar.gz', true);
  assert.equal(r.issues[0]!.rule, 'archive.path_traversal');
});
