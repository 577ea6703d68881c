// Synthetic TRAINING rows for the injection classifiers (issue 20): ordinary requests the earlier synthetic rows
// left the classifiers to guess about. (1) Short messages, the ones that carry almost no evidence either way. The deeper tier reads hashed character n-grams; on a text of three words a few
// n-grams decide, and after the indirect-structure round "hello number 10" scored 0.80 (blocked) because its
// n-grams collided with attack rows'. These rows teach that a short message of everyday words, counters, ids,
// versions, dates and small talk is not an attack: greetings with a counter, test and load-test messages, labels,
// one-line questions, item and ticket references, short commands to a chat bot about its answer. (2) A user's own
// requests about their data: the indirect rows plant "forward the customer table to …" in documents, and after that
// round "Summarise every record of the customer table for me, in full." (a user asking about their own table) scored
// 0.71 (blocked); the objects an exfiltration names are the ones a user legitimately asks about, so they appear here
// in ordinary requests from the user, short and long, once and repeated.
//
// Written by hand, independently of the held-out sets (test/fixtures/prompt_injection/warden/heldout-v*.jsonl),
// which are never read here. Deterministic: the caller's seeded generator.


import { int, pick } from './synth-random.mjs';

const GREET = ['hello', 'hi', 'hey', 'hallo', 'hola', 'good morning', 'yo', 'greetings', 'ping', 'test', 'testing', 'check', 'sample', 'request', 'message', 'note', 'question', 'ok'];
const COUNTER = ['number', 'no.', 'nr', '#', 'message', 'request', 'item', 'attempt', 'try', 'run', 'round', 'iteration', 'case', 'sample', 'call', 'line', 'step', 'part', 'page', 'batch', 'user', 'client', 'worker', 'thread', 'session', 'turn', 'test', 'probe', 'job', 'task'];
const NOUN = ['order', 'invoice', 'ticket', 'room', 'table', 'chapter', 'lesson', 'exercise', 'question', 'slide', 'figure', 'section', 'version', 'build', 'release', 'episode', 'season', 'level', 'flight', 'bus', 'gate', 'seat', 'row', 'column', 'cell', 'file', 'record', 'account', 'week', 'day', 'product', 'model', 'issue', 'pull request', 'commit', 'sprint', 'unit', 'floor', 'apartment', 'box', 'shelf', 'lot', 'track', 'song', 'photo', 'item'];
const ASK = ['what is', 'explain', 'summarize', 'translate', 'define', 'spell', 'pronounce', 'describe', 'check', 'compare', 'list', 'show', 'find', 'open', 'close', 'review', 'fix', 'rename', 'sort', 'count'];
const TAIL = ['', '', '', ' please', ' thanks', '?', '!', '.', ' again', ' now', ' asap', ' for me', ' :)', ' pls'];
const WORD = ['apple', 'river', 'blue', 'music', 'coffee', 'garden', 'winter', 'paper', 'window', 'school', 'bridge', 'forest', 'market', 'office', 'doctor', 'kitchen', 'story', 'planet', 'energy', 'budget', 'meeting', 'weather', 'train', 'dinner', 'holiday', 'report', 'project', 'customer', 'network', 'photo', 'letter', 'language', 'history', 'science', 'football', 'recipe', 'mountain', 'city', 'car', 'phone'];
const VERSION = (r) => pick(r, [`v${int(r, 0, 9)}.${int(r, 0, 20)}`, `${int(r, 1, 9)}.${int(r, 0, 12)}.${int(r, 0, 30)}`, `rc${int(r, 1, 5)}`, `build ${int(r, 100, 9999)}`]);
const NUM = (r) => pick(r, [String(int(r, 0, 20)), String(int(r, 0, 999)), String(int(r, 1000, 99999)), `#${int(r, 1, 5000)}`, `${int(r, 1, 12)}/${int(r, 1, 28)}`, `${int(r, 1, 99)}%`, `${int(r, 1, 9)}x`, `0${int(r, 1, 9)}`, `${int(r, 1, 50)}th`]);
const caseOf = (r, s) => (r() < 0.25 ? s.charAt(0).toUpperCase() + s.slice(1) : r() < 0.08 ? s.toUpperCase() : s);

