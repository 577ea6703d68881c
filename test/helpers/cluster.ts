// Replicas of one Warden for tests: in-process `startWarden`s on one store config (PostgreSQL + Redis under
// a prefix of their own), each with its own data dir and ports, sharing only the ledger key (one log, one
// signer) and the public origin a load balancer would give them. `stop` removes the replicas, their tables,
// their Redis keys and their data dirs.
import { randomBytes } from 'node:crypto';
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import assert from 'node:assert/strict';
import pg from 'pg';
import { Redis } from 'ioredis';
import type { WardenConfig } from '../../src/config/config.js';
import type { Clock } from '../../src/core/clock.js';
import { loadOrCreateLedgerKey, LEDGER_KEY_FILE, type LedgerKey } from '../../src/ledger/key.js';
import { startTestWarden, type TestWarden } from './warden.js';
import { createKeyFile } from '../../src/data/crypto/key-file.js';

export const PG_URL = 'postgres://postgres@127.0.0.1:5432/test';

export interface TestCluster {
  prefix: string;
  root: string;
  ledgerKey: LedgerKey;
  replicas: TestWarden[];
  /** The bootstrap admin credential (exactly one replica printed it). */
  adminKey: string;
  /** An admin call through replica `r` with the bootstrap credential that must succeed (2xx); its JSON. */
  adminOk(r: TestWarden, method: string, path: string, body?: unknown): Promise<any>;
  stop(): Promise<void>;
}

/** A data KEK file (32 random bytes, 0600) under `dir`, to name as `encryption.kek` in every replica's config. */
export function sharedKekFile(dir: string): string {
  const file = join(dir, 'shared-kek.bin');
  if (!existsSync(file)) createKeyFile(file);
  return file;
}

/** Drops every table named `<prefix>…`. */
export async function dropPgPrefix(prefix: string): Promise<void> {
  const c = new pg.Client({ connectionString: PG_URL });
  await c.connect();
  const tables = await c.query<{ tablename: string }>(`SELECT tablename FROM pg_tables WHERE tablename LIKE $1`, [`${prefix.replaceAll('_', '\\_')}%`]);
  for (const { tablename } of tables.rows) await c.query(`DROP TABLE IF EXISTS ${tablename} CASCADE`);
  await c.end();
}

export async function startTestCluster(n: number, mutate: (c: WardenConfig) => void = () => {}, opts: { clock?: Clock } = {}): Promise<TestCluster> {
  const prefix = `wcr_${randomBytes(4).toString('hex')}_`;
  const root = mkdtempSync(join(tmpdir(), 'warden-replicas-'));
  const keyDir = join(root, 'key');
  const ledgerKey = loadOrCreateLedgerKey(keyDir);
  // One KEK for every replica (store.postgres refuses to start without one named): model keys and retained
  // payloads are shared.
  const kek = sharedKekFile(root);
  const dirs = Array.from({ length: n }, (_, i) => {
    const d = join(root, `r${i + 1}`);
    mkdirSync(d, { mode: 0o700 });
    copyFileSync(join(keyDir, LEDGER_KEY_FILE), join(d, LEDGER_KEY_FILE));
    chmodSync(join(d, LEDGER_KEY_FILE), 0o600);
    return d;
  });
  const config = (c: WardenConfig) => {
    c.store = { postgres: { connectionString: PG_URL, prefix }, redis: { url: 'redis://127.0.0.1:6379', prefix: `${prefix}:` } };
    c.encryption.kek = { file: kek };
    // Behind a load balancer every replica names the one origin clients call (token iss/aud).
    c.listeners.inference.publicUrl = 'https://gateway.test';
    mutate(c);
  };
  const started = await Promise.allSettled(dirs.map((dataDir) => startTestWarden(config, { dataDir, ...(opts.clock ? { clock: opts.clock } : {}) })));
  const replicas = started.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
  const stop = async () => {
    await Promise.allSettled(replicas.map((r) => r.stop()));
    await dropPgPrefix(prefix);
    const r = new Redis();
    const keys = await r.keys(`${prefix}:*`);
    if (keys.length) await r.del(...keys);
    r.disconnect();
    rmSync(root, { recursive: true, force: true });
  };
  const failed = started.find((s): s is PromiseRejectedResult => s.status === 'rejected');
  if (failed) {
    await stop();
    throw failed.reason;
  }
  const bootstrap = replicas.map((r) => r.w.bootstrapKey).filter((k): k is string => k !== null);
  const adminKey = bootstrap[0] ?? '';
  const adminOk: TestCluster['adminOk'] = async (r, method, path, body) => {
    const res = await r.call('admin', method, path, { key: adminKey, ...(body !== undefined ? { body } : {}) });
    assert.ok(res.status < 300, `${method} ${path}: ${res.status} ${res.text}`);
    return res.json;
  };
  return { prefix, root, ledgerKey, replicas, adminKey, adminOk, stop };
}

/** Polls `probe` until it returns true or a second passes; returns the milliseconds it took (or fails). */
export async function withinOneSecond(what: string, probe: () => Promise<boolean>): Promise<number> {
  const started = Date.now();
  while (!(await probe())) {
    if (Date.now() - started > 1000) assert.fail(`${what}: not within one second`);
    await new Promise((r) => setTimeout(r, 20));
  }
  return Date.now() - started;
}
