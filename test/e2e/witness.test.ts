// A second Warden witnesses the first: `warden witness` as its own process, `warden up` configured with
// ledger.witnesses, and `warden audit verify --min-witnesses 1` against the running gateway.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent, request } from 'undici';
import { loadOrCreateLedgerKey } from '../../src/ledger/key.js';
import { runWarden, startWardenProcess, type Started } from '../helpers/proc.js';

test('warden witness cosigns the checkpoints of warden up, and audit verify requires its cosignature', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'warden-witness-'));
  const procs: Started[] = [];
  try {
    const dataDir = join(dir, 'data');
    const witnessDir = join(dir, 'witness');
    const logVkey = loadOrCreateLedgerKey(dataDir).vkey;

    const k = await runWarden(['witness', 'key', '--data-dir', witnessDir, '--name', 'witness.test/w1']);
    assert.equal(k.code, 0, k.stderr);
    const witnessVkey = k.stdout.trim();
    assert.match(witnessVkey, /^witness\.test\/w1\+[0-9a-f]{8}\+B[A-Za-z0-9+/]{43}$/); // base64(0x04 || 32-byte key) starts with B
    const noLog = await runWarden(['witness', '--data-dir', witnessDir, '--port', '0']);
    assert.equal(noLog.code, 2);
    assert.match(noLog.stderr, /at least one --log-key is required/);
    const badName = await runWarden(['witness', 'key', '--data-dir', witnessDir, '--name', 'has space']);
    assert.equal(badName.code, 2);
    assert.match(badName.stderr, /^warden witness: witness key in .*: invalid witness name "has space"\n$/);

    const w = startWardenProcess(['witness', '--data-dir', witnessDir, '--name', 'witness.test/w1', '--port', '0', '--log-key', logVkey]);
    procs.push(w);
    const [, witnessUrl] = await w.waitFor(/listening at (http:\/\/127\.0\.0\.1:\d+)/);

    const cfg = join(dir, 'warden.yaml');
    writeFileSync(cfg, `dataDir: ${dataDir}\nlisteners:\n  inference: { port: 0 }\n  admin: { port: 0 }\nlog: { level: warn }\nledger:\n  witnessIntervalMs: 1000\n  witnesses:\n    - { name: w1, url: "${witnessUrl}", key: "${witnessVkey}" }\n`);
    const p = startWardenProcess(['up', '--config', cfg]);
    procs.push(p);
    const [, admUrl] = await p.waitFor(/admin\s+(https:\/\/127\.0\.0\.1:\d+)/);
    const [adminKey] = await p.waitFor(/wdn_[A-Za-z0-9_-]{43}/);
    const ca = readFileSync(join(dataDir, 'ca.pem'), 'utf8');
    const agent = new Agent({ connect: { ca } });
    // Some admin traffic so the log has entries, then wait for a cosigned checkpoint that covers them.
    const env = { WARDEN_ADMIN_KEY: adminKey!, WARDEN_ADMIN_URL: admUrl!, NODE_EXTRA_CA_CERTS: join(dataDir, 'ca.pem') };
    assert.equal((await runWarden(['principals', 'create', 'alice', '--groups', 'consumers', '--data-dir', dataDir], env)).code, 0);
    let witnessed = '';
    for (let i = 0; i < 100; i++) {
      const r = await request(`${admUrl}/audit/v1/witnessed-checkpoint`, { dispatcher: agent });
      const body = await r.body.text();
      if (r.statusCode === 200 && !/\n0\n/.test(body)) {
        witnessed = body;
        break;
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.match(witnessed, /\u2014 witness\.test\/w1 /u, 'the gateway serves a checkpoint cosigned by the witness');
    const metrics = async () => (await (await request(`${admUrl}/metrics`, { dispatcher: agent, headers: { authorization: `Bearer ${adminKey}` } })).body.text());
    const m = await metrics();
    assert.match(m, /warden_witness_submissions_total\{witness="w1",result="cosigned"\} [1-9]/);
    assert.match(m, /warden_witness_last_cosigned_timestamp_seconds\{witness="w1"\} \d{10}/);

    const ok = await runWarden(['audit', 'verify', '--log', `${admUrl}/audit/v1`, '--key', logVkey, '--witness', witnessVkey, '--min-witnesses', '1', '--max-witness-age', '600'], env);
    assert.equal(ok.code, 0, ok.stderr + ok.stdout);
    assert.match(ok.stdout, /cosigned by 1 witness\(es\): witness\.test\/w1/);

    // The witness refuses a log it does not follow.
    const stranger = await fetch(`${witnessUrl}/add-checkpoint`, { method: 'POST', body: 'old 0\n\nother.test/log\n1\n' + Buffer.alloc(32).toString('base64') + '\n\n\u2014 other.test/log AAAAAAAA\n' });
    assert.equal(stranger.status, 404);

    // A witness that goes away shows in the metrics as failed submissions (the gateway keeps serving).
    await w.stop();
    let failed = false;
    for (let i = 0; i < 60 && !failed; i++) {
      await new Promise((r) => setTimeout(r, 100));
      failed = /warden_witness_submissions_total\{witness="w1",result="failed"\} [1-9]/.test(await metrics());
    }
    await agent.close();
    assert.ok(failed, 'failed submissions are counted');
  } finally {
    for (const p of procs.reverse()) await p.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});
