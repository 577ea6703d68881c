// A KEK kept in a local key file (the default: <dataDir>/data-kek.bin). The file is checked again before every
// use, so removing it (or making it readable by others) withdraws the key at once, without a restart: what it
// protects becomes unreadable, which is what a tenant withdrawing its own key (BYOK) expects.
import { createCipheriv, createDecipheriv, createHmac, randomBytes } from 'node:crypto';
import { statSync } from 'node:fs';
import { EnvelopeTampered, KekUnavailable } from './errors.js';
import type { KeyEncryptionKey } from './kek.js';
import { KEY_BYTES, loadOrCreateKeyFile, readKeyFile } from './key-file.js';

const IV = 12;
const TAG = 16;

/** The KEK's id: a fingerprint of the key itself, so a different key at the same path is told apart. */
export function fileKekId(key: Buffer): string {
  return 'file:' + createHmac('sha256', key).update('warden kek id v1').digest('hex').slice(0, 16);
}

const aad = (context: string) => Buffer.from(`warden-kek-wrap:v1|${context}`);

export class LocalFileKek implements KeyEncryptionKey {
  readonly id: string;
  private key: Buffer;
  private stamp: string;

  private constructor(
    readonly file: string,
    key: Buffer,
  ) {
    this.key = key;
    this.id = fileKekId(key);
    this.stamp = LocalFileKek.stampOf(file);
  }

  /** Opens an existing key file (a tenant's KEK, a previous KEK), or creates it when `create` is set (the default KEK). */
  static open(file: string, o: { create?: boolean } = {}): LocalFileKek {
    return new LocalFileKek(file, o.create ? loadOrCreateKeyFile(file) : readKeyFile(file));
  }

  private static stampOf(file: string): string {
    const st = statSync(file);
    return `${st.ino}:${st.size}:${st.mtimeMs}:${st.mode}`;
  }

  /** The key as it is on disk now; gone, insecure or replaced is a withdrawal. */
  private current(): Buffer {
    let stamp: string;
    try {
      stamp = LocalFileKek.stampOf(this.file);
      if (stamp !== this.stamp) {
        const key = readKeyFile(this.file);
        if (fileKekId(key) !== this.id) throw new Error(`${this.file} now holds another key`);
        this.stamp = stamp;
        this.key = key;
      }
    } catch (e) {
      throw new KekUnavailable(`KEK ${this.id} (${this.file}) is withdrawn: ${(e as Error).message}`);
    }
    return this.key;
  }

  wrap(dataKey: Buffer, context: string): Promise<Buffer> {
    return Promise.resolve().then(() => {
      if (dataKey.length !== KEY_BYTES) throw new Error(`a data key is ${KEY_BYTES} bytes`);
      const iv = randomBytes(IV);
      const c = createCipheriv('aes-256-gcm', this.current(), iv);
      c.setAAD(aad(context));
      return Buffer.concat([iv, c.update(dataKey), c.final(), c.getAuthTag()]);
    });
  }

  unwrap(wrapped: Buffer, context: string): Promise<Buffer> {
    return Promise.resolve().then(() => {
      const key = this.current();
      if (wrapped.length !== IV + KEY_BYTES + TAG) throw new EnvelopeTampered(`wrapped key for ${context} has ${wrapped.length} bytes`);
      const d = createDecipheriv('aes-256-gcm', key, wrapped.subarray(0, IV));
      d.setAAD(aad(context));
      d.setAuthTag(wrapped.subarray(IV + KEY_BYTES));
      try {
        return Buffer.concat([d.update(wrapped.subarray(IV, IV + KEY_BYTES)), d.final()]);
      } catch {
        throw new EnvelopeTampered(`wrapped key for ${context} does not open with KEK ${this.id}`);
      }
    });
  }
}
