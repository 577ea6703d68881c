// What the injection training scripts share: the public labelled files both classifiers learn from (their train
// splits, in test/fixtures/prompt_injection/normalized) and the command line (--dist, --out, --data).
import { resolve } from 'node:path';

export const FILES = ['setA_deepset.jsonl', 'setB_jackhhao.jsonl', 'extra_attack_pool.jsonl', 'benign_pool.jsonl'];

/** { dist, outFile, dataDir } from argv, with `defaultOut` as the weights file. */
export function trainingArgs(defaultOut, argv = process.argv.slice(2)) {
  const opt = (name, dflt) => {
    const i = argv.indexOf(name);
    return i === -1 ? dflt : argv[i + 1];
  };
  return {
    dist: resolve(opt('--dist', 'dist')),
    outFile: resolve(opt('--out', defaultOut)),
    dataDir: resolve(opt('--data', 'test/fixtures/prompt_injection/normalized')),
  };
}

/** Symmetric int8 quantization: weights[i] ≈ q[i] · scale. */
export function quantizeInt8(w) {
  let maxAbs = 0;
  for (const x of w) maxAbs = Math.max(maxAbs, Math.abs(x));
  const scale = maxAbs / 127;
  return { scale, q: Int8Array.from(w, (x) => Math.max(-127, Math.min(127, Math.round(x / scale)))) };
}