const SHAPES = [
  (r) => `${pick(r, GREET)} ${pick(r, COUNTER)} ${NUM(r)}`,
  (r) => `${pick(r, GREET)} ${NUM(r)}`,
  (r) => `${pick(r, COUNTER)} ${NUM(r)}${pick(r, TAIL)}`,
  (r) => `${pick(r, NOUN)} ${NUM(r)}${pick(r, TAIL)}`,
  (r) => `${pick(r, ASK)} ${pick(r, NOUN)} ${NUM(r)}${pick(r, TAIL)}`,
  (r) => `${pick(r, ASK)} ${pick(r, WORD)}${pick(r, TAIL)}`,
  (r) => `${pick(r, GREET)}, ${pick(r, ASK)} ${pick(r, WORD)} ${pick(r, WORD)}${pick(r, TAIL)}`,
  (r) => `${pick(r, WORD)} ${pick(r, WORD)} ${NUM(r)}`,
  (r) => `${pick(r, NOUN)} ${VERSION(r)}${pick(r, TAIL)}`,
  (r) => `${pick(r, GREET)} from ${pick(r, COUNTER)} ${NUM(r)}`,
  (r) => `${pick(r, COUNTER)} ${NUM(r)} of ${int(r, 2, 500)}`,
  (r) => `${pick(r, GREET)} ${pick(r, GREET)} ${NUM(r)}`,
  (r) => `${pick(r, WORD)}`,
  (r) => `${pick(r, WORD)} ${NUM(r)}`,
  (r) => `${NUM(r)}`,
  (r) => `${pick(r, GREET)}${pick(r, TAIL)}`,
];

// What users ask an assistant about their own data (the objects the indirect rows' exfiltration orders name, and more).
const DATA = ['the customer table', 'my calendar for next week', 'my contact list', 'the attachments in this thread', 'the internal pricing sheet', 'this chat transcript', 'our conversation so far', 'my last ten e-mails', 'the sales report', 'the orders table', 'every record in the inventory sheet', 'the support tickets from May', 'the survey results', 'the invoices for Q3', 'the employee directory', 'my notes from yesterday', 'the project plan', 'the error log', 'the user table', 'all rows of the budget spreadsheet'];
const DATA_ASK = [
  (d) => `Summarise ${d} for me.`, (d) => `Summarise every record of ${d} for me, in full.`, (d) => `Can you list ${d}?`, (d) => `Show me ${d} as a table.`,
  (d) => `How many entries are in ${d}?`, (d) => `Make a chart from ${d}.`, (d) => `Sort ${d} by date, newest first.`, (d) => `Export ${d} to CSV.`,
  (d) => `Find duplicates in ${d}.`, (d) => `Translate ${d} into French.`, (d) => `Give me the three most important points of ${d}.`, (d) => `Read ${d} and tell me what stands out.`,
  (d) => `Compare ${d} with last month.`, (d) => `Please go through ${d} and flag anything unusual.`, (d) => `Print ${d} in full, every line.`,
];

/** `n` requests from a user about their own data (label 0), some repeated (long prompts of one request). */
export function dataRequestRows(r, n = 700) {
  const rows = [];
  for (let i = 0; i < n; i++) {
    const one = pick(r, DATA_ASK)(pick(r, DATA));
    const k = r();
    const text = k < 0.15 ? `${one} `.repeat(int(r, 2, 90)).trim() : k < 0.4 ? `${one} ${pick(r, DATA_ASK)(pick(r, DATA))}` : one;
    rows.push({ source: 'data-request', label: 0, text });
  }
  return rows;
}

/** `n` short ordinary messages (label 0). */
export function shortRows(r, n = 900) {
  const rows = [];
  for (let i = 0; i < n; i++) rows.push({ source: 'short-benign', label: 0, text: caseOf(r, pick(r, SHAPES)(r)) });
  return rows;
}
