// Keys rotate on schedule with a fake clock, through the real key service on SQLite: an old key is rotated
// with an overlap (both work, then only the new one), its secret is delivered to a 0600 file, a key about
// to expire is reminded once, an unused key is disabled, the bootstrap key is never touched, and a secret
// that cannot be delivered is recorded as such and leaves the old key valid. The webhook channel: a signed POST
// over HTTPS to a labelled fake receiver, retried a bounded number of times.
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { FixedClock } from '../../src/core/clock.js';
import { ApiKeyService } from '../../src/identity/api-keys.js';
import { SqliteIdentityStore } from '../../src/store/identity-sqlite.js';
import { openSqlite } from '../../src/store/sqlite.js';
import { KeyRotation } from '../../src/monitor/rotation.js';
import { signDelivery, webhookChannel } from '../../src/monitor/secret-delivery.js';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { issueServerCert, makeTestCa } from '../helpers/pki.js';
import { writeFileSync } from 'node:fs';
import { startTestWarden } from '../helpers/warden.js';

const DAY = 86_400_000;
const T0 = Date.UTC(2026, 0, 1);

test('keys rotate on schedule with an overlap, secrets are delivered, reminders and unused keys handled', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'warden-rotate-'));
  const db = openSqlite(':memory:');
  const clock = new FixedClock(T0);
  const store = new SqliteIdentityStore(db);
  const keys = new ApiKeyService(store, clock, { touchFlushMs: 60_000 });
  try {
    for (const id of ['ann', 'bob', 'cat', 'boot']) await store.insertPrincipal({ id, kind: 'user', tenant: 'acme', groups: [], admin: false, sourceCidrs: null, limits: null, createdAt: T0, erasedAt: null });
    const ann = await keys.create({ principalId: 'ann', models: ['*'], actions: ['chat'] });
    const bob = await keys.create({ principalId: 'bob', models: ['*'], actions: ['chat'], ttlMs: 100 * DAY });
    const cat = await keys.create({ principalId: 'cat', models: ['*'], actions: ['chat'] });
    const boot = await keys.create({ principalId: 'boot', models: ['*'], actions: ['*'] });
    const entries: [string, boolean, Record<string, unknown>][] = [];
    const rotation = new KeyRotation({
      clock,
      keys,
      rotateAfterDays: 90,
      overlapDays: 7,
      remindDaysBefore: 14,
      disableUnusedAfterDays: 60,
      deliverDir: join(dir, 'secrets'),
      exempt: (id) => id === boot.record.id,
      record: (a, ok, d) => entries.push([a, ok, d]),
    });
    // Day 50: ann and bob are in use, cat is not; nothing is due.
    const use = async (k: string) => {
      await keys.authenticate(k);
      await keys.flushTouches();
    };
    clock.set(T0 + 50 * DAY);
    await use(ann.key);
    await use(bob.key);
    assert.deepEqual(await rotation.tick(), { rotated: [], reminded: [], disabled: [] });
    // Day 61: cat unused for 61 days → disabled; bob's key is not yet close to expiry.
    clock.set(T0 + 61 * DAY);
    const t61 = await rotation.tick();
    assert.deepEqual(t61.disabled, [cat.record.id]);
    await assert.rejects(keys.authenticate(cat.key));
    // Day 87: bob expires at day 100 → one reminder, not repeated.
    clock.set(T0 + 87 * DAY);
    await use(ann.key);
    await use(bob.key);
    assert.deepEqual((await rotation.tick()).reminded, [bob.record.id]);
    assert.deepEqual((await rotation.tick()).reminded, []);
    // Day 91: ann's and bob's keys are 91 days old → rotated with a 7-day overlap; each new secret is in a 0600 file.
    clock.set(T0 + 91 * DAY);
    const t91 = await rotation.tick();
    assert.deepEqual(t91.rotated.map((x) => x.from).sort(), [ann.record.id, bob.record.id].sort());
    const r = t91.rotated.find((x) => x.from === ann.record.id)!;
    const secret = readFileSync(r.file!, 'utf8').trim();
    assert.equal(statSync(r.file!).mode & 0o777, 0o600);
    assert.equal((await keys.authenticate(secret)).id, 'ann');
    assert.equal((await keys.authenticate(ann.key)).id, 'ann', 'the old key works during the overlap');
    clock.set(T0 + 99 * DAY);
    await assert.rejects(keys.authenticate(ann.key), 'the old key stops after the overlap');
    assert.equal((await keys.authenticate(secret)).id, 'ann');
    // The bootstrap key is never rotated nor disabled, however old and idle.
    clock.set(T0 + 400 * DAY);
    const late = await rotation.tick();
    assert.ok(!late.rotated.some((x) => x.from === boot.record.id) && !late.disabled.includes(boot.record.id));
    assert.equal((await keys.authenticate(boot.key)).id, 'boot');
    assert.deepEqual(entries.map(([a, ok]) => `${a}:${ok}`).slice(0, 4), ['key.disable_unused:true', 'key.expiry_reminder:true', 'key.rotate:true', 'key.rotate:true']);

    // A secret that cannot be delivered: the rotation is recorded as not delivered.
    const d = await keys.create({ principalId: 'ann', models: ['*'], actions: ['chat'] });
    await use(d.key);
    chmodSync(join(dir, 'secrets'), 0o500);
    clock.advance(91 * DAY);
    await use(d.key);
    const failing = await rotation.tick();
    if (process.getuid?.() !== 0) {
      // Not handed over: the old key stays valid with no overlap clock, the successor is revoked; tried again next tick.
      assert.deepEqual(failing.undelivered, [d.record.id]);
      assert.ok(!failing.rotated.some((x) => x.from === d.record.id));
      const e = entries.find(([a, ok, det]) => a === 'key.rotate' && !ok && det.key === d.record.id)!;
      assert.equal(e[2].delivered, false);
      assert.equal(e[2].channel, 'file');
      const successor = (await keys.list()).find((k) => k.id === e[2].successor)!;
      assert.ok(successor.revokedAt !== null, 'the undelivered successor is revoked');
      clock.advance(30 * DAY);
      await use(d.key);
      assert.equal((await keys.authenticate(d.key)).id, 'ann', 'the old key outlives the overlap it never entered');
    }
    assert.throws(() => new KeyRotation({ clock, keys, rotateAfterDays: 0, overlapDays: 1, remindDaysBefore: 1, disableUnusedAfterDays: null, deliverDir: dir, exempt: () => false, record: () => {} }), /rotateAfterDays/);
  } finally {
    chmodSync(join(dir, 'secrets'), 0o700);
    await keys.close();
    db.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('in the running gateway (monitor.rotation): the timer rotates an old key, delivers its secret under the data dir, records it, spares the bootstrap key', async () => {
  const clock = new FixedClock(Date.now());
  const t = await startTestWarden((c) => {
    c.monitor.rotation = { ...c.monitor.rotation, enabled: true, intervalMs: 1000 };
  }, { clock });
  try {
    const { key, id } = await t.keyFor('rita', ['*'], ['chat'], { groups: ['consumers'] });
    assert.equal((await t.call('inference', 'POST', '/v1/chat/completions', { key, body: { model: 'demo-chat', messages: [{ role: 'user', content: 'hi' }] } })).status, 200);
    clock.advance(91 * DAY);
    const entry = () => t.audits().find((a) => a.action === 'key.rotate' && (a.details as { key: string }).key === id);
    for (let i = 0; i < 60 && !entry(); i++) await new Promise((r) => setTimeout(r, 100));
    const e = entry()!;
    assert.equal(e.decision, 'allow');
    const successor = (e.details as { successor: string }).successor;
    const secret = readFileSync(join(t.w.dataDir, 'rotated-keys', `rita.${successor}.key`), 'utf8').trim();
    assert.equal((await t.call('inference', 'POST', '/v1/chat/completions', { key: secret, body: { model: 'demo-chat', messages: [{ role: 'user', content: 'hi' }] } })).status, 200);
    assert.ok(!t.audits().some((a) => a.action === 'key.rotate' && (a.details as { principal: string }).principal === 'admin'), 'the bootstrap key is never rotated');
    assert.equal((await t.call('admin', 'GET', '/admin/v1/keys', { key: t.adminKey })).status, 200);
  } finally {
    await t.stop();
  }
});

test('in the running gateway (monitor.rotation.toolCredentialKeys): /v1/tools/jwks publishes the next key ahead, keeps the old one through the overlap, and each rotation and retirement is in the ledger', async () => {
  const clock = new FixedClock(Date.now());
  const t = await startTestWarden((c) => {
    c.monitor.rotation = { ...c.monitor.rotation, intervalMs: 1000, toolCredentialKeys: { enabled: true, rotateAfterDays: 30, overlapMinutes: 60, publishAheadMinutes: 10 } };
  }, { clock });
  try {
    const kids = async () => ((await t.call('inference', 'GET', '/v1/tools/jwks')).json.keys as { kid: string }[]).map((k) => k.kid).sort();
    const [first] = await kids();
    assert.ok(first);
    const until = async (what: () => boolean) => {
      for (let i = 0; i < 60 && !what(); i++) await new Promise((r) => setTimeout(r, 100));
      assert.ok(what());
    };
    clock.advance(30 * DAY);
    const rotation = () => t.audits().find((a) => a.action === 'tool_credential_key.rotate');
    await until(() => rotation() !== undefined);
    const second = (rotation()!.details as { kid: string }).kid;
    assert.equal((rotation()!.details as { previous: string }).previous, first);
    assert.deepEqual(await kids(), [first, second].sort());
    clock.advance(71 * 60_000);
    assert.deepEqual(await kids(), [second]);
    await until(() => t.audits().some((a) => a.action === 'tool_credential_key.retire' && (a.details as { kid: string }).kid === first));
  } finally {
    await t.stop();
  }
});

test('webhook channel: the new secret is POSTed over HTTPS with an HMAC signature; a receiver that keeps failing is retried a bounded number of times, then the old key stays valid and the failure is recorded', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'warden-rotate-hook-'));
  const ca = await makeTestCa();
  const tls = await issueServerCert(ca, ['127.0.0.1']);
  writeFileSync(join(dir, 'ca.pem'), ca.certPem);
  const SECRET = 'whsec-0123456789abcdef0123456789abcdef';
  // FAKE receiver (a secret manager's intake), not Warden code: checks the signature like a real one would.
  let failuresLeft = 0;
  const received: { body: string; signature: string; delivery: string; valid: boolean }[] = [];
  const server = createHttpsServer({ cert: tls.certPem, key: tls.keyPem }, (req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      const signature = String(req.headers['warden-signature']);
      const t = Number(/^t=(\d+),/.exec(signature)?.[1]);
      received.push({ body, signature, delivery: String(req.headers['warden-delivery']), valid: signature === signDelivery(SECRET, t, body) });
      if (failuresLeft > 0) {
        failuresLeft--;
        res.writeHead(503).end();
      } else res.writeHead(204).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const url = `https://127.0.0.1:${(server.address() as AddressInfo).port}/intake`;
  const db = openSqlite(':memory:');
  const clock = new FixedClock(T0);
  const store = new SqliteIdentityStore(db);
  const keys = new ApiKeyService(store, clock, { touchFlushMs: 60_000 });
  const waits: number[] = [];
  try {
    await store.insertPrincipal({ id: 'ann', kind: 'user', tenant: 'acme', groups: [], admin: false, sourceCidrs: null, limits: null, createdAt: T0, erasedAt: null });
    const entries: [string, boolean, Record<string, unknown>][] = [];
    const channel = webhookChannel({ url, signingSecret: SECRET, attempts: 3, backoffMs: 1000, timeoutMs: 2000, caFile: join(dir, 'ca.pem'), clock, sleep: async (ms) => void waits.push(ms) });
    const rotation = new KeyRotation({ clock, keys, rotateAfterDays: 90, overlapDays: 7, remindDaysBefore: 0, disableUnusedAfterDays: null, deliverDir: join(dir, 'unused'), channel, exempt: () => false, record: (a, ok, d) => entries.push([a, ok, d]) });
    const ann = await keys.create({ principalId: 'ann', models: ['*'], actions: ['chat'] });

    // Two failures, then accepted on the third try (backoff 1 s, 2 s): rotated, the secret works, the old one overlaps.
    clock.set(T0 + 91 * DAY);
    failuresLeft = 2;
    const t1 = await rotation.tick();
    assert.equal(t1.rotated.length, 1);
    assert.deepEqual(waits, [1000, 2000]);
    assert.equal(received.length, 3);
    assert.ok(received.every((r) => r.valid), 'every attempt carries a valid HMAC signature');
    assert.equal(new Set(received.map((r) => r.delivery)).size, 1, 'one delivery id across retries');
    const payload = JSON.parse(received[2]!.body) as { type: string; key: string; previous: string; secret: string; principal: string };
    assert.deepEqual([payload.type, payload.previous, payload.principal, payload.key], ['warden.key.rotated', ann.record.id, 'ann', t1.rotated[0]!.to]);
    assert.equal((await keys.authenticate(payload.secret)).id, 'ann');
    assert.equal(entries.at(-1)![1], true);
    assert.equal(entries.at(-1)![2].channel, 'webhook');
    // A tampered body would not match the signature (what a receiver checks).
    assert.notEqual(received[2]!.signature, signDelivery(SECRET, Number(/^t=(\d+),/.exec(received[2]!.signature)![1]), received[2]!.body.replace(payload.secret, 'x')));

    // A receiver that keeps failing: exactly `attempts` tries, the old key stays valid, the failure is in the ledger.
    const successorKey = payload.secret;
    const successorId = payload.key;
    clock.set(T0 + 91 * DAY + 91 * DAY);
    await keys.authenticate(successorKey);
    received.length = 0;
    failuresLeft = 100;
    const t2 = await rotation.tick();
    assert.equal(received.length, 3, 'bounded: three attempts, no more');
    assert.deepEqual(t2.undelivered, [successorId]);
    const e = entries.at(-1)!;
    assert.deepEqual([e[0], e[1], e[2].delivered, e[2].channel], ['key.rotate', false, false, 'webhook']);
    assert.match(String(e[2].error), /after 3 attempt\(s\): status 503/);
    clock.advance(30 * DAY);
    assert.equal((await keys.authenticate(successorKey)).id, 'ann', 'still valid: its overlap never started');
    // Not https: refused when configured.
    assert.throws(() => webhookChannel({ url: 'http://127.0.0.1/x', signingSecret: SECRET, attempts: 3, backoffMs: 0, timeoutMs: 1000, clock }), /must be https/);
    assert.throws(() => webhookChannel({ url, signingSecret: 'short', attempts: 3, backoffMs: 0, timeoutMs: 1000, clock }), /at least 32/);
  } finally {
    server.close();
    await keys.close();
    db.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
