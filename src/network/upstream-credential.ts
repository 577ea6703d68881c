// Upstream credentials on a cadence: the secret Warden sends to an upstream model server (`Authorization: Bearer`)
// is read from a file a secret manager rewrites, or from a command's output (argv, no shell), at start and every
// `refreshMs`. A changed secret is used from the next request on (requests in flight keep the one they were sent
// with) and recorded in the ledger with a short fingerprint, never the secret. Overlap is the secret manager's and
// the upstream's part: the old secret must stay valid at the upstream for at least `refreshMs` after the new one
// is published, since Warden holds one secret per upstream and switches at its next read.
// Fail closed: a source that cannot be read (missing or empty file, a command that fails or times out) refuses the
// start, and at run time takes the upstream out of use (503 `upstream_credential_unavailable`) until a read
// succeeds — the secret may have been withdrawn because it leaked, and sending it on is what rotation is to stop.
import { execFile, execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import type { ApiKeySourceConfig } from '../config/config.js';
import { ConfigError } from '../config/config.js';

const COMMAND_TIMEOUT_MS = 10_000;
const MAX_SECRET_BYTES = 16 * 1024;

/** The first 12 hex digits of the secret's SHA-256: enough to match it with the secret manager's, not to use it. */
export function secretFingerprint(secret: string): string {
  return 'sha256:' + createHash('sha256').update(secret).digest('hex').slice(0, 12);
}

function checked(raw: string, what: string): string {
  const secret = raw.trim();
  if (secret === '') throw new Error(`${what} is empty`);
  if (secret.length > MAX_SECRET_BYTES || /[\r\n]/.test(secret)) throw new Error(`${what} is not one line of at most ${MAX_SECRET_BYTES} characters`);
  return secret;
}

const describe = (s: ApiKeySourceConfig): string => ('file' in s ? `the file ${s.file}` : `the command ${s.command[0]}`);

/** At start: the secret, or the start is refused. */
export function readApiKeySourceSync(upstream: string, s: ApiKeySourceConfig): string {
  try {
    const raw = 'file' in s ? readFileSync(s.file, 'utf8') : execFileSync(s.command[0]!, s.command.slice(1), { timeout: COMMAND_TIMEOUT_MS, maxBuffer: MAX_SECRET_BYTES + 2, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    return checked(raw, describe(s));
  } catch (e) {
    throw new ConfigError(`upstream ${upstream}: its secret could not be read from ${describe(s)} (${(e as Error).message.split('\n')[0]})`);
  }
}

export function readApiKeySource(s: ApiKeySourceConfig): Promise<string> {
  if ('file' in s) return readFile(s.file, 'utf8').then((raw) => checked(raw, describe(s)));
  return new Promise((resolve, reject) => {
    execFile(s.command[0]!, s.command.slice(1), { timeout: COMMAND_TIMEOUT_MS, maxBuffer: MAX_SECRET_BYTES + 2, encoding: 'utf8' }, (err, stdout) => {
      if (err) return reject(new Error(`${describe(s)} failed: ${err.message.split('\n')[0]}`));
      try {
        resolve(checked(stdout, describe(s)));
      } catch (e) {
        reject(e as Error);
      }
    });
  });
}

/** The part of an upstream target the rotation changes (src/network/upstream.ts). */
export interface RotatableCredential {
  name: string;
  setSecret(secret: string | null): void;
}

export interface CredentialRotationOptions {
  target: RotatableCredential;
  source: ApiKeySourceConfig;
  /** The secret read at start. */
  initial: string;
  record: (action: 'upstream.credential.rotate' | 'upstream.credential.unavailable' | 'upstream.credential.restored', ok: boolean, details: Record<string, string | number | boolean | null>) => void;
}

export class UpstreamCredentialRotation {
  private current: string;
  private failing = false;

  constructor(private readonly o: CredentialRotationOptions) {
    this.current = o.initial;
  }

  /** Reads the source once: unchanged, rotated, or failed (then the upstream is refused until a read succeeds). */
  async tick(): Promise<'unchanged' | 'rotated' | 'failed'> {
    let next: string;
    try {
      next = await readApiKeySource(this.o.source);
    } catch (e) {
      this.o.target.setSecret(null);
      if (!this.failing) this.o.record('upstream.credential.unavailable', false, { upstream: this.o.target.name, source: 'file' in this.o.source ? 'file' : 'command', error: (e as Error).message.slice(0, 300) });
      this.failing = true;
      return 'failed';
    }
    const wasFailing = this.failing;
    this.failing = false;
    this.o.target.setSecret(next);
    if (next === this.current) {
      if (wasFailing) this.o.record('upstream.credential.restored', true, { upstream: this.o.target.name, fingerprint: secretFingerprint(next) });
      return 'unchanged';
    }
    const previous = this.current;
    this.current = next;
    this.o.record('upstream.credential.rotate', true, { upstream: this.o.target.name, fingerprint: secretFingerprint(next), previous: secretFingerprint(previous) });
    return 'rotated';
  }
}
