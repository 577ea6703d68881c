// Start-up that is refused loses nothing: the bootstrap credential is created only once a start has succeeded.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startTestWarden } from '../helpers/warden.js';

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
