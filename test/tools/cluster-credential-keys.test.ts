// Tool-credential signing keys shared by replicas (store.postgres): two in-process Wardens on one PostgreSQL + Redis
// (each its own data dir, a shared fixed clock the test moves). Before the keys were shared each replica made its
// own key in its data dir: the JWKS served by A and by B differed, a credential issued through A did not verify
// against B's JWKS, and each replica rotated its own keys (one rotate entry per replica). Here: one JWKS on every
// replica, a credential from either verifies against the other's, a rotation is made once (the other replica skips
// or finds nothing due) and reaches the other's JWKS within a second, and a round never runs unlocked: with the
// lock held elsewhere it is skipped, with the store unreachable it fails and changes nothing. Replicas starting
// together on a fresh store make one first key; a stored key that does not match its kid is refused.
// The tool backend is a small fake of an external upstream (labelled below), verifying like a real one would.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import pg from 'pg';
import { createLocalJWKSet, decodeProtectedHeader, jwtVerify, type JWK } from 'jose';
import { FixedClock } from '../../src/core/clock.js';
import { requireService } from '../helpers/services.js';
import { PG_URL, startTestCluster, withinOneSecond } from '../helpers/cluster.js';
import { PG_TEST_URL, pgTestTables } from '../helpers/contract.js';
import type { TestWarden } from '../helpers/warden.js';
import { platformSeedSeal, PostgresToolCredentialKeyStore } from '../../src/store/sealed-postgres.js';
import { PLATFORM_TENANT } from '../../src/core/tenant.js';
import { tmpKeyring } from '../helpers/keyring.js';
import { SharedToolCredentialKeys } from '../../src/tools/credential-keys-shared.js';
import { ed25519Kid, ed25519Seed } from '../../src/tools/credential-keys.js';
import { generateKeyPairSync } from 'node:crypto';
import { parseWrappedKey } from '../../src/data/crypto/index.js';

const DAY = 86_400_000;
const MIN = 60_000;
const pgTables = pgTestTables();

