// Rotation of the keys that sign per-call tool credentials, on a fixed clock with real keys and files: a new key is
// published ahead of signing, the replaced one stays published (credentials it signed still verify) until its
// overlap ends, then it is gone from the JWKS (its credentials no longer verify) and its file deleted; each rotation
// and retirement is recorded; two processes on one data dir stay consistent; a bad key file refuses to start.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { generateKeyPairSync } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLocalJWKSet, jwtVerify } from 'jose';
import { FixedClock } from '../../src/core/clock.js';
import type { Principal } from '../../src/core/types.js';
import { ToolCredentialIssuer } from '../../src/tools/credential.js';
import { ed25519Kid, ToolCredentialKeys, type CredentialKeysOptions } from '../../src/tools/credential-keys.js';

const T0 = Date.UTC(2026, 11, 1, 9, 0, 0);
const DAY = 86_400_000;
const MIN = 60_000;
const alice = { kind: 'user', id: 'alice', tenant: 'acme', groups: [], authn: { method: 'api_key', credentialId: 'k' }, scope: { models: ['*'], actions: ['*'] } } as unknown as Principal;

function setup(dir = mkdtempSync(join(tmpdir(), 'toolkeys-')), clock = new FixedClock(T0), extra: Partial<CredentialKeysOptions> = {}) {
  const records: { action: string; details: Record<string, unknown> }[] = [];
  const keys = new ToolCredentialKeys({ dir, clock, rotateAfterMs: 30 * DAY, overlapMs: 60 * MIN, publishAheadMs: 10 * MIN, record: (action, details) => records.push({ action, details }), ...extra });
  const issuer = new ToolCredentialIssuer('https://warden.test', clock, 60, keys);
  const mint = () => issuer.mint({ tool: 'orders_lookup', audience: 'https://tools.example', principal: alice, argsDigest: 'sha256:x', requestId: 'req_1' });
  /** As a backend verifies, with the JWKS Warden serves now; `at` the backend's time (default: now). */
  const verify = async (jwt: string, at = clock.now()) => {
    const jwks = createLocalJWKSet(await issuer.publicJwks());
    return (await jwtVerify(jwt, jwks, { issuer: 'https://warden.test', audience: 'https://tools.example', currentDate: new Date(at) })).protectedHeader.kid;
  };
  return { dir, clock, keys, issuer, records, mint, verify };
}

const kids = async (issuer: ToolCredentialIssuer) => (await issuer.publicJwks()).keys.map((k) => k.kid);

test('rotation on a cadence: published ahead, signs at activation, the old key verifies through the overlap and then not', async () => {
  const { dir, clock, keys, issuer, records, mint, verify } = setup();
  const first = keys.signing().kid;
  assert.deepEqual(await kids(issuer), [first]);
  const files = readdirSync(dir);
  assert.equal(files.length, 1);
  assert.equal(statSync(join(dir, files[0]!)).mode & 0o777, 0o600);
  assert.equal(statSync(dir).mode & 0o777, 0o700);

  clock.advance(30 * DAY - 1);
  assert.deepEqual(keys.tick(), { rotated: null, retired: [] }, 'not due yet');
  clock.advance(1);
  const { rotated: second } = keys.tick();
  assert.ok(second && second !== first);
  assert.deepEqual(records.map((r) => r.action), ['tool_credential_key.rotate']);
  assert.equal(records[0]!.details.previous, first);
  assert.equal(records[0]!.details.activeFrom, new Date(clock.now() + 10 * MIN).toISOString());
  assert.equal(records[0]!.details.previousRetiresAt, new Date(clock.now() + 70 * MIN).toISOString());
  // Published ahead, not signing yet: a backend caching the JWKS now already knows it.
  assert.deepEqual((await kids(issuer)).sort(), [first, second].sort());
  assert.deepEqual(keys.tick(), { rotated: null, retired: [] }, 'a key waiting to sign is not rotated again');

  // Signed 30 s before the switch, presented 30 s after it: still valid, and its key still published.
  clock.advance(10 * MIN - 30_000);
  const oldJwt = await mint();
  const mintedAt = clock.now();
  assert.equal(await verify(oldJwt), first);
  clock.advance(30_000);
  const newJwt = await mint();
  assert.equal(await verify(newJwt), second, 'the new key signs from its activation');
  assert.equal(await verify(oldJwt), first, 'a credential of the old key still verifies during the overlap');

  clock.advance(60 * MIN);
  assert.deepEqual(await kids(issuer), [second], 'the overlap is over: the old key is no longer published');
  await assert.rejects(verify(oldJwt, mintedAt), { code: 'ERR_JWKS_NO_MATCHING_KEY' }, 'its signature no longer verifies against the served keys');
  assert.deepEqual(keys.tick(), { rotated: null, retired: [first] });
  assert.equal(records.at(-1)!.action, 'tool_credential_key.retire');
  assert.equal(records.at(-1)!.details.kid, first);
  assert.equal(readdirSync(dir).length, 1);
  assert.equal(await verify(await mint()), second);
});

