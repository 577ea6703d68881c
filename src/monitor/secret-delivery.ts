// Where a rotated API key's new secret goes (monitor.rotation): a file for a secret manager to pick up, or a
// webhook. A webhook delivery is a POST over HTTPS of a JSON body signed with HMAC-SHA256 under a shared secret
// (`Warden-Signature: t=<unix seconds>,v1=<hex HMAC of "<t>.<body>">`, so a receiver checks the signature and the
// age, and a replayed delivery is recognised by `Warden-Delivery`), retried a bounded number of times with a
// doubling backoff; only a 2xx is a delivery. A channel that fails throws: the rotation then keeps the old key
// valid and revokes the undelivered successor (api-keys.ts, rotate), and the ledger records the failure.
import { createHmac, randomUUID } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Agent, request } from 'undici';
import type { Clock } from '../core/clock.js';

export interface RotatedSecret {
  principal: string;
  key: string;
  previous: string;
  secret: string;
  overlapDays: number;
}

export interface SecretChannel {
  readonly kind: 'file' | 'webhook';
  /** Hands the secret over; where it went (a file path, the URL). Throws when it could not. */
  deliver(s: RotatedSecret): Promise<string>;
}

/** `<dir>/<principal>.<keyId>.key`, mode 0600 in a 0700 directory, never overwriting. */
export function fileChannel(dir: string): SecretChannel {
  return {
    kind: 'file',
    async deliver(s) {
      mkdirSync(dir, { recursive: true, mode: 0o700 });
      const file = join(dir, `${s.principal}.${s.key}.key`);
      writeFileSync(file, s.secret + '\n', { mode: 0o600, flag: 'wx' });
      return file;
    },
  };
}

export interface WebhookChannelOptions {
  url: string;
  /** The HMAC key shared with the receiver. */
  signingSecret: string;
  /** Tries in all (1..10). */
  attempts: number;
  /** Wait before the second try; doubled each time. */
  backoffMs: number;
  timeoutMs: number;
  /** A CA (PEM) for the receiver's certificate, beside the system's. */
  caFile?: string;
  clock: Clock;
  /** How to wait between tries (tests pass one that does not). */
  sleep?: (ms: number) => Promise<void>;
}

/** The signature header a receiver checks: HMAC-SHA256 over `<t>.<body>`. */
export function signDelivery(secret: string, t: number, body: string): string {
  return `t=${t},v1=${createHmac('sha256', secret).update(`${t}.${body}`).digest('hex')}`;
}

export function webhookChannel(o: WebhookChannelOptions): SecretChannel {
  if (new URL(o.url).protocol !== 'https:') throw new Error('monitor.rotation.webhook.url must be https: the body carries a secret');
  if (o.signingSecret.length < 32) throw new Error('monitor.rotation.webhook: the signing secret must be at least 32 characters');
  if (!(Number.isInteger(o.attempts) && o.attempts >= 1 && o.attempts <= 10)) throw new Error('monitor.rotation.webhook.attempts must be 1..10');
  const dispatcher = new Agent({ connect: { minVersion: 'TLSv1.2', ...(o.caFile ? { ca: readFileSync(o.caFile, 'utf8') } : {}) } });
  const sleep = o.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  return {
    kind: 'webhook',
    async deliver(s) {
      const id = randomUUID();
      const body = JSON.stringify({ type: 'warden.key.rotated', delivery: id, principal: s.principal, key: s.key, previous: s.previous, overlapDays: s.overlapDays, secret: s.secret, at: new Date(o.clock.now()).toISOString() });
      let last = '';
      for (let i = 0; i < o.attempts; i++) {
        if (i > 0) await sleep(o.backoffMs * 2 ** (i - 1));
        const t = Math.floor(o.clock.now() / 1000);
        try {
          const r = await request(o.url, {
            method: 'POST',
            dispatcher,
            headers: { 'content-type': 'application/json', 'warden-delivery': id, 'warden-signature': signDelivery(o.signingSecret, t, body) },
            body,
            headersTimeout: o.timeoutMs,
            bodyTimeout: o.timeoutMs,
          });
          await r.body.dump();
          if (r.statusCode >= 200 && r.statusCode < 300) return o.url;
          last = `status ${r.statusCode}`;
        } catch (e) {
          last = (e as Error).message;
        }
      }
      throw new Error(`the webhook did not accept it after ${o.attempts} attempt(s): ${last}`);
    },
  };
}
