// `store: { postgres, redis }`: Warden keeps principals, keys and the ledger in PostgreSQL and its limits,
// token revocations and replay caches in Redis, refuses to start when either cannot be reached, and
// fails closed (503, /readyz not ready) when Redis goes away mid-run, recovering when it returns, without
// a restart. The Redis here is a private redis-server this test starts on a free port and kills; the
// shared one on 6379 is never touched. PostgreSQL is the shared server, with a random table prefix.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { Redis } from 'ioredis';
import { requireService } from '../helpers/services.js';
import { startTestWarden, type TestWarden } from '../helpers/warden.js';
import { sharedKekFile } from '../helpers/cluster.js';
import type { WardenConfig } from '../../src/config/config.js';

const PG = 'postgres://postgres@127.0.0.1:5432/test';
const prefix = `wcs_${randomBytes(4).toString('hex')}_`;
let skip: string | false = false;
let redisPort = 0;
const kekDir = mkdtempSync(join(tmpdir(), 'warden-kek-'));
let redisProc: ChildProcess | null = null;

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => resolve(p));
    });
  });
}

async function startRedis(): Promise<void> {
  redisProc = spawn('redis-server', ['--port', String(redisPort), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
  const probe = new Redis({ port: redisPort, lazyConnect: true, retryStrategy: () => null, maxRetriesPerRequest: 0 });
  probe.on('error', () => undefined); // refused until the server is up: expected while polling
  for (let i = 0; i < 100; i++) {
    try {
      await probe.connect();
      await probe.ping();
      probe.disconnect();
      return;
    } catch {
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  throw new Error('private redis-server did not start');
}

async function stopRedis(): Promise<void> {
  const p = redisProc;
  redisProc = null;
  if (!p || p.exitCode !== null) return;
  await new Promise<void>((r) => {
    p.once('exit', () => r());
    p.kill('SIGKILL');
  });
}

before(async () => {
  skip = (await requireService('postgres')) || (await requireService('redis'));
  if (skip) return;
  redisPort = await freePort();
  await startRedis();
});
after(async () => {
  rmSync(kekDir, { recursive: true, force: true });
  await stopRedis();
  if (skip) return;
  const c = new pg.Client({ connectionString: PG });
  await c.connect();
  const t = await c.query<{ tablename: string }>(`SELECT tablename FROM pg_tables WHERE tablename LIKE $1`, [`${prefix}%`]);
  for (const { tablename } of t.rows) await c.query(`DROP TABLE IF EXISTS ${tablename} CASCADE`);
  await c.end();
});

const cluster = (c: WardenConfig) => {
  c.store = { postgres: { connectionString: PG, prefix }, redis: { url: `redis://127.0.0.1:${redisPort}`, prefix: 'wcs:' } };
  c.encryption.kek = { file: sharedKekFile(kekDir) };
};
const chat = (w: TestWarden, key: string) => w.call('inference', 'POST', '/v1/chat/completions', { key, body: { model: 'demo-chat', messages: [{ role: 'user', content: 'hello' }] } });

test('with store.postgres and store.redis, records live in PostgreSQL, limits in Redis, and a Redis outage fails closed and recovers', { timeout: 60_000 }, async (t) => {
  if (skip) return t.skip(skip);
  const w = await startTestWarden(cluster);
  try {
    const { key, id } = await w.keyFor('alice', ['demo-chat'], ['chat'], { limits: { requestsPerSecond: 0.2, burst: 2 } });
    const c = new pg.Client({ connectionString: PG });
    await c.connect();
    try {
      const p = await c.query(`SELECT tenant FROM ${prefix}principals WHERE id = 'alice'`);
      assert.equal(p.rows[0]?.tenant, 'acme', 'the principal is a PostgreSQL row');
      const k = await c.query(`SELECT principal_id FROM ${prefix}api_keys WHERE id = $1`, [id]);
      assert.equal(k.rows[0]?.principal_id, 'alice', 'so is its key (hash only)');
      const r = await chat(w, key);
      assert.equal(r.status, 200, r.text);
      const n = await c.query(`SELECT count(*)::int AS n FROM ${prefix}ledger_entries`);
      assert.ok(n.rows[0].n >= 1, 'the ledger is in PostgreSQL too');
    } finally {
      await c.end();
    }
    assert.equal((await chat(w, key)).status, 200);
    const limited = await chat(w, key);
    assert.equal(limited.status, 429, 'burst 2 spent');
    assert.equal(limited.json.error.code, 'rate_limited');
    const probe = new Redis({ port: redisPort });
    assert.ok((await probe.keys('wcs:limits:*')).length > 0, 'the bucket is a Redis key');
    probe.disconnect();

    const { key: bobKey } = await w.keyFor('bob', ['demo-chat'], ['chat']);
    assert.equal((await chat(w, bobKey)).status, 200);
    assert.equal((await w.call('admin', 'GET', '/readyz')).status, 200);
    await stopRedis();
    const down = await chat(w, bobKey);
    assert.equal(down.status, 503, down.text);
    assert.equal(down.json.error.code, 'limits_unavailable');
    // A request without a valid credential too: its source's failed-attempt budget is in Redis (refusals.ts).
    const guess = await chat(w, 'wk_not-a-key');
    assert.equal(guess.status, 503, guess.text);
    assert.equal(guess.json.error.code, 'limits_unavailable');
    const ready = await w.call('admin', 'GET', '/readyz');
    assert.equal(ready.status, 503);
    assert.equal(ready.json.checks.redis, 'failing');
    await startRedis(); // same port: the client reconnects by itself
    let back = 0;
    for (let i = 0; i < 100 && back !== 200; i++) {
      await new Promise((r) => setTimeout(r, 100));
      back = (await chat(w, bobKey)).status;
    }
    assert.equal(back, 200, 'served again once Redis is back, without a restart');
    assert.equal((await w.call('admin', 'GET', '/readyz')).status, 200);
  } finally {
    await w.stop();
  }
});

test('a configured cluster store that cannot be reached refuses the start, naming it', async (t) => {
  if (skip) return t.skip(skip);
  const dead = await freePort();
  await assert.rejects(
    startTestWarden((c) => {
      c.store = { redis: { url: `redis://:secret@127.0.0.1:${dead}`, prefix: 'x:' } };
    }),
    (e: Error & { kind?: string; cause?: Error }) =>
      e.name === 'StartupRefused' && e.kind === 'environment' && e.cause?.name === 'ClusterStoreUnavailable' && /store\.redis: cannot reach redis:\/\/:\*\*\*@127\.0\.0\.1/.test(e.message) && !e.message.includes('secret'),
  );
  await assert.rejects(
    startTestWarden((c) => {
      c.store = { postgres: { connectionString: `postgres://postgres:pw@127.0.0.1:${dead}/test`, prefix: 'x_' } };
      c.encryption.kek = { file: sharedKekFile(kekDir) };
    }),
    (e: Error & { cause?: Error }) => e.name === 'StartupRefused' && e.cause?.name === 'ClusterStoreUnavailable' && /store\.postgres: cannot use/.test(e.message) && !e.message.includes(':pw@'),
  );
});
