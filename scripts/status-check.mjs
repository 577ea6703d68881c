#!/usr/bin/env node
// False alarms of the injection detector on short operational messages (issue 20): the check set
// test/fixtures/prompt_injection/benign/status/check.jsonl (scripts/status-messages.mjs; phrasings the training
// rows do not use, never trained or tuned on), at the block, flag and tool-result cuts, and the scores of the
// status lines that were refused as an agent's answer (the A2A SDK's cancel message and two paraphrases).
//
//   npx tsc -p . && node scripts/status-check.mjs [--list]
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const imp = async (p) => import(pathToFileURL(resolve('dist/src', p)).href);
const { detectInjection } = await imp('inspect/injection/detector.js');
const { INJECTION_BLOCK_CUT, INJECTION_FLAG_CUT, INJECTION_TOOL_RESULT_CUT } = await imp('core/injection-cuts.js');

const rows = readFileSync(resolve('test/fixtures/prompt_injection/benign/status/check.jsonl'), 'utf8').split('\n').filter((l) => l.trim() !== '').map((l) => JSON.parse(l));
const scored = rows.map((r) => ({ text: r.text, score: detectInjection(r.text).score })).sort((a, b) => b.score - a.score);
const over = (cut) => scored.filter((s) => s.score > cut).length;
const line = (name, cut) => `${name} ${cut}: ${over(cut)}/${scored.length} false alarms (FPR ${(over(cut) / scored.length).toFixed(3)})`;
process.stdout.write(`${[line('block', INJECTION_BLOCK_CUT), line('flag', INJECTION_FLAG_CUT), line('tool-result', INJECTION_TOOL_RESULT_CUT)].join('\n')}\n`);
const named = ['Task cancellation requested by user.', 'Task canceled by the user.', 'The user requested cancellation of the task.'];
for (const t of named) process.stdout.write(`${detectInjection(t).score.toFixed(3)}  ${JSON.stringify(t)}\n`);
const top = process.argv.includes('--list') ? scored : scored.filter((s) => s.score > INJECTION_FLAG_CUT);
for (const s of top) process.stdout.write(`  ${s.score.toFixed(3)}  ${JSON.stringify(s.text)}\n`);