test('two replicas publish one JWKS, verify each other’s credentials, and rotate once between them', { timeout: 120_000 }, async (t) => {
  const skip = (await requireService('postgres')) || (await requireService('redis'));
  if (skip) return t.skip(skip);
  // FAKE tool backend (an external upstream, not Warden code): keeps the credential each call carried.
  const credentials: string[] = [];
  const backend = createServer((req, res) => {
    credentials.push(/^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1] ?? '');
    req.resume().on('end', () => res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}'));
  });
  await new Promise<void>((r) => backend.listen(0, '127.0.0.1', () => r()));
  t.after(() => void backend.close());
  const backendUrl = `http://127.0.0.1:${(backend.address() as AddressInfo).port}`;

  const clock = new FixedClock(Date.now());
  const cl = await startTestCluster(
    2,
    (c) => {
      // The timer never fires within the test: rounds are run by hand, both at once.
      c.monitor.rotation = { ...c.monitor.rotation, intervalMs: 3_600_000, toolCredentialKeys: { enabled: true, rotateAfterDays: 30, overlapMinutes: 60, publishAheadMinutes: 10 } };
    },
    { clock },
  );
  t.after(() => cl.stop());
  const [a, b] = cl.replicas as [TestWarden, TestWarden];
  const jwks = async (r: TestWarden) => (await r.call('inference', 'GET', '/v1/tools/jwks')).json.keys as JWK[];
  const kids = async (r: TestWarden) => (await jwks(r)).map((k) => k.kid!).sort();
  const entries = (action: string) => [...a.audits(), ...b.audits()].filter((e) => e.action === action);
  /** The entries of `action` once the ledger appends under way have landed (they are recorded after the commit). */
  const settled = async (action: string) => {
    await new Promise((r) => setTimeout(r, 200));
    return entries(action);
  };

  const [first] = await kids(a);
  assert.deepEqual(await kids(b), [first], 'both replicas publish the one shared key');

  await cl.adminOk(a, 'POST', '/admin/v1/principals', { id: 'alice', tenant: 'acme', groups: ['consumers'] });
  const alice = (await cl.adminOk(a, 'POST', '/admin/v1/keys', { principal: 'alice', models: ['*'], actions: ['callTool'] })).key as string;
  const def = { name: 'lookup', description: 'Look a record up', risk: 'read', grantees: ['consumers'], input_schema: { type: 'object', properties: { id: { type: 'string' } }, required: ['id'], additionalProperties: false }, backend: { type: 'http', url: `${backendUrl}/lookup` }, egress: [backendUrl] };
  await cl.adminOk(a, 'POST', '/admin/v1/tools', def);
  /** A call through `r`; the credential the backend received, checked against the JWKS `other` serves. */
  const credentialVerifiesOn = async (r: TestWarden, other: TestWarden): Promise<string> => {
    const res = await r.call('inference', 'POST', '/v1/tools/lookup/invoke', { key: alice, body: { arguments: { id: 'x' } } });
    assert.equal(res.status, 200, res.text);
    const credential = credentials.at(-1)!;
    await jwtVerify(credential, createLocalJWKSet({ keys: await jwks(other) }), { issuer: 'https://gateway.test', typ: 'wardentool+jwt', currentDate: new Date(clock.now()) });
    return decodeProtectedHeader(credential).kid!;
  };
  assert.equal(await credentialVerifiesOn(a, b), first, 'issued through A, verified with the JWKS served by B');
  assert.equal(await credentialVerifiesOn(b, a), first);

  clock.advance(30 * DAY);
  // The lock held by someone else (as by a replica mid-round): the round is skipped, nothing rotates.
  const holder = new pg.Client({ connectionString: PG_URL });
  await holder.connect();
  t.after(() => holder.end());
  await holder.query('BEGIN');
  await holder.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`warden-tool-credential-keys:${cl.prefix}`]);
  assert.equal(await a.w.rotateToolCredentialKeys(), 'skipped');
  await holder.query('COMMIT');
  assert.equal(entries('tool_credential_key.rotate').length, 0);
  assert.deepEqual(await kids(a), [first]);

  // Both replicas due at once: one rotates, the other skips or finds the new key already there.
  const rounds = (await Promise.all([a.w.rotateToolCredentialKeys(), b.w.rotateToolCredentialKeys()])) as ({ rotated: string | null } | 'skipped')[];
  const rotated = rounds.flatMap((r) => (r !== 'skipped' && r.rotated ? [r.rotated] : []));
  assert.equal(rotated.length, 1, `one rotation: ${JSON.stringify(rounds)}`);
  const second = rotated[0]!;
  const rotations = await settled('tool_credential_key.rotate');
  assert.equal(rotations.length, 1, 'one ledger entry for the rotation');
  assert.equal((rotations[0]!.details as { previous: string }).previous, first);
  // Published ahead on both (the other replica through the announcement).
  for (const r of [a, b]) await withinOneSecond('the new key published', async () => (await kids(r)).includes(second));
  assert.deepEqual(await kids(a), await kids(b));
  assert.equal(await credentialVerifiesOn(b, a), first, 'the old key signs until the new one activates');

  clock.advance(11 * MIN);
  assert.equal(await credentialVerifiesOn(b, a), second, 'the new key signs on B, A publishes it');
  assert.equal(await credentialVerifiesOn(a, b), second);

  clock.advance(60 * MIN);
  await Promise.all([a.w.rotateToolCredentialKeys(), b.w.rotateToolCredentialKeys()]);
  const retired = await settled('tool_credential_key.retire');
  assert.equal(retired.length, 1, 'one ledger entry for the retirement');
  assert.equal((retired[0]!.details as { kid: string }).kid, first);
  for (const r of [a, b]) assert.deepEqual(await kids(r), [second]);
});

test('a round with the shared store unreachable fails and changes nothing; the loaded keys keep signing', { timeout: 30_000 }, async (t) => {
  const skip = pgTables.skip();
  if (skip) return t.skip(skip);
  const prefix = pgTables.newPrefix();
  const clock = new FixedClock(Date.now());
  const store = (await PostgresToolCredentialKeyStore.connect({ connectionString: PG_TEST_URL, prefix })).sealWith(platformSeedSeal(tmpKeyring().keyring, PLATFORM_TENANT));
  const recorded: string[] = [];
  const keys = await SharedToolCredentialKeys.start({ store, clock, rotateAfterMs: DAY, overlapMs: 60 * MIN, publishAheadMs: 10 * MIN, record: (action) => void recorded.push(action), announce: async () => {} });
  const { kid, key } = keys.signing();
  // Stored wrapped under the KEK (the envelope format), never as the seed itself.
  const [stored] = await store.listWrapped();
  assert.equal(stored!.kid, kid);
  assert.ok(parseWrappedKey(stored!.wrapped), 'in the envelope format');
  assert.equal(stored!.wrapped.indexOf(ed25519Seed(key)), -1, 'the seed does not appear in the stored bytes');
  clock.advance(2 * DAY);
  await store.close(); // PostgreSQL unreachable from this replica
  await assert.rejects(keys.tick());
  assert.deepEqual(recorded, [], 'nothing recorded: no rotation happened');
  assert.equal(keys.signing().kid, kid, 'the loaded key keeps signing');
  assert.deepEqual(keys.jwks().map((k) => k.kid), [kid]);
});

