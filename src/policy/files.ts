// Policy-as-code directories: every matching file below a directory, in a stable (sorted) order so a
// set loads the same way on every machine.
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

export function filesUnder(dir: string, matches: (name: string) => boolean): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const name of readdirSync(d).sort()) {
      const p = join(d, name);
      if (statSync(p).isDirectory()) walk(p);
      else if (matches(name)) out.push(p);
    }
  };
  walk(dir);
  return out;
}
