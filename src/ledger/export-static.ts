// Publishes the log as static files (c2sp tlog-tiles): <dir>/checkpoint and <dir>/tile/..., servable by
// any web server and readable by `warden audit verify --log <dir>` (with `witnessed-checkpoint` when given).
import { existsSync } from 'node:fs';
import { mkdir, rename, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { Ledger } from './ledger.js';
import { tilePath, tilesForSize, TILE_WIDTH } from './tiles.js';

export interface ExportResult {
  size: number;
  written: number;
  skipped: number;
}

/**
 * Writes every tile and entry bundle of the latest checkpoint, then the checkpoint itself (last, by
 * rename) so a reader never sees a checkpoint whose tiles are not there yet. Full tiles are immutable and
 * skipped when already present, so repeated exports are incremental.
 */
export interface ExportOptions {
  /** The witnessed checkpoint (WitnessSubmitter.witnessedCheckpoint()), published as `witnessed-checkpoint`. */
  witnessedCheckpoint?: string | null;
}

export async function exportStatic(ledger: Ledger, dir: string, opts: ExportOptions = {}): Promise<ExportResult> {
  const cp = ledger.latestCheckpoint();
  let written = 0;
  let skipped = 0;
  for (const ref of tilesForSize(cp.size)) {
    const file = join(dir, tilePath(ref));
    if (ref.width === TILE_WIDTH && existsSync(file)) {
      skipped++;
      continue;
    }
    const data = await ledger.readTile(ref);
    await mkdir(dirname(file), { recursive: true });
    await writeFile(file + '.tmp', data);
    await rename(file + '.tmp', file);
    written++;
  }
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, 'checkpoint.tmp'), cp.note);
  await rename(join(dir, 'checkpoint.tmp'), join(dir, 'checkpoint'));
  if (opts.witnessedCheckpoint) {
    await writeFile(join(dir, 'witnessed-checkpoint.tmp'), opts.witnessedCheckpoint);
    await rename(join(dir, 'witnessed-checkpoint.tmp'), join(dir, 'witnessed-checkpoint'));
  }
  return { size: cp.size, written, skipped };
}
