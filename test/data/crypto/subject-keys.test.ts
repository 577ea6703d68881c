// Per-subject keys (src/data/crypto/subject-keys.ts) on their real stores: a SQLite file and, where PostgreSQL runs,
// two replicas on one table prefix (the retrieval store's pool, migration 3). Content sealed under a subject's key
// opens until the subject is erased; then it, and every copy of it (a backup's), is refused with subject_erased,
// nothing more is sealed about the subject, and the tombstone says who was erased. Content sealed before subject
// keys (under the tenant's key) still opens. A store that cannot answer is a 503, never plaintext. `warden data
// rewrap` moves subject keys to a rotated KEK.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { EnvelopeTampered, KekUnavailable, Keyring, LocalFileKek, SubjectErased, SubjectKeys, SubjectKeysUnavailable, sealBlob, sealedSubject } from '../../../src/data/crypto/index.js';
import { backupContents } from '../../../src/data/backup/backup.js';
import { PostgresRetrievalStore } from '../../../src/store/retrieval-postgres.js';
import { SqliteSubjectKeyStore, type SubjectKeyStore } from '../../../src/store/subject-keys-store.js';
import { openSqlite } from '../../../src/store/sqlite.js';
import { PG_TEST_URL, pgTestTables } from '../../helpers/contract.js';
import { runWarden } from '../../helpers/proc.js';

const tmp = mkdtempSync(join(tmpdir(), 'warden-subject-keys-'));
after(() => rmSync(tmp, { recursive: true, force: true }));
const keyring = new Keyring({ kek: LocalFileKek.open(join(tmp, 'kek.bin'), { create: true }) });
const pgTables = pgTestTables();
let now = 1_000;

const backends: { name: string; open: () => Promise<{ a: SubjectKeyStore; b: SubjectKeyStore; close(): Promise<void> } | string> }[] = [
  {
    name: 'sqlite',
    open: async () => {
      const s = SqliteSubjectKeyStore.open(join(tmp, `sk-${Math.random()}.db`));
      return { a: s, b: s, close: () => s.close() };
    },
  },
  {
    name: 'postgres (two replicas)',
    open: async () => {
      const skip = pgTables.skip();
      if (skip) return skip;
      const prefix = pgTables.newPrefix();
      const ra = await PostgresRetrievalStore.connect({ connectionString: PG_TEST_URL, prefix });
      const rb = await PostgresRetrievalStore.connect({ connectionString: PG_TEST_URL, prefix });
      return { a: ra.subjectKeys(), b: rb.subjectKeys(), close: async () => void (await Promise.all([ra.close(), rb.close()])) };
    },
  },
];

