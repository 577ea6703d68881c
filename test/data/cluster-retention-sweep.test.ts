// The retention sweep across replicas: two in-process Wardens on one PostgreSQL + Redis (shared retained payloads,
// a shared fixed clock the test moves) sweep at the same moment; one sweeps while the other waits on the
// PostgreSQL advisory lock and then finds nothing left, so each expired payload is recorded in exactly one
// `data.retention.expire` entry and deleted once. (Without the lock both count the same payloads and both record.)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import { FixedClock } from '../../src/core/clock.js';
import { requireService } from '../helpers/services.js';
import { PG_URL, startTestCluster } from '../helpers/cluster.js';
import type { TestWarden } from '../helpers/warden.js';

const HOUR = 3_600_000;

test('two replicas sweeping at once record each expired payload once', { timeout: 120_000 }, async (t) => {
  const skip = (await requireService('postgres')) || (await requireService('redis'));
  if (skip) return t.skip(skip);
  const clock = new FixedClock(Date.now());
  const cl = await startTestCluster(
    2,
    (c) => {
      c.ledger = { ...c.ledger, retainPayloads: true };
      c.placement = { ...c.placement, classes: { public: { retention: '1h' } } };
      c.monitor.enabled = false;
    },
    { clock },
  );
  t.after(() => cl.stop());
  const [a, b] = cl.replicas as [TestWarden, TestWarden];
  await cl.adminOk(a, 'POST', '/admin/v1/principals', { id: 'pat', tenant: 'acme', groups: ['consumers'] });
  const { key } = (await cl.adminOk(a, 'POST', '/admin/v1/keys', { principal: 'pat', models: ['demo-chat'], actions: ['chat'] })) as { key: string };
  for (const [i, r] of [a, b, a].entries()) {
    const res = await r.call('inference', 'POST', '/v1/chat/completions', { key, body: { model: 'demo-chat', messages: [{ role: 'user', content: `what time is lunch ${i}` }] } });
    assert.equal(res.status, 200, res.text);
  }
  const c = new pg.Client({ connectionString: PG_URL });
  await c.connect();
  t.after(() => c.end());
  const stored = async () => (await c.query(`SELECT count(*)::int AS n FROM ${cl.prefix}ledger_payloads`)).rows[0].n as number;
  assert.equal(await stored(), 6, 'request and response of three calls, in the shared store');

  assert.deepEqual(await Promise.all([a.w.sweepRetention(), b.w.sweepRetention()]), [null, null], 'nothing expired yet');
  clock.advance(2 * HOUR);
  const rounds = await Promise.all([a.w.sweepRetention(), b.w.sweepRetention()]);
  const swept = rounds.filter((r) => r !== null);
  assert.equal(swept.length, 1, `one replica swept, the other found nothing: ${JSON.stringify(rounds)}`);
  assert.equal(swept[0]!.payloads!.deleted, 6);
  const entries = [...a.audits(), ...b.audits()].filter((e) => e.action === 'data.retention.expire');
  assert.equal(entries.length, 1, 'one entry for the six payloads');
  assert.equal((entries[0]!.details as Record<string, unknown>)['payloads.deleted'], 6);
  assert.equal(await stored(), 0);
  // The one log agrees (every replica appends to the same PostgreSQL ledger).
  const inLedger = await c.query(`SELECT count(*)::int AS n FROM ${cl.prefix}ledger_entries WHERE position('data.retention.expire'::bytea IN entry) > 0`);
  assert.equal(inLedger.rows[0].n, 1);
});
