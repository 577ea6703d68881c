// Where a verifier reads a published log from: an HTTP(S) prefix (e.g. https://host/audit/v1) or a
// directory written by exportStatic. Both expose the same C2SP paths: checkpoint, tile/...
import { readFile } from 'node:fs/promises';
import { resolve, sep } from 'node:path';
import { TileInvalid } from './errors.js';
import type { FetchPath } from './tile-reader.js';

/** Resource absent from the published log (HTTP 404 or missing file). */
export class LogResourceMissing extends TileInvalid {}

export function openLogSource(log: string): FetchPath {
  if (/^https?:\/\//i.test(log)) {
    const base = log.replace(/\/+$/, '');
    return async (path) => {
      const res = await fetch(`${base}/${path}`, { headers: { 'accept-encoding': 'identity' } });
      if (res.status === 404) throw new LogResourceMissing('missing', `${path} is not published at ${base} (404)`);
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
