// Reads the key a piece of evidence binds. Evidence formats allow arbitrary bytes there (sample
// documents carry "dummy"); anything that is not a DER SubjectPublicKeyInfo or a PEM public key
// binds no usable key, which key release then refuses.
import { createPublicKey, type KeyObject } from 'node:crypto';

export function parseBoundPublicKey(bytes: Uint8Array | null): KeyObject | null {
  if (bytes === null || bytes.length === 0) return null;
  const buf = Buffer.from(bytes);
  try {
    if (buf.subarray(0, 32).toString('latin1').includes('-----BEGIN PUBLIC KEY-----')) {
      return createPublicKey({ key: buf.toString('latin1'), format: 'pem' });
    }
    return createPublicKey({ key: buf, format: 'der', type: 'spki' });
  } catch {
    return null;
  }
}
