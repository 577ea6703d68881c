// Cluster mode: the ledger in PostgreSQL, appended to by every replica. Skips with a printed reason when PostgreSQL is
// not running (never in CI).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import { randomBytes } from 'node:crypto';
import { chmodSync, copyFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { requireService } from '../helpers/services.js';
import { startTestWarden } from '../helpers/warden.js';
import { verifyReceipt } from '../../src/ledger/receipt.js';
import type { WardenConfig } from '../../src/config/config.js';

const PG = 'postgres://postgres@127.0.0.1:5432/test';

test('warden up with ledger.postgres: receipts verify, a second replica appends to the same tree, restart resumes it', async (t) => {
  const skip = await requireService('postgres');
  if (skip) return t.skip(skip);
  // Random, so a table left by an interrupted run (or another suite) is never reused.
  const prefix = `wgw_${randomBytes(5).toString('hex')}_`;
  const cfg = (c: WardenConfig) => {
    c.ledger.postgres = { connectionString: PG, prefix };
  };
  const dataDir = mkdtempSync(join(tmpdir(), 'warden-pg-'));
  let w = await startTestWarden(cfg, { dataDir });
  try {
    const { key } = await w.keyFor('pgu', ['demo-chat'], ['chat']);
    const r = await w.call('inference', 'POST', '/v1/chat/completions', { key, body: { model: 'demo-chat', messages: [{ role: 'user', content: 'x' }] } });
    assert.equal(r.status, 200);
    const { payload } = await verifyReceipt(String(r.headers['warden-receipt']), w.w.ledgerVerifierKey);
    const client = new pg.Client({ connectionString: PG });
    await client.connect();
    const rows = await client.query(`SELECT count(*)::int AS n FROM ${prefix}entries`);
    assert.ok(rows.rows[0].n > payload.leafIndex, 'the entry is in PostgreSQL');
    await client.end();
    // A second replica (sharing the ledger key, as cluster replicas must) starts and appends to the same tree.
    const other = mkdtempSync(join(tmpdir(), 'warden-replica-'));
    copyFileSync(join(dataDir, 'ledger-key.pem'), join(other, 'ledger-key.pem'));
    chmodSync(join(other, 'ledger-key.pem'), 0o600);
    const w2 = await startTestWarden(cfg, { dataDir: other });
    try {
      const { key: key2 } = await w2.keyFor('pgu2', ['demo-chat'], ['chat']);
      const r2 = await w2.call('inference', 'POST', '/v1/chat/completions', { key: key2, body: { model: 'demo-chat', messages: [{ role: 'user', content: 'y' }] } });
      assert.equal(r2.status, 200, r2.text);
      const second = await verifyReceipt(String(r2.headers['warden-receipt']), w.w.ledgerVerifierKey);
      assert.ok(second.payload.leafIndex > payload.leafIndex, 'the second replica extends the first one\'s tree');
    } finally {
      await w2.stop();
    }
    await w.stop();
    w = await startTestWarden(cfg, { dataDir });
    // ...and a replica with another ledger key refuses the tree it cannot vouch for.
    await w.stop();
    const stranger = mkdtempSync(join(tmpdir(), 'warden-stranger-'));
    await assert.rejects(startTestWarden(cfg, { dataDir: stranger }), /every replica appending to one log must use the same ledger key/);
    w = await startTestWarden(cfg, { dataDir });
    const cp = await w.call('admin', 'GET', '/audit/v1/checkpoint');
    assert.ok(Number(cp.text.split('\n')[1]) > payload.leafIndex, 'restart resumed the same tree');
  } finally {
    await w.stop();
    const client = new pg.Client({ connectionString: PG });
    await client.connect();
    await client.query(`DROP TABLE IF EXISTS ${prefix}entries, ${prefix}nodes, ${prefix}checkpoint`);
    await client.end();
  }
});
