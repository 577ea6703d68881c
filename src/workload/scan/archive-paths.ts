// Member names that would land outside the extraction directory (zip-slip, CVE-2018-1002200 class):
// absolute paths, drive letters, `..` segments, and backslashes (a separator for Windows extractors).

export function archivePathProblem(name: string): string | undefined {
  if (name === '') return 'empty member name';
  if (name.includes('\0')) return 'member name contains NUL';
  if (name.includes('\\')) return 'member name contains a backslash (a path separator on Windows)';
  if (name.startsWith('/')) return 'absolute member path';
  if (/^[A-Za-z]:/.test(name)) return 'member path starts with a drive letter';
  if (name.split('/').includes('..')) return 'member path climbs out with ".."';
  return undefined;
}

/** For paths a model file points at (ONNX external data): relative, inside the model directory. */
export function relativePathProblem(path: string): string | undefined {
  const p = archivePathProblem(path);
  if (p) return p.replace('member ', '');
  return undefined;
}
