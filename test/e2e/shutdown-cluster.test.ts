// `warden up` on the cluster stores exits by itself after SIGTERM: nothing it opened (the tenant KEKs' re-read
// timer, the shared sealed stores' PostgreSQL pools, the console, Redis) may keep the process alive. Found by the
// cluster demo, whose replicas drained and then never exited.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startWardenProcess } from '../helpers/proc.js';
import { PG_TEST_URL, pgTestTables, redisTestPrefixes } from '../helpers/contract.js';

const pgTables = pgTestTables();
const redisKeys = redisTestPrefixes('shutdown');

test('warden up on PostgreSQL and Redis exits 0 within the drain deadline after SIGTERM', async (t) => {
  const skip = pgTables.skip() || redisKeys.skip();
  if (skip) return t.skip(skip);
  const dir = mkdtempSync(join(tmpdir(), 'warden-shutdown-cluster-'));
  try {
    const kek = join(dir, 'kek.bin');
    writeFileSync(kek, randomBytes(32), { mode: 0o600 });
    const cfg = join(dir, 'warden.yaml');
    writeFileSync(
      cfg,
      [
        `dataDir: ${join(dir, 'data')}`,
        'listeners:',
        '  inference: { port: 0 }',
        '  admin: { port: 0 }',
        'log: { level: warn }',
        'store:',
        `  postgres: { connectionString: "${PG_TEST_URL}", prefix: ${pgTables.newPrefix()} }`,
        `  redis: { url: "redis://127.0.0.1:6379", prefix: "${redisKeys.newPrefix()}" }`,
        `encryption: { kek: { file: ${kek} } }`,
        'shutdown: { drainTimeoutMs: 2000 }',
        '',
      ].join('\n'),
    );
    const p = startWardenProcess(['up', '--config', cfg]);
    try {
      await p.waitFor(/Warden is running/);
      const exit = new Promise<number | null>((ok) => p.child.once('exit', (code) => ok(code)));
      const sent = Date.now();
      p.child.kill('SIGTERM');
      const code = await Promise.race([exit, new Promise<'hung'>((ok) => setTimeout(() => ok('hung'), 20_000).unref())]);
      assert.equal(code, 0, `exit after SIGTERM: ${code} (${Date.now() - sent} ms)`);
    } finally {
      await p.stop('SIGKILL');
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
