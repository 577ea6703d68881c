// kill -9 under load: every receipt a client received must be in the log after the crash, and the
// restarted gateway must resume the same tree (issue: "no entry whose response a client received is lost").
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent, request } from 'undici';
import { startWardenProcess, runWarden } from '../helpers/proc.js';
import { verifyReceipt } from '../../src/ledger/receipt.js';
import { Ledger } from '../../src/ledger/ledger.js';
import { loadOrCreateLedgerKey } from '../../src/ledger/key.js';
import { verifyInclusion } from '../../src/ledger/merkle-verify.js';
import { SqliteLedgerStore } from '../../src/store/ledger-sqlite.js';
import { openSqlite } from '../../src/store/sqlite.js';

test('SIGKILL under load loses no entry whose receipt a client received', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'warden-kill-'));
  const dataDir = join(dir, 'data');
  const cfg = join(dir, 'warden.yaml');
  writeFileSync(cfg, `dataDir: ${dataDir}\nlisteners:\n  inference: { port: 0 }\n  admin: { port: 0 }\nlog: { level: warn }\nlimits: { requestsPerSecond: 100000, burst: 100000, concurrency: 1000 }\n`);
  const p = startWardenProcess(['up', '--config', cfg]);
  const receipts: { receipt: string; body: string }[] = [];
  try {
    const [, infUrl] = await p.waitFor(/inference\s+(https:\/\/127\.0\.0\.1:\d+)\/v1/);
    const [, admUrl] = await p.waitFor(/admin\s+(https:\/\/127\.0\.0\.1:\d+)/);
    const [adminKey] = await p.waitFor(/wdn_[A-Za-z0-9_-]{43}/);
    const env = { WARDEN_ADMIN_KEY: adminKey!, WARDEN_ADMIN_URL: admUrl! };
    assert.equal((await runWarden(['principals', 'create', 'load', '--groups', 'consumers', '--data-dir', dataDir], env)).code, 0);
    const kc = await runWarden(['keys', 'create', '--principal', 'load', '--models', 'demo-chat', '--actions', 'chat', '--data-dir', dataDir], env);
    const key = kc.stdout.match(/wdn_[A-Za-z0-9_-]{43}/)![0];
    const agent = new Agent({ connect: { ca: readFileSync(join(dataDir, 'ca.pem'), 'utf8') } });
    let killed = false;
    const worker = async (w: number) => {
      for (let i = 0; !killed && i < 400; i++) {
        try {
          const r = await request(`${infUrl}/v1/chat/completions`, {
            method: 'POST',
            dispatcher: agent,
            headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
            body: JSON.stringify({ model: 'demo-chat', messages: [{ role: 'user', content: `worker ${w} request ${i}` }] }),
          });
          const body = await r.body.text();
          if (r.statusCode === 200) receipts.push({ receipt: String(r.headers['warden-receipt']), body });
        } catch {
          return; // the process died under us: that request got no response, so it proves nothing
        }
      }
    };
    const load = Promise.all(Array.from({ length: 12 }, (_, w) => worker(w)));
    while (receipts.length < 150) await new Promise((r) => setTimeout(r, 20));
    p.child.kill('SIGKILL');
    killed = true;
    await load;
    await p.stop();
    await agent.close().catch(() => {});
    assert.ok(receipts.length >= 150);

    // Reopen the store exactly as a restart would: Ledger.open refuses a tree that does not match its checkpoint.
    const key0 = loadOrCreateLedgerKey(dataDir);
    const ledger = await Ledger.open({ store: new SqliteLedgerStore(openSqlite(join(dataDir, 'ledger.db'))), key: key0 });
    try {
      const size = ledger.size;
      for (const { receipt, body } of receipts) {
        const { payload } = await verifyReceipt(receipt, key0.vkey);
        assert.ok(payload.leafIndex < size, `receipt leaf ${payload.leafIndex} beyond the recovered log size ${size}`);
        const proof = await ledger.inclusionProof(payload.leafIndex, size);
        assert.equal(proof.leafHash, payload.leafHash);
        verifyInclusion(payload.leafIndex, size, Buffer.from(payload.leafHash, 'base64'), proof.hashes.map((h) => Buffer.from(h, 'base64')), Buffer.from(proof.rootHash, 'base64'));
        assert.equal(payload.responseDigest, 'sha256:' + createHash('sha256').update(body).digest('hex'));
      }
    } finally {
      await ledger.close();
    }

    // And the gateway itself restarts on the same tree.
    const again = startWardenProcess(['up', '--config', cfg]);
    try {
      await again.waitFor(/inference\s+https:\/\/127\.0\.0\.1:\d+\/v1/);
    } finally {
      assert.equal(await again.stop(), 0);
    }
  } finally {
    await p.stop('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
});
