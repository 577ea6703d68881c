// Keys rotate on schedule with a fake clock, through the real key service on SQLite: an old key is rotated
// with an overlap (both work, then only the new one), its secret is delivered to a 0600 file, a key about
// to expire is reminded once, an unused key is disabled, the bootstrap key is never touched, and a secret
// that cannot be delivered is recorded as such.
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
    const mine = failing.rotated.find((x) => x.from === d.record.id)!;
    if (process.getuid?.() !== 0) {
      assert.equal(mine.file, null);
      assert.ok(entries.some(([a, ok, det]) => a === 'key.rotate' && !ok && det.key === d.record.id && det.delivered === false));
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
