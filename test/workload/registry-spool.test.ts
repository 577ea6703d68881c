// Offline `warden model` transitions reach the ledger through the gateway's spool ingestion.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { canonicalJson } from '../../src/core/canonical-json.js';
import { auditEvent } from '../../src/core/audit-event.js';
import { startTestWarden } from '../helpers/warden.js';

test('spooled registry transitions are appended to the ledger once, in order, at start and on refresh', async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'warden-spool-'));
  const spool = join(dataDir, 'registry-audit.jsonl');
  const ev = (action: string, n: number) =>
    canonicalJson(auditEvent({ time: new Date(Date.UTC(2026, 10, 22, 10, 0, n)).toISOString(), requestId: `req_spool_${n}`, kind: 'control', action, decision: 'allow', status: 200 })) + '\n';
  appendFileSync(spool, ev('model.register', 1) + ev('model.promote', 2));
  const t = await startTestWarden((c) => {
    c.workload.refreshIntervalMs = 100;
  }, { dataDir });
  try {
    const moved = () => t.audits().filter((a) => String(a.requestId).startsWith('req_spool_')).map((a) => a.action);
    const until = async (n: number) => {
      for (let i = 0; i < 100 && moved().length < n; i++) await new Promise((r) => setTimeout(r, 50));
    };
    await until(2);
    assert.deepEqual(moved(), ['model.register', 'model.promote']);
    appendFileSync(spool, ev('model.quarantine', 3) + '{"partial": ');
    await until(3);
    await new Promise((r) => setTimeout(r, 300)); // a few more refreshes: nothing is appended twice, the partial line waits
    assert.deepEqual(moved(), ['model.register', 'model.promote', 'model.quarantine']);
  } finally {
    await t.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
});