for (const backend of backends) {
  test(`subject keys on ${backend.name}: sealed content opens until its subject is erased, then no copy opens and nothing new is sealed`, async (t) => {
    const opened = await backend.open();
    if (typeof opened === 'string') return t.skip(opened);
    t.after(() => opened.close());
    const one = new SubjectKeys(keyring, opened.a, () => now);
    const two = new SubjectKeys(keyring, opened.b, () => now);

    const aliceChunk = await one.seal('acme', 'alice', 'chunk:vs/f#0', Buffer.from('Alice lives at 12 Larch Lane'));
    const aliceUpload = await two.seal('acme', 'alice', 'upload:file-1', Buffer.from('Alice medical leave'));
    const bobChunk = await one.seal('acme', 'bob', 'chunk:vs/g#0', Buffer.from('Bob likes tea'));
    const globexAlice = await two.seal('globex', 'alice', 'chunk:vs2/h#0', Buffer.from('Alice at globex'));
    // The tenant's own key, as before subject keys: still opens through the same call (old rows keep working).
    const legacy = await sealBlob(keyring, 'acme', 'chunk:vs/old#0', Buffer.from('sealed before subject keys'));
    assert.deepEqual(sealedSubject(aliceChunk), { tenant: 'acme', subject: 'alice' });
    assert.equal(sealedSubject(legacy), null);
    assert.equal(aliceChunk.includes(Buffer.from('Larch')), false, 'the text is sealed');

    // One key per (tenant, subject), whichever replica made it first.
    assert.equal((await two.open('chunk:vs/f#0', aliceChunk)).toString(), 'Alice lives at 12 Larch Lane');
    assert.equal((await one.open('upload:file-1', aliceUpload)).toString(), 'Alice medical leave');
    assert.equal((await one.open('chunk:vs/old#0', legacy)).toString(), 'sealed before subject keys');
    assert.equal(await one.countLive('alice'), 2, 'acme and globex');
    assert.equal(await one.countTenant('acme'), 2, 'alice and bob: counted before acme\'s KEK record may be forgotten');

    // A ciphertext moved to another record does not open.
    await assert.rejects(one.open('chunk:vs/f#1', aliceChunk), EnvelopeTampered);

    // Erasure: every key of the subject (both tenants) destroyed, tombstones kept.
    now = 2_000;
    assert.equal(await two.erase('alice', 'acme'), 2);
    for (const [ctx, blob] of [['chunk:vs/f#0', aliceChunk], ['upload:file-1', aliceUpload], ['chunk:vs2/h#0', globexAlice]] as const) {
      await assert.rejects(one.open(ctx, blob), (e: unknown) => e instanceof SubjectErased && e.status === 410 && e.code === 'subject_erased');
    }
    await assert.rejects(one.seal('acme', 'alice', 'chunk:vs/f#9', Buffer.from('again')), SubjectErased);
    assert.deepEqual([...(await one.erasedAmong('acme', ['alice', 'bob', 'carol']))], ['alice']);
    assert.deepEqual((await opened.b.listErased()).map((e) => `${e.tenant}/${e.subject}@${e.erasedAt}`), ['acme/alice@2000', 'globex/alice@2000']);
    assert.equal((await opened.a.get('acme', 'alice'))!.wrapped, null, 'the wrapped key itself is gone');
    assert.equal(await one.countLive('alice'), 0);
    // Bob is untouched; a second erasure destroys nothing more.
    assert.equal((await one.open('chunk:vs/g#0', bobChunk)).toString(), 'Bob likes tea');
    assert.equal(await one.erase('alice', 'acme'), 0);
    // A subject that never had a key still leaves its tombstone (content sealed under the tenant key is then dropped too).
    assert.equal(await one.erase('carol', 'acme'), 0);
    assert.deepEqual([...(await two.erasedAmong('acme', ['carol']))], ['carol']);
  });
}

test('a subject key missing from the store, a store that cannot answer, and a withdrawn KEK are refused: never plaintext', async () => {
  const file = join(tmp, 'sk-errors.db');
  const store = SqliteSubjectKeyStore.open(file);
  assert.equal(statSync(file).mode & 0o777, 0o600, 'the store file is owner-only');
  const keys = new SubjectKeys(keyring, store, () => now);
  const sealed = await keys.seal('acme', 'dora', 'chunk:vs/d#0', Buffer.from('Dora secret'));

  // The wrong store (a restore given a fresh one): no key for the subject is a 503, not an erasure and not content.
  const other = SqliteSubjectKeyStore.open(join(tmp, 'sk-empty.db'));
  await assert.rejects(new SubjectKeys(keyring, other, () => now).open('chunk:vs/d#0', sealed), (e: unknown) => e instanceof SubjectKeysUnavailable && e.status === 503 && /no key for data subject dora of tenant acme/.test(e.message));
  await other.close();

  // A truncated blob is tampered, not opened.
  await assert.rejects(keys.open('chunk:vs/d#0', sealed.subarray(0, 8)), EnvelopeTampered);
  // A key row holding another tenant's wrapped key (a tampered store) is refused, not used.
  await store.putIfAbsent('acme', 'mia', (await keyring.newDataKey('globex', 'subject-key:mia')).wrapped, now);
  await assert.rejects(keys.seal('acme', 'mia', 'chunk:vs/m#0', Buffer.from('Mia')), (e: unknown) => e instanceof EnvelopeTampered && /wrapped for tenant globex/.test(e.message));

  // A KEK that no longer opens (another platform key): the subject key cannot be unwrapped.
  const foreign = new SubjectKeys(new Keyring({ kek: LocalFileKek.open(join(tmp, 'other-kek.bin'), { create: true }) }), SqliteSubjectKeyStore.open(file), () => now);
  await assert.rejects(foreign.open('chunk:vs/d#0', sealed), KekUnavailable);

  // The store's file unusable (its table gone): every call is a 503 subject_keys_unavailable.
  await store.close();
  const broken = SqliteSubjectKeyStore.open(file);
  const raw = (broken as unknown as { db: import('better-sqlite3').Database }).db;
  raw.exec('DROP TABLE subject_keys');
  const k2 = new SubjectKeys(keyring, broken, () => now);
  for (const call of [() => k2.open('chunk:vs/d#0', sealed), () => k2.seal('acme', 'dora', 'chunk:vs/d#1', Buffer.from('x')), () => k2.erasedAmong('acme', ['dora']), () => k2.erase('dora', 'acme'), () => k2.countLive('dora')]) {
    await assert.rejects(call(), (e: unknown) => e instanceof SubjectKeysUnavailable && e.code === 'subject_keys_unavailable' && /the subject-key store cannot/.test(e.message));
  }
  await broken.close();

  // A restore that needs the store refuses a missing file rather than creating one.
  assert.throws(() => SqliteSubjectKeyStore.open(join(tmp, 'no-such.db'), { mustExist: true }), /the subject-key store .*no-such.db does not exist/);
});

