// `warden up --workers 2`, the real CLI on PostgreSQL + Redis: two processes answer on the same listeners
// (each request's access-log line names the worker that served it), a key revoked through the admin API is
// refused by both, SIGTERM stops them all; without the cluster stores N > 1 is refused in one line.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { Redis } from 'ioredis';
import { Agent, request } from 'undici';
import { sharedKekFile, dropPgPrefix, PG_URL } from '../helpers/cluster.js';
import { runWarden, startWardenProcess } from '../helpers/proc.js';
import { requireService } from '../helpers/services.js';

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  const port = (s.address() as { port: number }).port;
  await new Promise((r) => s.close(r));
  return port;
}

test('two workers serve the same listeners; a revoked key is refused by both; SIGTERM stops them', { timeout: 180_000 }, async (t) => {
  const skip = (await requireService('postgres')) || (await requireService('redis'));
  if (skip) return t.skip(skip);
  const dir = mkdtempSync(join(tmpdir(), 'warden-workers-'));
  const prefix = `wwk_${randomBytes(4).toString('hex')}_`;
  t.after(async () => {
    await dropPgPrefix(prefix);
    const r = new Redis();
    const keys = await r.keys(`${prefix}:*`);
    if (keys.length) await r.del(...keys);
    r.disconnect();
    rmSync(dir, { recursive: true, force: true });
  });
  const [inf, adm] = [await freePort(), await freePort()];
  writeFileSync(
    join(dir, 'warden.yaml'),
    `dataDir: ${join(dir, 'data')}\nlisteners:\n  inference: { host: 127.0.0.1, port: ${inf} }\n  admin: { host: 127.0.0.1, port: ${adm} }\n` +
      `store:\n  postgres: { connectionString: "${PG_URL}", prefix: ${prefix} }\n  redis: { url: "redis://127.0.0.1:6379", prefix: "${prefix}:" }\n` +
      `encryption:\n  kek: { file: ${sharedKekFile(dir)} }\n`,
  );
  const w = startWardenProcess(['up', '--config', join(dir, 'warden.yaml'), '--workers', '2']);
  t.after(() => w.stop('SIGKILL'));
  await w.waitFor(/2 workers on the same listeners/, 120_000);
  assert.equal(w.output().match(/Warden is running/g)?.length, 1, 'one banner');
  const adminKey = w.output().match(/export WARDEN_ADMIN_KEY=(\S+)/)![1]!;
  const ca = readFileSync(join(dir, 'data', 'ca.pem'), 'utf8');

  /** Each call on a connection of its own, so the primary hands it to the next worker. */
  const call = async (port: number, method: string, path: string, key: string, body?: unknown) => {
    const agent = new Agent({ connect: { ca } });
    try {
      const r = await request(`https://127.0.0.1:${port}${path}`, { method: method as 'GET', dispatcher: agent, headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, ...(body !== undefined ? { body: JSON.stringify(body) } : {}) });
      const text = await r.body.text();
      return { status: r.statusCode, requestId: String(r.headers['x-request-id']), json: text ? (JSON.parse(text) as any) : null };
    } finally {
      await agent.close();
    }
  };
  /** Which worker logged the request (each access-log line carries the worker's number). */
  const workerOf = (requestId: string): number | undefined => {
    for (const line of w.output().split('\n')) {
      if (!line.includes(requestId) || !line.startsWith('{')) continue;
      const j = JSON.parse(line) as { msg?: string; requestId?: string; worker?: number };
      if (j.msg === 'request' && j.requestId === requestId) return j.worker;
    }
    return undefined;
  };
  const servedBy = async (ids: string[]) => {
    await new Promise((r) => setTimeout(r, 300)); // the log is written asynchronously
    return new Set(ids.map(workerOf));
  };

  assert.equal((await call(adm, 'POST', '/admin/v1/principals', adminKey, { id: 'alice', tenant: 'acme', groups: ['consumers'] })).status, 201);
  const created = await call(adm, 'POST', '/admin/v1/keys', adminKey, { principal: 'alice', models: ['demo-chat'], actions: ['chat'] });
  assert.equal(created.status, 201);
  const chat = () => call(inf, 'POST', '/v1/chat/completions', created.json.key as string, { model: 'demo-chat', messages: [{ role: 'user', content: 'hello' }] });
  const before = await Promise.all(Array.from({ length: 8 }, chat));
  assert.deepEqual(before.map((r) => r.status), Array(8).fill(200));
  assert.deepEqual([...(await servedBy(before.map((r) => r.requestId)))].sort(), [1, 2], 'both workers answered');

  assert.ok((await call(adm, 'DELETE', `/admin/v1/keys/${created.json.id}`, adminKey)).status < 300);
  await new Promise((r) => setTimeout(r, 1000)); // the announcement reaches every worker within a second
  const after = await Promise.all(Array.from({ length: 8 }, chat));
  assert.deepEqual(after.map((r) => r.status), Array(8).fill(401), 'the revoked key is refused');
  assert.deepEqual([...(await servedBy(after.map((r) => r.requestId)))].sort(), [1, 2], 'by both workers');

  assert.equal(await w.stop('SIGTERM'), 0);
  assert.equal((w.output().match(/worker \d: pid \d+ listening/g) ?? []).length, 2);
});

test('--workers 2 without the cluster stores is refused in one line (exit 2); a bad count too', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'warden-workers-'));
  try {
    writeFileSync(join(dir, 'warden.yaml'), `dataDir: ${join(dir, 'data')}\n`);
    const r = await runWarden(['up', '--config', join(dir, 'warden.yaml'), '--workers', '2']);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /--workers 2 needs the cluster stores \(store\.postgres and store\.redis missing in the config\)/);
    const bad = await runWarden(['up', '--config', join(dir, 'warden.yaml'), '--workers', 'many']);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--workers must be a whole number from 1 to 256/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
