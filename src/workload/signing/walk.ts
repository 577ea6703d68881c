// Lists the files a model signature covers. Symlinks and special files are refused, because a
// signature over a link says nothing about what it points to at load time (model_signing's
// `allow_symlinks: false`).
import { lstat, readdir } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { ModelTreeRefused } from './errors.js';

export interface ModelFile {
  /** POSIX path relative to the model root; `.` when the model is a single file. */
  name: string;
  /** Absolute or caller-relative path on disk. */
  path: string;
  size: number;
}

/** True when `rel` is an ignored path or lies under one. */
export function isIgnored(rel: string, ignorePaths: readonly string[]): boolean {
  return ignorePaths.some((p) => {
    const q = p.replace(/\/+$/, '');
    return q !== '' && (rel === q || rel.startsWith(q + '/'));
  });
}

export async function listModelFiles(root: string, ignorePaths: readonly string[]): Promise<ModelFile[]> {
  const top = await lstat(root);
  if (top.isSymbolicLink()) throw new ModelTreeRefused(basename(root), 'the model path is a symlink');
  if (top.isFile()) return [{ name: '.', path: root, size: top.size }];
  if (!top.isDirectory()) throw new ModelTreeRefused(basename(root), 'not a regular file or directory');
  const out: ModelFile[] = [];
  const walk = async (dir: string, prefix: string): Promise<void> => {
    const names = (await readdir(dir)).sort();
    for (const n of names) {
      const rel = prefix === '' ? n : `${prefix}/${n}`;
      if (isIgnored(rel, ignorePaths)) continue;
      const full = join(dir, n);
      const st = await lstat(full);
      if (st.isSymbolicLink()) throw new ModelTreeRefused(rel, 'symlinks are not allowed in a signed model');
      if (st.isDirectory()) await walk(full, rel);
      else if (st.isFile()) out.push({ name: rel, path: full, size: st.size });
      else throw new ModelTreeRefused(rel, 'not a regular file');
    }
  };
  await walk(root, '');
  return out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}
