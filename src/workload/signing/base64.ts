// Strict base64 for signature material: DSSE (envelope.md) allows standard or URL-safe alphabets,
// with or without padding. Anything else is malformed rather than silently skipped by Buffer.from.

const STANDARD = /^[A-Za-z0-9+/]*={0,2}$/;
const URL_SAFE = /^[A-Za-z0-9_-]*={0,2}$/;

export function decodeBase64Strict(text: string, what: string, onError: (message: string) => Error): Buffer {
  if (typeof text !== 'string') throw onError(`${what} is not a string`);
  const urlSafe = !STANDARD.test(text);
  if (urlSafe && !URL_SAFE.test(text)) throw onError(`${what} is not base64`);
  const unpadded = text.replace(/=+$/, '');
  if (unpadded.length % 4 === 1) throw onError(`${what} has an impossible base64 length`);
  const bytes = Buffer.from(text, urlSafe ? 'base64url' : 'base64');
  // Round-trip check: rejects non-canonical trailing bits, which Buffer.from would quietly drop.
  const again = bytes.toString(urlSafe ? 'base64url' : 'base64').replace(/=+$/, '');
  if (again !== unpadded) throw onError(`${what} is not canonical base64`);
  return bytes;
}
