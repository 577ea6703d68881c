// Builds the keyring from `encryption` in warden.yaml. The platform KEK must open (Warden refuses to start
// otherwise); a tenant's own KEK that cannot be opened is that tenant's withdrawal: its data stays unreadable
// and nothing new of it is stored, while every other tenant is served.
import { join } from 'node:path';
import type { KekConfig, WardenConfig } from '../../config/config.js';
import type { KeyEncryptionKey } from './kek.js';
import { Keyring, WithdrawnKek } from './keyring.js';
import { LocalFileKek } from './local-kek.js';
import { Pkcs11Kek } from './pkcs11-kek.js';
import { VaultTransitKek } from './vault-transit-kek.js';

export const DATA_KEK_FILE = 'data-kek.bin';
/** The per-subject key store's default file in the data dir (src/store/subject-keys-store.ts); never in a backup. */
export const SUBJECT_KEYS_FILE = 'subject-keys.db';

/** Where the embedded per-subject key store is: `encryption.subjectKeys`, or `<dataDir>/subject-keys.db`. */
export function subjectKeysFile(config: Pick<WardenConfig, 'dataDir' | 'encryption'>): string {
  return config.encryption.subjectKeys ?? join(config.dataDir, SUBJECT_KEYS_FILE);
}

export function openKek(k: KekConfig, o: { create?: boolean; env?: NodeJS.ProcessEnv } = {}): KeyEncryptionKey {
  if ('file' in k) return LocalFileKek.open(k.file, { create: o.create ?? false });
  if ('vaultTransit' in k) return VaultTransitKek.open(k.vaultTransit, o.env);
  return Pkcs11Kek.open(k, o.env);
}

export function keyringFromConfig(config: Pick<WardenConfig, 'dataDir' | 'encryption'>, env: NodeJS.ProcessEnv = process.env): Keyring {
  const opened: KeyEncryptionKey[] = [];
  const open = (k: KekConfig, create = false) => {
    const kek = openKek(k, { create, env });
    opened.push(kek);
    return kek;
  };
  try {
    const kek = open(config.encryption.kek ?? { file: join(config.dataDir, DATA_KEK_FILE) }, !config.encryption.kek);
    const previous = config.encryption.previous.map((k) => open(k));
    const tenants = new Map<string, KeyEncryptionKey>();
    for (const [tenant, k] of Object.entries(config.encryption.tenants)) {
      try {
        tenants.set(tenant, open(k));
      } catch (e) {
        tenants.set(tenant, new WithdrawnKek(tenant, (e as Error).message));
      }
    }
    return new Keyring({ kek, previous, tenants });
  } catch (e) {
    for (const k of opened) k.close?.();
    throw e;
  }
}