test('a fresh shared store: replicas starting together make one first key, the first replica’s own key if it had one', { timeout: 30_000 }, async (t) => {
  const skip = pgTables.skip();
  if (skip) return t.skip(skip);
  const prefix = pgTables.newPrefix();
  const clock = new FixedClock(Date.now());
  const { keyring } = tmpKeyring();
  const stores = await Promise.all([0, 1, 2].map(async () => (await PostgresToolCredentialKeyStore.connect({ connectionString: PG_TEST_URL, prefix })).sealWith(platformSeedSeal(keyring, PLATFORM_TENANT))));
  t.after(() => Promise.all(stores.map((s) => s.close())));
  // Each replica had its own tool-credential-key.pem before the keys were shared (a backend may have pinned it).
  const own = [0, 1, 2].map(() => generateKeyPairSync('ed25519').privateKey);
  const started = await Promise.all(
    stores.map((store, i) =>
      SharedToolCredentialKeys.start({ store, clock, rotateAfterMs: DAY, overlapMs: 60 * MIN, publishAheadMs: 10 * MIN, record: () => {}, announce: async () => {}, firstKey: () => ({ key: own[i]!, since: clock.now() - DAY / 2 }) }),
    ),
  );
  const signing = started.map((k) => k.signing().kid);
  assert.equal(new Set(signing).size, 1, `one key for all: ${signing.join(', ')}`);
  assert.ok(own.some((k) => ed25519Kid(k) === signing[0]), 'it is one replica’s own key, adopted');
  assert.equal((await stores[0]!.listWrapped()).length, 1);
  for (const k of started) assert.deepEqual(k.jwks().map((j) => j.kid), [signing[0]]);
});

test('fail closed: a stored key that is not the key its kid names, or a seed moved to another row, is refused', { timeout: 30_000 }, async (t) => {
  const skip = pgTables.skip();
  if (skip) return t.skip(skip);
  const prefix = pgTables.newPrefix();
  const store = (await PostgresToolCredentialKeyStore.connect({ connectionString: PG_TEST_URL, prefix })).sealWith(platformSeedSeal(tmpKeyring().keyring, PLATFORM_TENANT));
  t.after(() => store.close());
  const [k1, k2] = [generateKeyPairSync('ed25519').privateKey, generateKeyPairSync('ed25519').privateKey];
  await store.exclusive(async (tx) => {
    await tx.add({ kid: ed25519Kid(k1), activeFrom: 1, key: k1 });
    await tx.add({ kid: ed25519Kid(k2), activeFrom: 2, key: k2 });
  }, { wait: true });
  assert.equal((await store.list()).length, 2);
  // Someone with write access to the table moves k1's wrapped seed into k2's row: the KEK binds each seed to its kid.
  const c = new pg.Client({ connectionString: PG_TEST_URL });
  await c.connect();
  t.after(() => c.end());
  await c.query(`UPDATE ${prefix}tool_credential_keys SET wrapped_seed = (SELECT wrapped_seed FROM ${prefix}tool_credential_keys WHERE kid = $1) WHERE kid = $2`, [ed25519Kid(k1), ed25519Kid(k2)]);
  await assert.rejects(store.list(), { name: 'EnvelopeTampered' });
  // A row naming a kid its key does not hash to (wrapped for that kid, so the KEK opens it): refused too.
  await c.query(`DELETE FROM ${prefix}tool_credential_keys`);
  await store.exclusive((tx) => tx.add({ kid: ed25519Kid(k1), activeFrom: 1, key: k2 }), { wait: true });
  await assert.rejects(store.list(), /is not the key its kid names/);
});
