// Where a verifier reads a published log from: an HTTP(S) prefix (e.g. https://host/audit/v1) or a
// directory written by exportStatic. Both expose the same C2SP paths: checkpoint, tile/...
import { readFile } from 'node:fs/promises';
import { resolve, sep } from 'node:path';
import { TileInvalid } from './errors.js';
import type { FetchPath } from './tile-reader.js';

/** Resource absent from the published log (HTTP 404 or missing file). */
export class LogResourceMissing extends TileInvalid {}
/** The server wants credentials for this resource (entry bundles are admin-only unless published openly). */
export class LogAccessDenied extends TileInvalid {}

export interface LogSourceOptions {
  /** Extra request headers for an HTTP log, e.g. an admin credential for the entry bundles. */
  headers?: Record<string, string>;
}

export function openLogSource(log: string, opts: LogSourceOptions = {}): FetchPath {
  if (/^https?:\/\//i.test(log)) {
    const base = log.replace(/\/+$/, '');
    return async (path) => {
      const res = await fetch(`${base}/${path}`, { headers: { 'accept-encoding': 'identity', ...(opts.headers ?? {}) } });
      if (res.status === 404) throw new LogResourceMissing('missing', `${path} is not published at ${base} (404)`);
      if (res.status === 401 || res.status === 403) {
        throw new LogAccessDenied('entries_need_credentials', `GET ${base}/${path} answered ${res.status}: the log's entries are readable by an admin allowed readAudit (set WARDEN_ADMIN_KEY, and WARDEN_MFA_TOKEN if your policies want MFA)`);
      }
      if (!res.ok) throw new TileInvalid('fetch_failed', `GET ${base}/${path} answered ${res.status}`);
      return Buffer.from(await res.arrayBuffer());
    };
  }
  const root = resolve(log);
  return async (path) => {
    const file = resolve(root, path);
    if (!file.startsWith(root + sep)) throw new TileInvalid('bad_path', `refusing path outside the log directory: ${path}`);
    try {
      return await readFile(file);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') throw new LogResourceMissing('missing', `${path} is not in ${root}`);
      throw e;
    }
  };
}
