// A KEK held by HashiCorp Vault's transit secrets engine: the key never leaves Vault; Warden sends a data key to
// `POST /v1/<mount>/encrypt/<name>` and gets a `vault:vN:…` ciphertext back, and `…/decrypt/<name>` reverses it.
// The context is Vault's key-derivation context (the transit key must be created with `derived=true`), so a
// wrapped key moved to another record derives another key and does not open. `…/rewrap/<name>` moves a wrapped key
// to the newest version of the transit key without Warden ever seeing the plaintext (Vault-side rotation).
// Fail closed: Vault unreachable, sealed, the token refused, or any answer that is not the expected JSON is
// KekUnavailable (503); a ciphertext Vault cannot authenticate under the context is EnvelopeTampered.
import { readFileSync } from 'node:fs';
import { Agent, request } from 'undici';
import { EnvelopeTampered, KekUnavailable } from './errors.js';
import type { KeyEncryptionKey } from './kek.js';

export interface VaultTransitConfig {
  /** Vault's address, e.g. https://vault.internal:8200 (http only for a loopback test server). */
  address: string;
  /** The transit engine's mount path (default `transit`). */
  mount?: string;
  /** The transit key's name (created with derived=true). */
  key: string;
  /** The environment variable holding the Vault token (never in the config file). */
  tokenEnv: string;
  /** A CA bundle for Vault's TLS certificate. */
  caFile?: string;
  /** Per-call timeout (default 5 s). */
  timeoutMs?: number;
}

const NAME_RE = /^[A-Za-z0-9_.-]{1,128}$/;
const MOUNT_RE = /^[A-Za-z0-9_.-]+(\/[A-Za-z0-9_.-]+)*$/;

export class VaultTransitKek implements KeyEncryptionKey {
  /** The key's identity is its mount and name in Vault; its versions live inside the ciphertexts (`vault:vN:`). */
  readonly id: string;
  private readonly base: string;
  private readonly dispatcher: Agent;

  private constructor(
    private readonly cfg: VaultTransitConfig,
    private readonly token: string,
  ) {
    const mount = cfg.mount ?? 'transit';
    this.id = `vault-transit:${mount}/${cfg.key}`;
    this.base = `${cfg.address.replace(/\/+$/, '')}/v1/${mount}`;
    const timeout = cfg.timeoutMs ?? 5000;
    this.dispatcher = new Agent({ connectTimeout: timeout, headersTimeout: timeout, bodyTimeout: timeout, ...(cfg.caFile ? { connect: { ca: readFileSync(cfg.caFile) } } : {}) });
  }

  /** Checks the configuration and reads the token; Vault itself is first asked on the first wrap or unwrap. */
  static open(cfg: VaultTransitConfig, env: NodeJS.ProcessEnv = process.env): VaultTransitKek {
    let url: URL;
    try {
      url = new URL(cfg.address);
    } catch {
      throw new KekUnavailable(`vault transit: address ${JSON.stringify(cfg.address)} is not a URL`);
    }
    const loopback = ['127.0.0.1', '[::1]', 'localhost'].includes(url.hostname);
    if (url.protocol !== 'https:' && !(url.protocol === 'http:' && loopback)) throw new KekUnavailable('vault transit: the address must be https (http only on loopback)');
    if (!NAME_RE.test(cfg.key) || !MOUNT_RE.test(cfg.mount ?? 'transit')) throw new KekUnavailable('vault transit: key and mount must be plain path segments');
    const token = env[cfg.tokenEnv];
    if (!token) throw new KekUnavailable(`vault transit: the token variable ${cfg.tokenEnv} is not set`);
    return new VaultTransitKek(cfg, token);
  }

  private async call(op: 'encrypt' | 'decrypt' | 'rewrap', body: Record<string, string>): Promise<Record<string, unknown>> {
    let status: number;
    let text: string;
    try {
      const r = await request(`${this.base}/${op}/${this.cfg.key}`, {
        method: 'POST',
        dispatcher: this.dispatcher,
        headers: { 'x-vault-token': this.token, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
      status = r.statusCode;
      text = await r.body.text();
    } catch (e) {
      throw new KekUnavailable(`vault transit ${op}: Vault did not answer (${(e as Error).message})`);
    }
    let json: { data?: Record<string, unknown>; errors?: unknown };
    try {
      json = JSON.parse(text) as typeof json;
    } catch {
      throw new KekUnavailable(`vault transit ${op}: Vault answered ${status} without JSON`);
    }
    const errors = Array.isArray(json.errors) ? json.errors.map(String).join('; ') : '';
    // Vault answers 400 for a ciphertext that does not open under the key and context: an altered or moved blob.
    if (op !== 'encrypt' && status === 400 && /message authentication failed|invalid ciphertext|unable to decrypt/i.test(errors)) {
      throw new EnvelopeTampered(`vault transit ${op}: the wrapped key does not open under its context (${errors})`);
    }
    if (status !== 200 || !json.data || typeof json.data !== 'object') throw new KekUnavailable(`vault transit ${op}: Vault answered ${status}${errors ? ` (${errors})` : ''}`);
    return json.data;
  }

  private static ciphertext(data: Record<string, unknown>, op: string): string {
    const c = data.ciphertext;
    if (typeof c !== 'string' || !/^vault:v[0-9]+:[A-Za-z0-9+/=]+$/.test(c)) throw new KekUnavailable(`vault transit ${op}: no ciphertext in Vault's answer`);
    return c;
  }

  private static parse(wrapped: Buffer): string {
    const c = wrapped.toString('utf8');
    if (!/^vault:v[0-9]+:[A-Za-z0-9+/=]+$/.test(c)) throw new EnvelopeTampered('vault transit: the wrapped key is not a Vault transit ciphertext');
    return c;
  }

  async wrap(dataKey: Buffer, context: string): Promise<Buffer> {
    const data = await this.call('encrypt', { plaintext: dataKey.toString('base64'), context: Buffer.from(context).toString('base64') });
    return Buffer.from(VaultTransitKek.ciphertext(data, 'encrypt'), 'utf8');
  }

  async unwrap(wrapped: Buffer, context: string): Promise<Buffer> {
    const data = await this.call('decrypt', { ciphertext: VaultTransitKek.parse(wrapped), context: Buffer.from(context).toString('base64') });
    const key = typeof data.plaintext === 'string' ? Buffer.from(data.plaintext, 'base64') : null;
    if (!key || key.length !== 32) throw new EnvelopeTampered('vault transit decrypt: the unwrapped data key is not 32 bytes');
    return key;
  }

  /** Moves a wrapped key to the newest version of the transit key (after a rotation in Vault); Warden never sees it. */
  async rewrap(wrapped: Buffer, context: string): Promise<Buffer> {
    const data = await this.call('rewrap', { ciphertext: VaultTransitKek.parse(wrapped), context: Buffer.from(context).toString('base64') });
    return Buffer.from(VaultTransitKek.ciphertext(data, 'rewrap'), 'utf8');
  }

  /** `warden data rewrap`: Vault's rewrap, kept only when it moved the key to a newer version (`vault:vN:`). */
  async rewrapInPlace(wrapped: Buffer, context: string): Promise<Buffer | null> {
    const moved = await this.rewrap(wrapped, context);
    const version = (b: Buffer) => /^vault:v([0-9]+):/.exec(b.toString('utf8'))![1];
    return version(moved) === version(wrapped) ? null : moved;
  }

  close(): void {
    void this.dispatcher.close();
  }
}
