import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parsePickle, scanPickle, TORCH_LEGACY_MAGIC } from '../../../src/workload/scan/pickle.js';
import { binUnicode, pkl, shortUnicode } from './fixtures.js';

const rules = (buf: Buffer) => scanPickle(buf, 'f.pkl').issues.map((i) => `${i.rule}:${i.severity}`);

test('a plain OrderedDict pickle (protocol 2) passes and its global is recorded', () => {
  const safe = pkl('\x80\x02ccollections\nOrderedDict\nq\x00)Rq\x01.');
  const r = scanPickle(safe, 'f.pkl');
  assert.deepEqual(r.issues, []);
  assert.deepEqual(r.globals, ['collections.OrderedDict']);
});

test('a PyTorch-style state dict (rebuild_tensor_v2 + BINPERSID storage) passes', () => {
  // {'w': _rebuild_tensor_v2(persistent_load(('storage', torch.FloatStorage, '0', 'cpu', 4)), 0, (4,), (1,), False, OrderedDict())}
  const buf = pkl(
    '\x80\x02}q\x00', shortUnicode('w'), 'ctorch._utils\n_rebuild_tensor_v2\nq\x01(',
    '(', shortUnicode('storage'), 'ctorch\nFloatStorage\nq\x02', shortUnicode('0'), shortUnicode('cpu'), 'K\x04tq\x03Q',
    'K\x00K\x04\x85K\x01\x85\x89ccollections\nOrderedDict\n)Rtq\x04Rq\x05s.',
  );
  const r = scanPickle(buf, 'data.pkl');
  assert.deepEqual(r.issues, []);
  assert.deepEqual(r.globals.sort(), ['collections.OrderedDict', 'torch.FloatStorage', 'torch._utils._rebuild_tensor_v2']);
});

test('os.system via GLOBAL (protocol 2) is critical', () => {
  const evil = pkl('\x80\x02cos\nsystem\nq\x00', binUnicode('id'), '\x85R.');
  const r = scanPickle(evil, 'evil.pkl');
  assert.equal(r.issues.length, 1);
  assert.equal(r.issues[0]!.rule, 'pickle.unsafe_global');
  assert.equal(r.issues[0]!.severity, 'critical');
  assert.match(r.issues[0]!.reason, /os\.system/);
});

test('posix.system in a protocol-0 pickle is critical', () => {
  assert.deepEqual(rules(pkl("cposix\nsystem\n(S'id'\ntR.")), ['pickle.unsafe_global:critical']);
});

test('builtins.eval through STACK_GLOBAL (protocol 4) is critical', () => {
  const evil = pkl('\x80\x04', shortUnicode('builtins'), '\x94', shortUnicode('eval'), '\x94\x93\x94', shortUnicode('1+1'), '\x85R.');
  assert.deepEqual(rules(evil), ['pickle.unsafe_global:critical']);
});

test('__builtin__.exec (Python 2 name) is mapped to builtins and refused', () => {
  const r = scanPickle(pkl("c__builtin__\nexec\n(S'x'\ntR."), 'f.pkl');
  assert.deepEqual(r.globals, ['builtins.exec']);
  assert.equal(r.issues[0]!.severity, 'critical');
});

test('STACK_GLOBAL whose strings come back from the memo is still resolved', () => {
  const evil = pkl('\x80\x04', shortUnicode('subprocess'), '\x94', shortUnicode('Popen'), '\x94', '0', '0', 'h\x00h\x01\x93', shortUnicode('id'), '\x85R.');
  const r = scanPickle(evil, 'f.pkl');
  assert.deepEqual(r.globals, ['subprocess.Popen']);
  assert.equal(r.issues[0]!.severity, 'critical');
});

test('STACK_GLOBAL on a value that is not a visible string fails closed', () => {
  const evil = pkl('\x80\x04', shortUnicode('os'), ')\x93N.');
  const r = scanPickle(evil, 'f.pkl');
  assert.equal(r.issues[0]!.rule, 'pickle.unresolved_global');
  assert.equal(r.issues[0]!.severity, 'critical');
});

test('INST subprocess.Popen, socket and runpy imports are refused', () => {
  assert.deepEqual(rules(pkl("(S'id'\nisubprocess\nPopen\n.")), ['pickle.unsafe_global:critical']);
  assert.deepEqual(rules(pkl('\x80\x02csocket\ncreate_connection\n)R.')), ['pickle.unsafe_global:critical']);
  assert.deepEqual(rules(pkl('\x80\x02crunpy\n_run_code\n)R.')), ['pickle.unsafe_global:critical']);
  assert.deepEqual(rules(pkl('\x80\x02cbuiltins\ngetattr\n)R.')), ['pickle.unsafe_global:critical']);
});

test('an unknown global is refused (allowlist, not denylist)', () => {
  const r = scanPickle(pkl('\x80\x02cmylib.models\nHelper\n)R.'), 'f.pkl');
  assert.equal(r.issues[0]!.severity, 'high');
  assert.match(r.issues[0]!.reason, /not on the allowlist/);
  assert.deepEqual(scanPickle(pkl('\x80\x02cmylib.models\nHelper\n)R.'), 'f.pkl', new Set(['mylib.models.Helper'])).issues, []);
});

test('EXT opcodes (copyreg extension registry) are refused', () => {
  assert.deepEqual(rules(pkl('\x80\x02\x82\x01)R.')), ['pickle.extension_code:critical']);
});

test('a second pickle hidden after the first is parsed too', () => {
  const two = Buffer.concat([pkl('\x80\x02}.'), pkl('\x80\x02cos\nsystem\n)R.')]);
  assert.deepEqual(rules(two), ['pickle.unsafe_global:critical']);
});

test('trailing bytes after the last pickle are refused', () => {
  assert.deepEqual(rules(pkl('\x80\x02}.', 'junk')), ['pickle.trailing_data:medium']);
});

test('unknown opcodes, truncation, stack underflow and bad protocols are malformed', () => {
  assert.deepEqual(rules(pkl('\x80\x02\xff.')), ['pickle.malformed:medium']);
  assert.deepEqual(rules(pkl('\x80\x02X\xff\x00\x00\x00ab')), ['pickle.malformed:medium']);
  assert.deepEqual(rules(pkl('\x80\x02R.')), ['pickle.malformed:medium']);
  assert.deepEqual(rules(pkl('\x80\x09}.')), ['pickle.malformed:medium']);
  assert.deepEqual(rules(pkl('\x80\x02h\x05.')), ['pickle.malformed:medium']);
  assert.throws(() => parsePickle(pkl('\x80\x02}}.')), /STOP/);
});

test('a legacy PyTorch file: all five pickles are scanned, raw tensor bytes after them are not', () => {
  const safe = Buffer.concat([
    TORCH_LEGACY_MAGIC,
    pkl('\x80\x02M\xe9\x03.'),
    pkl('\x80\x02}.'),
    pkl('\x80\x02ccollections\nOrderedDict\n)R.'),
    pkl('\x80\x02]q\x00', shortUnicode('0'), 'a.'),
    Buffer.from([0x80, 0x00, 0x01, 0x02, 0x03]),
  ]);
  const r = scanPickle(safe, 'pytorch_model.bin');
  assert.deepEqual(r.issues, []);
  assert.equal(r.pickles, 5);
  const evil = Buffer.concat([TORCH_LEGACY_MAGIC, pkl('\x80\x02M\xe9\x03.'), pkl('\x80\x02}.'), pkl('\x80\x02cos\nsystem\n)R.'), pkl('\x80\x02].')]);
  assert.deepEqual(rules(evil), ['pickle.unsafe_global:critical']);
});
