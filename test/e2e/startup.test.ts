// Start-up that is refused loses nothing: the bootstrap credential is created only once a start has succeeded.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startTestWarden } from '../helpers/warden.js';
import { runWarden, startWardenProcess } from '../helpers/proc.js';
import { Agent, request } from 'undici';

function occupyPort(): Promise<{ server: Server; port: number }> {
  return new Promise((resolveP) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => resolveP({ server, port: (server.address() as { port: number }).port }));
  });
}

async function adminCanListPrincipals(t: Awaited<ReturnType<typeof startTestWarden>>): Promise<void> {
  assert.match(t.adminKey, /^wdn_/);
  const r = await t.call('admin', 'GET', '/admin/v1/principals', { key: t.adminKey });
  assert.equal(r.status, 200, r.text);
}

test('a first start refused on a busy port stores no credential: the next start prints a working one', async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'warden-startup-'));
  const busy = await occupyPort();
  try {
    await assert.rejects(
      startTestWarden((c) => (c.listeners.admin.port = busy.port), { dataDir }),
      new RegExp(`port 127\\.0\\.0\\.1:${busy.port} is already in use`),
    );
    await new Promise<void>((r) => busy.server.close(() => r()));
    const t = await startTestWarden(() => {}, { dataDir });
    try {
      await adminCanListPrincipals(t);
    } finally {
      await t.stop();
    }
    // Printed once: a later start shows none.
    const again = await startTestWarden(() => {}, { dataDir });
    try {
      assert.equal(again.w.bootstrapKey, null);
    } finally {
      await again.stop();
    }
  } finally {
    busy.server.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
});

test('a first start refused because an httpSignatures client names no principal: the next start prints a working credential', async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'warden-startup-'));
  const keyFile = join(dataDir, 'client.pub.pem');
  writeFileSync(keyFile, generateKeyPairSync('ed25519').publicKey.export({ type: 'spki', format: 'pem' }).toString());
  try {
    await assert.rejects(
      startTestWarden((c) => (c.httpSignatures.clients = [{ keyId: 'k1', publicKeyFile: keyFile, principal: 'svc-billing' }]), { dataDir }),
      /principal "svc-billing" \(keyId k1\) does not exist/,
    );
    const t = await startTestWarden(() => {}, { dataDir });
    try {
      await adminCanListPrincipals(t);
    } finally {
      await t.stop();
    }
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
});

function oneRefusalLine(stderr: string): string {
  const lines = stderr.split('\n').filter((l) => l.length > 0);
  assert.equal(lines.length, 1, stderr);
  assert.doesNotMatch(stderr, /^\s+at /m, 'no stack trace');
  assert.match(lines[0]!, /^warden: cannot start: /);
  return lines[0]!;
}

test('warden up: a config mistake is refused on one line, exit 2, no stack (WARDEN_DEBUG=1 adds it)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'warden-startup-'));
  const cfg = join(dir, 'warden.yaml');
  writeFileSync(cfg, `dataDir: ${join(dir, 'data')}\nlisteners:\n  inference: { port: 0 }\n  admin: { port: 0, mtls: sometimes }\n`);
  try {
    const r = await runWarden(['up', '--config', cfg]);
    assert.equal(r.code, 2);
    assert.match(oneRefusalLine(r.stderr), /warden\.yaml:4:\d+: \/listeners\/admin\/mtls: expected one of "off", "optional", "required"/);
    assert.doesNotMatch(r.stdout, /Bootstrap admin credential/);
    const debug = await runWarden(['up', '--config', cfg], { WARDEN_DEBUG: '1' });
    assert.equal(debug.code, 2);
    assert.match(debug.stderr, /^warden: cannot start: /);
    assert.match(debug.stderr, /^\s+at /m);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('warden up: a busy port is refused on one line, exit 1, no stack; the next start prints a working credential', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'warden-startup-'));
  const dataDir = join(dir, 'data');
  const cfg = join(dir, 'warden.yaml');
  const busy = await occupyPort();
  try {
    writeFileSync(cfg, `dataDir: ${dataDir}\nlisteners:\n  inference: { port: ${busy.port} }\n  admin: { port: 0 }\nlog: { level: warn }\n`);
    const r = await runWarden(['up', '--config', cfg]);
    assert.equal(r.code, 1, r.stderr);
    assert.equal(oneRefusalLine(r.stderr), `warden: cannot start: port 127.0.0.1:${busy.port} is already in use (set listeners.*.port in the config)`);
    assert.doesNotMatch(r.stdout, /wdn_/);
    writeFileSync(cfg, `dataDir: ${dataDir}\nlisteners:\n  inference: { port: 0 }\n  admin: { port: 0 }\nlog: { level: warn }\n`);
    const p = startWardenProcess(['up', '--config', cfg]);
    try {
      const [, admUrl] = await p.waitFor(/admin\s+(https:\/\/127\.0\.0\.1:\d+)/);
      const [adminKey] = await p.waitFor(/wdn_[A-Za-z0-9_-]{43}/);
      const agent = new Agent({ connect: { ca: readFileSync(join(dataDir, 'ca.pem'), 'utf8') } });
      const res = await request(`${admUrl}/admin/v1/principals`, { dispatcher: agent, headers: { authorization: `Bearer ${adminKey}` } });
      assert.equal(res.statusCode, 200, await res.body.text());
      await agent.close();
    } finally {
      await p.stop('SIGTERM');
    }
  } finally {
    busy.server.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('warden up: an oidc caFile that cannot be read is a config refusal naming the file (exit 2, one line)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'warden-startup-'));
  const cfg = join(dir, 'warden.yaml');
  writeFileSync(
    cfg,
    `dataDir: ${join(dir, 'data')}\nlisteners:\n  inference: { port: 0 }\n  admin: { port: 0 }\noidc:\n  issuers:\n    - { issuer: https://idp.example, audience: warden, discovery: true, caFile: missing-ca.pem }\n`,
  );
  try {
    const r = await runWarden(['up', '--config', cfg]);
    assert.equal(r.code, 2, r.stderr);
    assert.equal(oneRefusalLine(r.stderr), `warden: cannot start: oidc issuer "https://idp.example": caFile ${join(dir, 'missing-ca.pem')}: cannot read it (ENOENT)`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
