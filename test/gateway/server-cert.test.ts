// The operator's own TLS certificate on a listener (listeners.*.tls) instead of the dev CA's: served with
// TLS 1.3, and a wrong key, an expired certificate or a readable key file stop the start with a clear error.
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect as tlsConnect } from 'node:tls';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { Agent, request } from 'undici';
import { issueServerCert, makeTestCa } from '../helpers/pki.js';
import { startWardenProcess } from '../helpers/proc.js';
import { startTestWarden } from '../helpers/warden.js';

test('an operator certificate is served; a wrong key, an expired certificate or a readable key refuse the start', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'warden-cert-'));
  const corp = await makeTestCa({ name: 'Acme Corp Issuing CA' });
  const write = (name: string, pem: string, mode = 0o600) => {
    const f = join(dir, name);
    writeFileSync(f, pem);
    chmodSync(f, mode);
    return f;
  };
  const good = await issueServerCert(corp, ['127.0.0.1', 'localhost']);
  const other = await issueServerCert(corp, ['127.0.0.1']);
  const expired = await issueServerCert(corp, ['127.0.0.1'], { notBefore: new Date(Date.now() - 10 * 86_400_000), notAfter: new Date(Date.now() - 86_400_000) });
  const certFile = write('server.pem', good.certPem);
  const keyFile = write('server-key.pem', good.keyPem);
  try {
    const t = await startTestWarden((c) => {
      c.listeners.inference.tls = { certFile, keyFile };
    });
    try {
      const { key } = await t.keyFor('cora', ['demo-chat'], ['chat'], { groups: ['consumers'] });
      const corpAgent = new Agent({ connect: { ca: corp.certPem } });
      const r = await request(`${t.w.inferenceUrl}/v1/models`, { headers: { authorization: `Bearer ${key}` }, dispatcher: corpAgent });
      assert.equal(r.statusCode, 200);
      await r.body.dump();
      await corpAgent.close();
      // The dev CA no longer vouches for the inference listener.
      await assert.rejects(t.call('inference', 'GET', '/v1/models', { key }), /certificate|self[- ]signed|unable to verify/i);
      // Rotation: new files, then a reload (warden up does it on SIGHUP); new connections get the new leaf.
      const port = Number(new URL(t.w.inferenceUrl).port);
      const served = () =>
        new Promise<string>((resolve, reject) => {
          const s = tlsConnect({ host: '127.0.0.1', port, ca: corp.certPem, minVersion: 'TLSv1.3' }, () => {
            resolve(s.getPeerCertificate().serialNumber);
            s.end();
          });
          s.on('error', reject);
        });
      const serial = (pem: string) => new X509Certificate(pem).serialNumber;
      assert.equal(await served(), serial(good.certPem));
      const next = await issueServerCert(corp, ['127.0.0.1', 'localhost']);
      write('server.pem', next.certPem);
      write('server-key.pem', next.keyPem);
      assert.deepEqual(t.w.reloadTls(), { reloaded: ['inference'] });
      assert.equal(await served(), serial(next.certPem));
      // A bad replacement is refused and the current certificate stays in service.
      write('server-key.pem', other.keyPem);
      assert.throws(() => t.w.reloadTls(), /is not the private key of the certificate/);
      assert.equal(await served(), serial(next.certPem));
      write('server-key.pem', next.keyPem);
    } finally {
      await t.stop();
    }
    const refused = async (tls: { certFile: string; keyFile: string }, why: RegExp) =>
      assert.rejects(
        startTestWarden((c) => {
          c.listeners.inference.tls = tls;
        }),
        why,
      );
    await refused({ certFile, keyFile: write('other-key.pem', other.keyPem) }, /is not the private key of the certificate/);
    await refused({ certFile: write('expired.pem', expired.certPem), keyFile: write('expired-key.pem', expired.keyPem) }, /expired on/);
    await refused({ certFile, keyFile: write('open-key.pem', good.keyPem, 0o644) }, /must not be readable by group or others/);
    await refused({ certFile: write('junk.pem', 'not a certificate'), keyFile }, /not a PEM certificate/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('warden up reloads rotated listener certificates on SIGHUP', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'warden-hup-'));
  const corp = await makeTestCa({ name: 'Acme Corp Issuing CA' });
  const first = await issueServerCert(corp, ['127.0.0.1']);
  const certFile = join(dir, 'server.pem');
  const keyFile = join(dir, 'server-key.pem');
  writeFileSync(certFile, first.certPem);
  writeFileSync(keyFile, first.keyPem, { mode: 0o600 });
  const cfg = join(dir, 'warden.yaml');
  writeFileSync(cfg, `dataDir: ${join(dir, 'data')}\nlisteners:\n  inference: { port: 0, tls: { certFile: ${certFile}, keyFile: ${keyFile} } }\n  admin: { port: 0 }\n`);
  const p = startWardenProcess(['up', '--config', cfg]);
  try {
    await p.waitFor(/Warden is running/);
    const next = await issueServerCert(corp, ['127.0.0.1']);
    writeFileSync(certFile, next.certPem);
    writeFileSync(keyFile, next.keyPem, { mode: 0o600 });
    p.child.kill('SIGHUP');
    await p.waitFor(/listener certificates reloaded/);
  } finally {
    assert.equal(await p.stop(), 0);
    rmSync(dir, { recursive: true, force: true });
  }
});
