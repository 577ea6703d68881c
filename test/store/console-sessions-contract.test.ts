// One contract, two backends: the console's session rows (src/store/console-sessions-store.ts) behave the same
// in SQLite (embedded; workers share the file) and PostgreSQL (replicas; two store instances on one prefix
// here): a row written through one handle is read, touched, stepped up and deleted through the other.
// Above the rows, the SessionStore (src/console/sessions.ts) on both: timeouts, sealing, single-use challenges;
// and the sign-ins under way (src/console/pending-sign-ins.ts): taken once, expiring, bounded.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SqliteConsoleSessionStore, type ConsoleSessionRow, type ConsoleSessionStore } from '../../src/store/console-sessions-store.js';
import { PostgresConsoleSessionStore } from '../../src/store/console-sessions-postgres.js';
import { SessionStore } from '../../src/console/sessions.js';
import { PENDING_MS, PendingSignIns } from '../../src/console/pending-sign-ins.js';
import { WardenError } from '../../src/core/errors.js';
import { FixedClock } from '../../src/core/clock.js';
import { contractCase, pgTestTables, sqliteAndPostgres } from '../helpers/contract.js';
import { openSqlite } from '../../src/store/sqlite.js';

const pgTables = pgTestTables();

// SQLite: one store for both handles (workers share the file); PostgreSQL: two store instances on one prefix.
const backends = sqliteAndPostgres<ConsoleSessionStore>(pgTables, (db) => new SqliteConsoleSessionStore(db), (o) => PostgresConsoleSessionStore.connect(o));

const T0 = 1_700_000_000_000;
const row = (handle: string, extra: Partial<ConsoleSessionRow> = {}): ConsoleSessionRow => ({ handle, csrf: `csrf-${handle}`, credential: 'sealed', createdAt: T0, lastSeenAt: T0, stepUpAt: null, pendingPasskey: null, samlSubject: null, samlSession: null, ...extra });

contractCase(backends, 'a row written through one handle is read, touched (forward only) and deleted through the other', async ({ a, b }) => {
  await a.insert(row('h1'));
  assert.deepEqual(await b.get('h1'), row('h1'));
  assert.equal(await b.get('nope'), null);
  await b.touch('h1', T0 + 5000);
  await a.touch('h1', T0 + 1000);
  assert.equal((await a.get('h1'))!.lastSeenAt, T0 + 5000, 'a late touch does not move it back');
  await a.setStepUp('h1', T0 + 6000);
  assert.equal((await b.get('h1'))!.stepUpAt, T0 + 6000);
  assert.equal(await b.delete('h1'), true);
  assert.equal(await a.get('h1'), null);
  assert.equal(await a.delete('h1'), false);
  await assert.rejects(async () => {
    await a.insert(row('dup'));
    await b.insert(row('dup'));
  }, 'a handle is unique');
});

contractCase(backends, 'a pending passkey challenge is taken once, through either handle', async ({ a, b }) => {
  await a.insert(row('h2'));
  await a.setPendingPasskey('h2', '{"c":1}');
  const [x, y] = await Promise.all([a.takePendingPasskey('h2', '{"c":1}'), b.takePendingPasskey('h2', '{"c":1}')]);
  assert.equal(Number(x) + Number(y), 1, 'exactly one caller gets it');
  assert.equal((await a.get('h2'))!.pendingPasskey, null);
  await b.setPendingPasskey('h2', '{"c":2}');
  assert.equal(await a.takePendingPasskey('h2', '{"c":1}'), false, 'an older challenge is not the pending one');
});

contractCase(backends, 'expired rows are swept: created too long ago, or idle too long', async ({ a, b }) => {
  await a.insert(row('old', { createdAt: T0 - 10_000, lastSeenAt: T0 }));
  await a.insert(row('idle', { createdAt: T0, lastSeenAt: T0 - 10_000 }));
  await a.insert(row('live'));
  assert.equal(await b.deleteExpired(T0 - 5000, T0 - 5000), 2);
  assert.deepEqual([await a.get('old'), await a.get('idle'), (await a.get('live'))?.handle], [null, null, 'live']);
});

contractCase(backends, 'SessionStore over the rows: one sign-in seen through two processes, timeouts from stored times, sealed credentials', async ({ a, b }) => {
  const clock = new FixedClock(T0);
  const one = new SessionStore(a, clock, 60_000, 300_000);
  const two = new SessionStore(b, clock, 60_000, 300_000);
  const { cookie, session } = await one.create({ kind: 'api_key', key: 'wdn_secret' });
  const seen = await two.lookup(cookie);
  assert.ok('session' in seen && seen.session.csrf === session.csrf);
  assert.deepEqual('session' in seen && seen.session.credential, { kind: 'api_key', key: 'wdn_secret' });
  const stored = await a.get(session.handle);
  assert.ok(stored && !stored.credential.includes('wdn_secret'), 'the key is not stored in the clear');
  assert.deepEqual(await two.lookup(cookie.slice(0, -2) + 'AA'), { ended: 'unknown' });
  // Another session's sealed credential moved onto this handle opens nothing (sealed for another cookie).
  const other = await one.create({ kind: 'api_key', key: 'wdn_other' });
  await b.delete(session.handle);
  await b.insert({ ...(await a.get(other.session.handle))!, handle: session.handle });
  assert.deepEqual(await one.lookup(cookie), { ended: 'unknown' });
  // Idle: used through one process, judged by the other.
  clock.advance(50_000);
  assert.ok('session' in (await one.lookup(other.cookie)));
  clock.advance(50_000);
  assert.ok('session' in (await two.lookup(other.cookie)), 'the touch through one counts for the other');
  clock.advance(60_000);
  assert.deepEqual(await two.lookup(other.cookie), { ended: 'idle' });
  assert.deepEqual(await one.lookup(other.cookie), { ended: 'unknown' }, 'ended for both');
  // Absolute: however busy.
  const busy = await one.create({ kind: 'api_key', key: 'wdn_busy' });
  for (let i = 0; i < 5; i++) {
    clock.advance(50_000);
    assert.ok('session' in (await (i % 2 ? one : two).lookup(busy.cookie)));
  }
  clock.advance(50_000);
  assert.deepEqual(await one.lookup(busy.cookie), { ended: 'expired' });
  // Sign-out through one ends it for the other.
  const s = await one.create({ kind: 'api_key', key: 'wdn_x' });
  assert.equal(await two.end(s.cookie), true);
  assert.deepEqual(await one.lookup(s.cookie), { ended: 'unknown' });
});

