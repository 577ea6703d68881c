// Reachability of the cluster backends. In CI (CI=true) a missing service is a failure;
// elsewhere the tests that need it skip with a printed reason.
import { connect } from 'node:net';

export function reachable(host: string, port: number, timeoutMs = 500): Promise<boolean> {
  return new Promise((res) => {
    const s = connect({ host, port });
    const done = (ok: boolean) => {
      s.destroy();
      res(ok);
    };
    s.setTimeout(timeoutMs, () => done(false));
    s.once('connect', () => done(true));
    s.once('error', () => done(false));
  });
}

/** Returns a skip reason (string) or false. Throws in CI when the service is missing. */
export async function requireService(name: 'postgres' | 'redis'): Promise<string | false> {
  const [host, port] = name === 'postgres' ? ['127.0.0.1', 5432] : ['127.0.0.1', 6379];
  if (await reachable(host, port)) return false;
  const reason = `${name} is not answering on ${host}:${port}`;
  if (process.env.CI === 'true') throw new Error(`${reason} (CI=true: cluster-backend tests must run)`);
  console.log(`# skipping ${name} tests: ${reason}`);
  return reason;
}
