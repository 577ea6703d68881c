import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import fc from 'fast-check';
import type { Finding } from '../../src/core/types.js';
import {
  createStreamCanaryDetector,
  detectCanary,
  InvalidCanary,
  makeCanary,
  StreamCanaryClosed,
  type Canary,
} from '../../src/inspect/index.js';

function streamed(text: string, cuts: number[], canary: Canary): { all: Finding[]; perChunk: Finding[][] } {
  const d = createStreamCanaryDetector(canary);
  const pos = [...new Set(cuts.map((c) => c % (text.length + 1)))].sort((a, b) => a - b);
  const perChunk: Finding[][] = [];
  let prev = 0;
  for (const p of [...pos, text.length]) {
    perChunk.push(d.push(text.slice(prev, p)));
    prev = p;
  }
  perChunk.push(d.flush());
  return { all: perChunk.flat(), perChunk };
}

test('a canary split across chunks is found at the chunk that completes it, with whole-stream offsets', () => {
  const c = makeCanary('dep-s1');
  const text = `Sure. The marker is ${c.token}, as asked.`;
  const at = text.indexOf(c.token);
  const { perChunk } = streamed(text, [at + 3, at + 9, at + 12], c);
  assert.deepEqual(perChunk[0], []);
  assert.deepEqual(perChunk[1], []);
  assert.deepEqual(perChunk[2], []);
  assert.deepEqual(perChunk[3], [{ category: 'output', type: 'canary_leak', start: at, end: at + c.token.length, confidence: 1 }]);
});

test('a spread-out, lower-cased canary dribbled one character per chunk is still found', () => {
  const c = makeCanary('dep-s2');
  const text = `leak: ${[...c.token.toLowerCase()].join(' \u200b')} done`;
  const { all } = streamed(text, Array.from({ length: text.length }, (_, i) => i), c);
  assert.equal(all.length, 1);
  assert.deepEqual(all, detectCanary(text, c));
});

test('property: for any chunking the stream detector reports exactly what detectCanary reports on the whole text', () => {
  // A real-shaped token, and one that overlaps itself (ABCAB is both prefix and suffix) so that the
  // left-to-right, non-overlapping order of detectCanary is put to the test.
  const cases: [Canary, string[]][] = [
    [{ deploymentId: 'd', token: 'WDNCABAB12AB' }, ['WDNC', 'wdnc', 'ABAB', 'abab', '12', 'AB', 'WDNCABAB12AB', 'W-D-N-C', ' ', '.', '\u200b', 'x', '9', 'é']],
    [{ deploymentId: 'd', token: 'ABCABCAB' }, ['ABC', 'AB', 'abc', 'C', 'ABCABCAB', ' ', '-', 'x']],
  ];
  for (const [c, pieces] of cases) {
    fc.assert(
      fc.property(fc.array(fc.constantFrom(...pieces), { maxLength: 40 }), fc.array(fc.nat({ max: 400 }), { maxLength: 30 }), (ps, cuts) => {
        const text = ps.join('');
        assert.deepEqual(streamed(text, cuts, c).all, detectCanary(text, c));
      }),
      { numRuns: 1000 },
    );
  }
});

test('the detector refuses a short token and a push after flush', () => {
  assert.throws(() => createStreamCanaryDetector({ deploymentId: 'd', token: 'ABC' }), InvalidCanary);
  const d = createStreamCanaryDetector(makeCanary('dep-s3'));
  assert.deepEqual(d.flush(), []);
  assert.throws(() => d.push('x'), StreamCanaryClosed);
});

test('after megabytes of clean stream a leak is still found at its whole-stream offset', () => {
  const c = makeCanary('dep-s4');
  const d = createStreamCanaryDetector(c);
  const chunk = 'abcdefghij0123456789 '.repeat(50);
  for (let i = 0; i < 2000; i++) assert.deepEqual(d.push(chunk), []);
  const [leak, ...rest] = d.push(c.token);
  assert.deepEqual(rest, []);
  assert.equal(leak!.start, 2000 * chunk.length);
  assert.equal(leak!.end, 2000 * chunk.length + c.token.length);
});
