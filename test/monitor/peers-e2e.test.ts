// Peer groups through the real gateway: kim's everyday notes make the consumers' (and demo-chat's) baseline; lee,
// a new consumer with no history of its own, sends a prompt far longer than any consumer or demo-chat ever gets:
// a `monitor.peer_deviation` ledger entry names lee with the reasons, and lee's risk (the PDP's
// riskScorePermille, the admin view, the inventory's reasons) carries it; an admin reset forgets it.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startTestWarden } from '../helpers/warden.js';
import { startToolsWorld } from '../tools/fixtures.js';

test('a newcomer unlike its peers raises its risk with the reason; an operator reset forgets it', async (t) => {
  const w = await startTestWarden((c) => {
    c.monitor.baselines.minObservations = 10;
    c.monitor.baselines.reportAt = 0.3;
  });
  t.after(() => w.stop());
  const kim = (await w.keyFor('kim', ['*'], ['chat'])).key;
  const lee = (await w.keyFor('lee', ['*'], ['chat'])).key;
  const send = (key: string, content: string) => w.call('inference', 'POST', '/v1/chat/completions', { key, body: { model: 'demo-chat', messages: [{ role: 'user', content }] } });
  for (let i = 0; i < 12; i++) assert.equal((await send(kim, `note ${i}: the meeting moved to Tuesday`)).status, 200);
  assert.equal((await send(lee, 'note: lunch at noon')).status, 200, 'like its peers: nothing');
  const row = async () => ((await w.call('admin', 'GET', '/admin/v1/monitor', { key: w.adminKey })).json.data as { principal: string; risk: number; peerDeviation: { score: number; reasons: string[] } | null }[]).find((r) => r.principal === 'acme/user:lee')!;
  assert.equal((await row()).peerDeviation, null);

  assert.equal((await send(lee, 'Summarise every record of the customer table for me, in full. '.repeat(80))).status, 200);
  const r = await row();
  // The finding is appended to the ledger after the answer went out: wait for it.
  for (let i = 0; i < 100 && !w.audits().some((e) => e.action === 'monitor.peer_deviation'); i++) await new Promise((res) => setTimeout(res, 20));
  const entries = w.audits().filter((e) => e.action === 'monitor.peer_deviation') as { principal: { id: string }; details: { reasons: string } }[];
  assert.equal(entries.length, 1);
  assert.equal(entries[0]!.principal.id, 'lee');
  // The demo model echoes: the answer's tokens (in and out) are as far beyond the peers' and the model's as the prompt.
  assert.deepEqual(entries[0]!.details.reasons.split('; ').map((x) => x.replace(/ \d+/g, ' N')), [
    'peers acme/user[consumers]: prompt_length N > N × p99 N',
    'peers acme/user[consumers]: tokens_in N > N × p99 N',
    'peers acme/user[consumers]: tokens_out N > N × p99 N',
    'model:demo-chat: prompt_length N > N × p99 N',
    'model:demo-chat: tokens_in N > N × p99 N',
    'model:demo-chat: tokens_out N > N × p99 N',
  ]);
  assert.equal(r.peerDeviation!.score, 0.704, 'noisy-OR of 0.2, 0.15 and 0.2 per baseline, of the two baselines');
  assert.equal(r.risk, 0.352, 'peerWeight 0.5 × 0.704');
  const inv = (await w.call('admin', 'GET', '/admin/v1/inventory', { key: w.adminKey })).json;
  const leeInv = JSON.stringify(inv).includes('peers acme/user[consumers]: prompt_length');
  assert.ok(leeInv, 'the inventory names the reason');

  assert.equal((await w.call('admin', 'POST', '/admin/v1/monitor/acme%2Fuser%3Alee/reset', { key: w.adminKey })).status, 200);
  assert.equal((await row())?.peerDeviation ?? null, null);
});

test('tool calls: arguments far beyond what a tool and the caller\'s peers usually send are held against the caller', async (t) => {
  const w = await startToolsWorld({
    mutate: (c) => {
      c.monitor.baselines.minObservations = 10;
      c.monitor.baselines.reportAt = 0.3;
    },
  });
  t.after(() => w.stop());
  for (let i = 0; i < 12; i++) assert.equal((await w.invoke(w.keys.alice, 'fetch_doc', { doc_id: `d${i}` })).status, 200);
  assert.equal((await w.invoke(w.keys.carol, 'fetch_doc', { doc_id: 'q'.repeat(5_000) })).status, 200);
  const row = ((await w.t.call('admin', 'GET', '/admin/v1/monitor', { key: w.t.adminKey })).json.data as { principal: string; peerDeviation: { reasons: string[] } | null }[]).find((r) => r.principal === 'acme/user:carol')!;
  assert.deepEqual(row.peerDeviation!.reasons.map((r) => r.replace(/ \d+/g, ' N')), ['peers acme/user[consumers]: prompt_length N > N × p99 N', 'tool:fetch_doc: prompt_length N > N × p99 N']);
});
