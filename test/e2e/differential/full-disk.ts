// A data dir on a small tmpfs that the test can fill for real (ENOSPC), and a confidential deployment so the
// attestation routes have something to serve. Needs root (mount); CI runs as root.
import { spawnSync } from 'node:child_process';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { closeSync, mkdirSync, mkdtempSync, openSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pemSigner } from '../../../src/workload/signing/keys.js';
import { signModel } from '../../../src/workload/signing/sign-model.js';
import { serializeBundle } from '../../../src/workload/signing/bundle.js';
import type { WardenConfig } from '../../../src/config/config.js';
import type { TestWarden } from '../../helpers/warden.js';
import { createNitroPki, forgeNitroDocument, pcrValues, type NitroPki } from '../../workload/attestation/nitro-forge.js';

export interface SmallDisk {
  dir: string;
  /** Writes zeros into a file until the filesystem refuses (ENOSPC), down to single bytes. */
  fill(): number;
  /** Deletes the filler, so the stores can close cleanly (a close on a full disk throws and leaves handles open). */
  free(): void;
  unmount(): void;
}

/** Mounts an 8 MiB tmpfs; returns the reason instead when mounting is not possible here. */
export function mountSmallDisk(): SmallDisk | { reason: string } {
  const dir = mkdtempSync(join(tmpdir(), 'warden-fulldisk-'));
  const r = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=8m', 'tmpfs', dir], { encoding: 'utf8' });
  if (r.status !== 0) {
    rmSync(dir, { recursive: true, force: true });
    return { reason: `mount -t tmpfs failed (${r.error?.message ?? (r.stderr.trim() || `exit ${r.status}`)}); needs root` };
  }
  return {
    dir,
    fill() {
      const fd = openSync(join(dir, 'filler'), 'w');
      let written = 0;
      try {
        for (const size of [1 << 20, 1 << 12, 1]) {
          const buf = Buffer.alloc(size);
          for (;;) {
            try {
              written += writeSync(fd, buf);
            } catch (e) {
              if ((e as NodeJS.ErrnoException).code === 'ENOSPC') break;
              throw e;
            }
          }
        }
      } finally {
        closeSync(fd);
      }
      return written;
    },
    free() {
      rmSync(join(dir, 'filler'), { force: true });
    },
    unmount() {
      spawnSync('umount', ['-l', dir]);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

const PCRS = pcrValues(0x44);

/** Config for confidential deployments: the test's signing key is trusted, the forged Nitro root too. */
export interface Confidential {
  configure(c: WardenConfig): void;
  /** Registers, keys and verifies a confidential deployment (admin API); returns its id. */
  deploy(t: TestWarden): Promise<string>;
  /** Body fields for /v1/attestation/key: a fresh challenge and evidence that binds it and an enclave key. */
  keyRequest(t: TestWarden, deployment: string): Promise<Record<string, unknown>>;
  cleanup(): void;
}

export async function confidentialSetup(): Promise<Confidential> {
  const tmp = mkdtempSync(join(tmpdir(), 'warden-diff-conf-'));
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const signerPub = join(tmp, 'signer.pub.pem');
  writeFileSync(signerPub, publicKey.export({ format: 'pem', type: 'spki' }));
  const modelDir = join(tmp, 'tiny-model');
  mkdirSync(modelDir);
  writeFileSync(join(modelDir, 'config.json'), JSON.stringify({ architectures: ['Tiny'], hidden_size: 8 }));
  const signed = await signModel(modelDir, pemSigner(privateKey.export({ format: 'pem', type: 'pkcs8' })));
  const pki: NitroPki = await createNitroPki(Date.now());
  const root = join(tmp, 'nitro-root.pem');
  writeFileSync(root, pki.rootPem);
  const enclave = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const spki = enclave.publicKey.export({ format: 'der', type: 'spki' });
  return {
    configure(c) {
      c.workload.trustedSigners = [signerPub];
      c.workload.attestation.nitroRoots = [root];
    },
    async deploy(t) {
      const referenceValues = Object.fromEntries(Object.entries(PCRS).map(([k, v]) => [`pcr${k}`, v.toString('hex')]));
      const adm = (path: string, body: unknown) => t.call('admin', 'POST', path, { key: t.adminKey, body });
      const reg = await adm('/admin/v1/models', { model: 'tiny-model', version: '1', upstream: 'http://127.0.0.1:9/v1', tier: 'onprem', region: 'eu', tenant: 'acme', signatureBundle: JSON.parse(serializeBundle(signed.bundle)), attestation: { type: 'nitro', referenceValues } });
      if (reg.status !== 201) throw new Error(`setup: register ${reg.status} ${reg.text}`);
      const id = reg.json.id as string;
      const key = await adm(`/admin/v1/models/${id}/key`, { key: randomBytes(32).toString('base64url') });
      if (key.status !== 201) throw new Error(`setup: model key ${key.status} ${key.text}`);
      const ver = await adm(`/admin/v1/models/${id}/verify`, { path: modelDir });
      if (ver.status !== 200) throw new Error(`setup: verify ${ver.status} ${ver.text}`);
      return id;
    },
    async keyRequest(t, deployment) {
      const ch = await t.call('inference', 'POST', '/v1/attestation/challenge', { body: { deployment } });
      if (ch.status !== 200) return { nonce: 'no-challenge-' + ch.status };
      const nonce = ch.json.nonce as string;
      const document = await forgeNitroDocument(pki, { timestamp: Date.now(), pcrs: PCRS, nonce: Buffer.from(nonce, 'hex'), publicKey: spki });
      return { nonce, evidence: { type: 'nitro', document: document.toString('base64') } };
    },
    cleanup() {
      rmSync(tmp, { recursive: true, force: true });
    },
  };
}
