// The CLI's client for the admin API: every admin verb goes through the API (the CLI holds no logic of its own).
import { readFileSync, existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Agent, request } from 'undici';

export interface AdminClientOptions {
  url: string;
  key: string;
  caPem: string;
  /** RFC 9470 step-up proof (a fresh OIDC token of the same person, amr mfa), sent as Warden-MFA-Token. */
  mfaToken?: string;
}

export class CliError extends Error {
  constructor(message: string, readonly exitCode = 1) {
    super(message);
  }
}

/** A file the operator named (`-` for standard input where allowed): unreadable is one line naming it, exit 2. */
export function readInputFile(path: string | 0, what: string): Buffer {
  try {
    return readFileSync(path);
  } catch (e) {
    throw new CliError(`cannot read ${what} ${path === 0 ? 'from standard input' : path}: ${(e as Error).message}`, 2);
  }
}

/** Resolves the admin URL, credential and CA from flags/environment (credentials never come from argv). */
export function adminClientOptions(flags: { 'data-dir'?: string | undefined; 'admin-url'?: string | undefined; 'mfa-token-file'?: string | undefined }): AdminClientOptions {
  const url = flags['admin-url'] ?? process.env.WARDEN_ADMIN_URL ?? 'https://127.0.0.1:9443';
  let key = process.env.WARDEN_ADMIN_KEY;
  if (!key && process.env.WARDEN_ADMIN_KEY_FILE) key = readFileSync(process.env.WARDEN_ADMIN_KEY_FILE, 'utf8').trim();
  if (!key) throw new CliError('no admin credential: set WARDEN_ADMIN_KEY (or WARDEN_ADMIN_KEY_FILE) to an admin API key', 2);
  const caPath = process.env.WARDEN_CA ?? join(resolve(flags['data-dir'] ?? './.warden'), 'ca.pem');
  if (!existsSync(caPath)) throw new CliError(`CA certificate not found at ${caPath}: pass --data-dir or set WARDEN_CA`, 2);
  // Admin actions need recent MFA under the starter policies: the step-up token comes from a file or the
  // environment, never from argv (it would show in the process list).
  const mfaFile = flags['mfa-token-file'] ?? process.env.WARDEN_MFA_TOKEN_FILE;
  let mfaToken = process.env.WARDEN_MFA_TOKEN || undefined;
  if (mfaFile) {
    if (!existsSync(mfaFile)) throw new CliError(`MFA token file not found: ${mfaFile}`, 2);
    mfaToken = readFileSync(mfaFile, 'utf8').trim();
  }
  return { url, key, caPem: readFileSync(caPath, 'utf8'), ...(mfaToken ? { mfaToken } : {}) };
}

export async function adminCall(o: AdminClientOptions, method: 'GET' | 'POST' | 'PUT' | 'DELETE', path: string, body?: unknown): Promise<unknown> {
  const dispatcher = new Agent({ connect: { ca: o.caPem, minVersion: 'TLSv1.3' } });
  try {
    const r = await request(o.url + path, {
      method,
      dispatcher,
      headers: {
        authorization: `Bearer ${o.key}`,
        ...(o.mfaToken ? { 'warden-mfa-token': o.mfaToken } : {}),
        ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
      },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    const text = await r.body.text();
    let json: unknown = null;
    try {
      json = JSON.parse(text);
    } catch {
      json = { raw: text };
    }
    if (r.statusCode >= 400) {
      const e = (json as { error?: { code?: string; message?: string } }).error;
      throw new CliError(`error ${r.statusCode} ${e?.code ?? ''}: ${e?.message ?? text}`);
    }
    return json;
  } catch (e) {
    if (e instanceof CliError) throw e;
    throw new CliError(`cannot reach the admin API at ${o.url}: ${(e as Error).message}`);
  } finally {
    await dispatcher.close();
  }
}
