// A keyring whose platform KEK is a real key file in a fresh temp dir (removed at process exit).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Keyring, LocalFileKek } from '../../src/data/crypto/index.js';

export function tmpKeyring(): { keyring: Keyring; kekFile: string; dir: string } {
  const dir = mkdtempSync(join(tmpdir(), 'warden-kek-'));
  process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
  const kekFile = join(dir, 'data-kek.bin');
  return { keyring: new Keyring({ kek: LocalFileKek.open(kekFile, { create: true }) }), kekFile, dir };
}