contractCase(backends, 'a pending sign-in is written through one handle and taken once through either; keys are unique per kind', async ({ a, b }) => {
  const p = { kind: 'oidc', key: 'state-1', value: '{"verifier":"v"}', createdAt: T0 };
  assert.equal(await a.putPendingSignIn(p), true);
  assert.equal(await b.putPendingSignIn({ ...p, value: '{"verifier":"other"}' }), false, 'a taken key is not overwritten');
  assert.equal(await a.putPendingSignIn({ ...p, kind: 'saml' }), true, 'the same key under another kind is another entry');
  assert.deepEqual(await b.getPendingSignIn('oidc', 'state-1'), p, 'read, left in place');
  assert.equal(await a.countPendingSignIns('oidc', T0), 1);
  const [x, y] = await Promise.all([a.takePendingSignIn('oidc', 'state-1'), b.takePendingSignIn('oidc', 'state-1')]);
  assert.deepEqual([x, y].filter(Boolean), [p], 'exactly one caller gets it');
  assert.equal(await a.getPendingSignIn('oidc', 'state-1'), null);
  assert.equal(await b.takePendingSignIn('oidc', 'state-1'), null);
  await a.putPendingSignIn({ ...p, key: 'old', createdAt: T0 - 10_000 });
  assert.equal(await b.countPendingSignIns('oidc', T0 - 5000), 0, 'an old entry is not counted as under way');
  assert.equal(await b.deletePendingSignInsBefore(T0 - 5000), 1);
  assert.equal(await a.getPendingSignIn('oidc', 'old'), null);
});

contractCase(backends, 'PendingSignIns over the rows: begun through one process, finished through the other, once, within ten minutes, bounded', async ({ a, b }) => {
  const clock = new FixedClock(T0);
  const one = new PendingSignIns(a, () => clock.now(), 2);
  const two = new PendingSignIns(b, () => clock.now(), 2);
  assert.equal(await one.add('oidc', 's1', { verifier: 'v1' }, 'busy'), true);
  assert.deepEqual(await two.take('oidc', 's1'), { verifier: 'v1' });
  assert.equal(await one.take('oidc', 's1'), null, 'used once');
  await one.add('oidc', 's2', { verifier: 'v2' }, 'busy');
  await two.add('oidc', 's3', { verifier: 'v3' }, 'busy');
  await assert.rejects(one.add('oidc', 's4', {}, 'oidc_busy'), (e: unknown) => e instanceof WardenError && e.status === 429 && e.code === 'oidc_busy');
  clock.advance(PENDING_MS + 1);
  assert.equal(await two.get('oidc', 's2'), null, 'expired');
  assert.equal(await one.take('oidc', 's3'), null, 'expired');
  assert.equal(await two.add('oidc', 's5', {}, 'busy'), true, 'the expired ones no longer count against the bound');
});

contractCase(backends, 'an IdP\'s logout finds SAML sessions by subject: all of them, or the one with its SessionIndex', async ({ a, b }) => {
  await a.insert(row('s1', { samlSubject: 'subj-bob', samlSession: 'idx-1' }));
  await a.insert(row('s2', { samlSubject: 'subj-bob', samlSession: 'idx-2' }));
  await a.insert(row('s3', { samlSubject: 'subj-bob', samlSession: 'idx-3' }));
  await a.insert(row('other', { samlSubject: 'subj-alice', samlSession: 'idx-1' }));
  await a.insert(row('key'));
  assert.equal(await b.deleteSaml('subj-bob', 'idx-1'), 1);
  assert.equal(await a.get('s1'), null);
  assert.equal((await a.get('other'))?.samlSession, 'idx-1', 'another subject\'s session with the same index stays');
  assert.equal(await b.deleteSaml('subj-bob', null), 2);
  assert.deepEqual([await a.get('s2'), await a.get('s3'), (await a.get('key'))?.handle], [null, null, 'key']);
  assert.equal(await b.deleteSaml('subj-nobody', null), 0);
});

test('SQLite: a data dir from before single logout gets the SAML columns on open; its sessions stay', async () => {
  const db = openSqlite(':memory:');
  db.exec(`CREATE TABLE console_sessions (handle TEXT PRIMARY KEY, csrf TEXT NOT NULL, credential TEXT NOT NULL, created_at INTEGER NOT NULL,
    last_seen_at INTEGER NOT NULL, step_up_at INTEGER, pending_passkey TEXT);
    INSERT INTO console_sessions VALUES ('old', 'c', 'sealed', ${T0}, ${T0}, NULL, NULL);`);
  const s = new SqliteConsoleSessionStore(db);
  assert.deepEqual(await s.get('old'), row('old', { csrf: 'c' }));
  await s.insert(row('new', { samlSubject: 'subj', samlSession: 'idx' }));
  assert.equal(await s.deleteSaml('subj', null), 1);
  new SqliteConsoleSessionStore(db); // opening again changes nothing
  assert.equal((await s.get('old'))?.handle, 'old');
});
