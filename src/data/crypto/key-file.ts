// The one loader for secret key files in the data dir (data KEK, tenant KEKs, backup keys): 32 raw bytes,
// mode 0600. A file readable by group or others is refused (whoever can read it can read the data), and a key
// is only ever created with O_EXCL: an existing file is never overwritten, so a second start or a race can
// never replace a key that data is already sealed under.
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { KeyFileInsecure } from './errors.js';

export const KEY_BYTES = 32;

/** Reads a key file; refuses a group- or world-accessible one or one that is not 32 bytes. ENOENT is rethrown. */
export function readKeyFile(file: string): Buffer {
  const st = statSync(file);
  if (!st.isFile()) throw new KeyFileInsecure(`${file} is not a regular file`);
  if ((st.mode & 0o077) !== 0) throw new KeyFileInsecure(`${file} has mode ${(st.mode & 0o777).toString(8)}; a key file must be 600 (readable by its owner only)`);
  const key = readFileSync(file);
  if (key.length !== KEY_BYTES) throw new KeyFileInsecure(`${file} is not a ${KEY_BYTES}-byte key (${key.length} bytes)`);
  return key;
}

/** A new random key written with O_EXCL, or null when the path already exists. */
function createExclusive(file: string): Buffer | null {
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  const key = randomBytes(KEY_BYTES);
  try {
    writeFileSync(file, key, { mode: 0o600, flag: 'wx' });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') return null;
    throw e;
  }
  return key;
}

/** Creates a new random key file (mode 0600); refuses if the path exists. */
export function createKeyFile(file: string): Buffer {
  const key = createExclusive(file);
  if (!key) throw new KeyFileInsecure(`${file} already exists; a key file is never overwritten`);
  return key;
}

/** Reads the key file, or creates it when (and only when) it does not exist yet (a concurrent creator wins). */
export function loadOrCreateKeyFile(file: string): Buffer {
  try {
    return readKeyFile(file);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    return createExclusive(file) ?? readKeyFile(file);
  }
}