test('the key kept before rotation is adopted as the first (backends that pinned it keep verifying)', async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'toolkeys-legacy-'));
  const legacyFile = join(dataDir, 'tool-credential-key.pem');
  const { privateKey } = generateKeyPairSync('ed25519');
  writeFileSync(legacyFile, privateKey.export({ format: 'pem', type: 'pkcs8' }).toString(), { mode: 0o600 });
  utimesSync(legacyFile, new Date(T0 - DAY), new Date(T0 - DAY)); // made a day before the test's now
  const { keys } = setup(join(dataDir, 'tool-credential-keys'), new FixedClock(T0), { legacyFile });
  assert.equal(keys.signing().kid, ed25519Kid(privateKey));
  assert.equal(existsSync(legacyFile), false, 'moved in, not copied');
});

test('two processes on one data dir: a rotation by one is served and used by the other; simultaneous rotations lose no key', async () => {
  const clock = new FixedClock(T0);
  const a = setup(undefined, clock);
  const b = setup(a.dir, clock);
  assert.equal(b.keys.signing().kid, a.keys.signing().kid);
  clock.advance(30 * DAY);
  const { rotated } = a.keys.tick();
  assert.ok((await kids(b.issuer)).includes(rotated!), 'B publishes the key A made');
  assert.equal(b.keys.tick().rotated, null, 'B sees the rotation is done');
  clock.advance(10 * MIN);
  assert.equal(b.keys.signing().kid, rotated);
  // Both due at once: D re-reads the directory before deciding, so it makes no second key…
  clock.advance(30 * DAY);
  const c = setup(a.dir, clock);
  const d = setup(a.dir, clock);
  const ck = c.keys.tick().rotated!;
  assert.ok(ck);
  assert.equal(d.keys.tick().rotated, null, 'D sees the key C made');
  // …and a process that wrote its own in the same instant (as a racing one would) loses nothing: both are published,
  // the newer signs, the other stays verifiable through its overlap.
  const { privateKey: racing } = generateKeyPairSync('ed25519');
  const racingKid = ed25519Kid(racing);
  writeFileSync(join(a.dir, `${clock.now() + 10 * MIN + 1}-${racingKid}.pem`), racing.export({ format: 'pem', type: 'pkcs8' }).toString(), { mode: 0o600 });
  assert.ok((await kids(d.issuer)).includes(ck) && (await kids(d.issuer)).includes(racingKid));
  clock.advance(10 * MIN);
  const byC = await c.mint();
  assert.equal(await d.verify(byC), ck);
  clock.advance(1);
  assert.equal(await c.verify(await d.mint()), racingKid, 'the newer key signs everywhere');
  assert.equal(await d.verify(byC), ck, 'the other stays published through its overlap');
});

test('fail closed: a key file that is not what its name says refuses to start; overlaps shorter than credentials are refused', () => {
  const dir = mkdtempSync(join(tmpdir(), 'toolkeys-bad-'));
  const { privateKey } = generateKeyPairSync('ed25519');
  const other = generateKeyPairSync('ed25519').privateKey;
  writeFileSync(join(dir, `${T0}-${ed25519Kid(other)}.pem`), privateKey.export({ format: 'pem', type: 'pkcs8' }).toString(), { mode: 0o600 });
  assert.throws(() => setup(dir), { code: 'tool_credential_key_invalid' });
  assert.throws(() => setup(undefined, undefined, { overlapMs: 60_000 }), /overlap must outlast/);
  assert.throws(() => setup(undefined, undefined, { publishAheadMs: 0 }), /JWKS max-age/);
});
