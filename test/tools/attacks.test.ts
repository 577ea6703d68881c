// The attack suite (issue 7): every attack stopped and recorded; benign work still completes (≥ 95%).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { FixedClock } from '../../src/core/clock.js';
import { startToolsWorld, type ToolsWorld } from './fixtures.js';
import { attackScenarios, benignScenarios } from './scenarios.js';

let w: ToolsWorld;
let x: ToolsWorld;
const clock = new FixedClock(Date.now());
before(async () => {
  w = await startToolsWorld();
  x = await startToolsWorld({ clock });
});
after(async () => {
  await w.stop();
  await x.stop();
});

test('attack suite: no attack succeeds, and every one is in the ledger', async () => {
  const results = await attackScenarios(w, { world: x, advance: (ms) => clock.advance(ms) });
  assert.ok(results.length >= 15, `only ${results.length} attacks ran`);
  for (const r of results) {
    assert.equal(r.succeeded, false, `attack succeeded: ${r.name}`);
    assert.ok(r.blockedBy, `no refusal recorded for ${r.name}`);
    assert.equal(r.recorded, true, `not in the ledger: ${r.name}`);
  }
});

test('benign scenarios complete (target ≥ 95%)', async () => {
  const results = await benignScenarios(w, 10);
  const done = results.filter((r) => r.succeeded && r.recorded).length;
  const failed = results.filter((r) => !(r.succeeded && r.recorded)).map((r) => r.name);
  assert.ok(done / results.length >= 0.95, `benign completion ${done}/${results.length}; failed: ${failed.join(', ')}`);
});
