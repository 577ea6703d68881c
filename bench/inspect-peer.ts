// The peer injection detector the inspection benchmark compares with, loaded when installed.
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';

export type PeerScore = (text: string) => number;
export async function loadPeer(): Promise<{ name: string; score: PeerScore } | null> {
  const spec = '@andersmyrmel/vard';
  try {
    const mod = (await import(spec)) as { default: { moderate(): { threshold(n: number): { safeParse(s: string): { safe: boolean; threats?: { severity: number }[] } } } } };
    const v = mod.default.moderate().threshold(0);
    const version = (JSON.parse(readFileSync(resolve('node_modules/@andersmyrmel/vard/package.json'), 'utf8')) as { version: string }).version;
    return {
      name: `@andersmyrmel/vard ${version}`,
      score: (t) => {
        const r = v.safeParse(t);
        return r.safe ? 0 : Math.max(0, ...(r.threats ?? []).map((x) => x.severity));
      },
    };
  } catch {
    return null;
  }
}