test('a backup never carries the subject-key store kept in the data dir', () => {
  const dir = mkdtempSync(join(tmp, 'data-'));
  // Plain files stand for the stores: what goes into a backup is decided by name.
  for (const f of ['warden.db', 'retrieval.db', 'subject-keys.db', 'subject-keys.db-wal', 'data-kek.bin', 'ledger.db']) writeFileSync(join(dir, f), 'x');
  assert.deepEqual(backupContents(dir), ['retrieval.db', 'warden.db', 'ledger.db']);
});

test('warden data rewrap moves subject keys to the current KEK without touching what they seal; an erased key is not revived', async () => {
  const dir = mkdtempSync(join(tmp, 'rotate-'));
  const data = join(dir, 'data');
  const oldKek = join(dir, 'old.bin');
  const newKek = join(dir, 'new.bin');
  const skFile = join(dir, 'subject-keys.db');
  const before = new Keyring({ kek: LocalFileKek.open(oldKek, { create: true }) });
  LocalFileKek.open(newKek, { create: true });
  const store = SqliteSubjectKeyStore.open(skFile);
  const sealed = await new SubjectKeys(before, store, () => now).seal('acme', 'kim', 'chunk:vs/k#0', Buffer.from('Kim note'));
  await new SubjectKeys(before, store, () => now).seal('acme', 'lee', 'chunk:vs/l#0', Buffer.from('Lee note'));
  await new SubjectKeys(before, store, () => now).erase('lee', 'acme');
  await store.close();
  // A data dir with nothing else in it (the rewrap also walks payload and model keys: none here).
  openSqlite(join(data, 'warden.db')).close();
  const conf = join(dir, 'warden.yaml');
  writeFileSync(conf, `dataDir: ${data}\nencryption:\n  kek: { file: ${newKek} }\n  previous: [{ file: ${oldKek} }]\n  subjectKeys: ${skFile}\n`);
  const r = await runWarden(['data', 'rewrap', '--config', conf]);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /^rewrapped: 1 subject key\(s\)$/m);
  // The old KEK gone: kim's content opens under the new one alone; lee stays erased.
  const after = new Keyring({ kek: LocalFileKek.open(newKek) });
  const reopened = SqliteSubjectKeyStore.open(skFile, { mustExist: true });
  const keys = new SubjectKeys(after, reopened, () => now);
  assert.equal((await keys.open('chunk:vs/k#0', sealed)).toString(), 'Kim note');
  assert.equal((await reopened.get('acme', 'lee'))!.wrapped, null);
  const again = await runWarden(['data', 'rewrap', '--config', conf]);
  assert.match(again.stdout, /^rewrapped: 0 subject key\(s\)$/m);
  await reopened.close();
});
