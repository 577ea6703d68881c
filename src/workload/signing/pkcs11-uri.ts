// RFC 7512 PKCS#11 URIs, the subset that names a key: `pkcs11:token=T;object=O[;id=%01]` with query
// attributes `module-path`, `pin-value` or `pin-source`.
//   pkcs11:token=warden;object=model-signing?module-path=/usr/lib/softhsm/libsofthsm2.so&pin-source=file:/run/secrets/pin
import { readFileSync } from 'node:fs';
import { Pkcs11Unavailable } from './errors.js';

export interface Pkcs11KeyRef {
  modulePath: string;
  token: string;
  object: string | undefined;
  id: Buffer | undefined;
  pin: string;
}

const decode = (s: string) => {
  try {
    return decodeURIComponent(s);
  } catch {
    throw new Pkcs11Unavailable(`bad percent-encoding in PKCS#11 URI: ${s}`);
  }
};

/** `env` supplies WARDEN_PKCS11_PIN when the URI names no PIN (kept out of argv and shell history). */
export function parsePkcs11Uri(uri: string, env: NodeJS.ProcessEnv = process.env): Pkcs11KeyRef {
  if (!uri.startsWith('pkcs11:')) throw new Pkcs11Unavailable('a PKCS#11 key must be a pkcs11: URI (RFC 7512)');
  const [pathPart, queryPart = ''] = uri.slice('pkcs11:'.length).split('?', 2) as [string, string | undefined];
  const attrs: Record<string, string> = {};
  for (const a of pathPart.split(';').filter(Boolean)) {
    const eq = a.indexOf('=');
    if (eq <= 0) throw new Pkcs11Unavailable(`bad PKCS#11 URI attribute ${JSON.stringify(a)}`);
    attrs[a.slice(0, eq)] = decode(a.slice(eq + 1));
  }
  const query: Record<string, string> = {};
  for (const q of queryPart.split('&').filter(Boolean)) {
    const eq = q.indexOf('=');
    if (eq <= 0) throw new Pkcs11Unavailable(`bad PKCS#11 URI query ${JSON.stringify(q)}`);
    query[q.slice(0, eq)] = decode(q.slice(eq + 1));
  }
  const token = attrs.token;
  if (!token) throw new Pkcs11Unavailable('PKCS#11 URI must name the token (token=...)');
  if (!attrs.object && !attrs.id) throw new Pkcs11Unavailable('PKCS#11 URI must name the key (object=... or id=...)');
  const modulePath = query['module-path'] ?? env.WARDEN_PKCS11_MODULE;
  if (!modulePath) throw new Pkcs11Unavailable('PKCS#11 URI must give module-path (or set WARDEN_PKCS11_MODULE)');
  let pin = query['pin-value'];
  if (pin === undefined && query['pin-source'] !== undefined) {
    const src = query['pin-source'].replace(/^file:(\/\/)?/, '');
    try {
      pin = readFileSync(src, 'utf8').replace(/\r?\n$/, '');
    } catch (e) {
      throw new Pkcs11Unavailable(`cannot read pin-source ${src}: ${(e as Error).message}`);
    }
  }
  pin ??= env.WARDEN_PKCS11_PIN;
  if (pin === undefined) throw new Pkcs11Unavailable('no PIN: give pin-source in the URI or set WARDEN_PKCS11_PIN');
  const id = attrs.id !== undefined ? Buffer.from(attrs.id, 'latin1') : undefined;
  return { modulePath, token, object: attrs.object, id, pin };
}
