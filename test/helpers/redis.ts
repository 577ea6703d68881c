// Redis for one test file: a key prefix of its own, connections closed and the prefix's keys deleted when the
// file's tests end, and whether Redis answers here (a skip reason outside CI; requireService fails in CI).
import { before, after } from 'node:test';
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { FailClosed, RateLimited } from '../../src/core/errors.js';
import { requireService } from './services.js';

export function redisTestConns(): { prefix: string; skip: () => string | false; conn: () => Redis } {
  let skip: string | false = false;
  const prefix = `warden-test:${randomUUID()}:`;
  const conns: Redis[] = [];
  const conn = () => {
    const r = new Redis({ host: '127.0.0.1', port: 6379, maxRetriesPerRequest: 1 });
    conns.push(r);
    return r;
  };
  before(async () => {
    skip = await requireService('redis');
  });
  after(async () => {
    if (!skip) {
      const r = conn();
      const keys = await r.keys(prefix + '*');
      if (keys.length) await r.del(...keys);
    }
    for (const r of conns) r.disconnect();
  });
  return { prefix, skip: () => skip, conn };
}

/** 'ok', or the code of the limit's refusal (429) or failure (503). */
export async function limitOutcome(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'ok';
  } catch (e) {
    return e instanceof RateLimited || e instanceof FailClosed ? e.code : String(e);
  }
}
