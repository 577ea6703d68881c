// The ledger on PostgreSQL (cluster mode): group commit, resume by another replica, reconnect after a lost
// connection, verifiable export. Several writers at once: postgres-writers.test.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { requireService } from '../helpers/services.js';
import { PostgresLedgerStore } from '../../src/store/ledger-postgres.js';
import { Ledger } from '../../src/ledger/ledger.js';
import { loadOrCreateLedgerKey } from '../../src/ledger/key.js';
import { verifyInclusion } from '../../src/ledger/merkle-verify.js';
import { exportStatic } from '../../src/ledger/export-static.js';
import { auditVerify } from '../../src/ledger/audit-verify.js';
import { inferenceEvent } from './events.js';
import { ORIGIN, tmpDir } from './helpers.js';

const URL_ = 'postgres://postgres@127.0.0.1:5432/test';

test('PostgreSQL ledger: group commit, resume on another replica, reconnect after a lost connection, verifiable export', async (t) => {
  const skip = await requireService('postgres');
  if (skip) return t.skip(skip);
  const prefix = `t${randomBytes(4).toString('hex')}_`;
  const dir = tmpDir();
  t.after(async () => {
    const c = new pg.Client({ connectionString: URL_ });
    await c.connect();
    await c.query(`DROP TABLE IF EXISTS ${prefix}entries, ${prefix}nodes, ${prefix}checkpoint`);
    await c.end();
    rmSync(dir, { recursive: true, force: true });
  });
  const key = loadOrCreateLedgerKey(dir, ORIGIN);
  const a = await Ledger.open({ store: await PostgresLedgerStore.connect({ connectionString: `${URL_}?application_name=${prefix}b`, prefix }), key });
  const results = await Promise.all(Array.from({ length: 300 }, (_, i) => a.append(inferenceEvent(i))));
  assert.deepEqual(results.map((r) => r.index), Array.from({ length: 300 }, (_, i) => i));
  assert.ok(new Set(results.map((r) => r.checkpoint.size)).size < 30, 'appends were group-committed');
  const cp = a.latestCheckpoint();
  for (const i of [0, 150, 299]) {
    const p = await a.inclusionProof(i);
    verifyInclusion(i, cp.size, Buffer.from(p.leafHash, 'base64'), p.hashes.map((h) => Buffer.from(h, 'base64')), cp.rootHash);
  }
  await a.close();
  // Another replica resumes the same tree.
  const b = await Ledger.open({ store: await PostgresLedgerStore.connect({ connectionString: `${URL_}?application_name=${prefix}b`, prefix }), key });
  assert.equal(b.latestCheckpoint().note, cp.note);
  assert.equal((await b.append(inferenceEvent(300))).index, 300);
  const out = join(dir, 'export');
  await exportStatic(b, out);
  // Its sessions die while idle (failover, admin kill): the next batch reconnects, re-reads the committed
  // state under the lock and appends, without a restart.
  const admin = new pg.Client({ connectionString: URL_ });
  await admin.connect();
  const killed = await admin.query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1`, [`${prefix}b`]);
  assert.ok(killed.rowCount! >= 1);
  await admin.end();
  await new Promise((r) => setTimeout(r, 100));
  assert.equal((await b.append(inferenceEvent(301))).index, 301);
  await b.close();
  assert.equal((await auditVerify({ log: out, key: key.vkey })).size, 301);
});
