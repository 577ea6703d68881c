// The globals a model pickle may import. An ALLOWLIST: anything not here fails the scan, because
// unpickling imports and may call whatever the stream names (os.system, builtins.eval, ...).
// Entries are what PyTorch state dicts, NumPy arrays and plain containers need; they construct data
// and cannot run code of the stream's choosing. `_codecs.encode` is there because protocol-2
// pickles of bytes go through it (it only encodes a string).

const TORCH_REBUILD = [
  '_rebuild_tensor', '_rebuild_tensor_v2', '_rebuild_tensor_v3', '_rebuild_parameter', '_rebuild_parameter_with_state',
  '_rebuild_qtensor', '_rebuild_sparse_tensor', '_rebuild_nested_tensor', '_rebuild_device_tensor_from_numpy',
  '_rebuild_meta_tensor_no_storage',
];
const TORCH_STORAGES = [
  'FloatStorage', 'DoubleStorage', 'HalfStorage', 'BFloat16Storage', 'LongStorage', 'IntStorage', 'ShortStorage',
  'CharStorage', 'ByteStorage', 'BoolStorage', 'ComplexFloatStorage', 'ComplexDoubleStorage', 'QInt8Storage',
  'QUInt8Storage', 'QInt32Storage', 'QUInt4x2Storage', 'QUInt2x4Storage', 'UntypedStorage',
];
const TORCH_DTYPES = [
  'float32', 'float64', 'float16', 'bfloat16', 'int8', 'int16', 'int32', 'int64', 'uint8', 'bool', 'complex64',
  'complex128', 'float8_e4m3fn', 'float8_e5m2', 'qint8', 'quint8', 'qint32',
];

export const SAFE_GLOBALS: ReadonlySet<string> = new Set([
  'collections.OrderedDict',
  'collections.defaultdict',
  'torch.Size',
  'torch.device',
  'torch._tensor._rebuild_from_type_v2',
  'torch.nn.parameter.Parameter',
  ...TORCH_REBUILD.map((n) => `torch._utils.${n}`),
  ...TORCH_STORAGES.map((n) => `torch.${n}`),
  ...TORCH_DTYPES.map((n) => `torch.${n}`),
  'numpy.core.multiarray._reconstruct',
  'numpy.core.multiarray.scalar',
  'numpy._core.multiarray._reconstruct',
  'numpy._core.multiarray.scalar',
  'numpy.ndarray',
  'numpy.dtype',
  '_codecs.encode',
  // copyreg._reconstructor(cls, base, state) instantiates `cls`, which is itself a global the stream
  // must import, so it is checked on its own line.
  'copyreg._reconstructor',
  ...['object', 'set', 'frozenset', 'slice', 'range', 'complex', 'bytearray', 'dict', 'list', 'tuple', 'int', 'float', 'bool', 'str', 'bytes'].map(
    (n) => `builtins.${n}`,
  ),
]);

/** Known-dangerous modules, only to explain the refusal better; the decision is the allowlist. */
const DANGEROUS_MODULES: Record<string, string> = {
  os: 'runs operating-system commands and touches files',
  posix: 'runs operating-system commands',
  nt: 'runs operating-system commands',
  subprocess: 'starts processes',
  socket: 'opens network connections',
  runpy: 'runs Python modules',
  shutil: 'deletes and moves files',
  pty: 'spawns shells',
  sys: 'changes the interpreter',
  importlib: 'imports arbitrary code',
  pickle: 'unpickles nested attacker data',
  _pickle: 'unpickles nested attacker data',
  marshal: 'loads code objects',
  types: 'builds code and function objects',
  ctypes: 'calls native code',
  webbrowser: 'opens URLs',
  requests: 'makes network requests',
  urllib: 'makes network requests',
  httplib: 'makes network requests',
  'http.client': 'makes network requests',
  code: 'runs an interpreter',
  pdb: 'runs a debugger',
  asyncio: 'starts subprocesses and connections',
};
const DANGEROUS_BUILTINS = new Set(['eval', 'exec', 'compile', 'open', 'getattr', 'setattr', 'delattr', '__import__', 'globals', 'locals', 'vars', 'input', 'breakpoint', 'apply', 'execfile']);

/** Python 2 module names that `pickle` maps to Python 3 ones on load (Lib/_compat_pickle.py). */
const PY2_MODULES: Record<string, string> = { __builtin__: 'builtins', copy_reg: 'copyreg', exceptions: 'builtins' };

export function normalizeGlobal(module: string, name: string): string {
  return `${PY2_MODULES[module] ?? module}.${name}`;
}

/** Why a non-allowlisted global is refused, with severity. */
export function explainGlobal(global: string): { severity: 'critical' | 'high'; reason: string } {
  const dot = global.lastIndexOf('.');
  const module = global.slice(0, dot);
  const name = global.slice(dot + 1);
  if (module === 'builtins' && DANGEROUS_BUILTINS.has(name)) return { severity: 'critical', reason: `imports ${global}, which can run arbitrary code` };
  const top = module.split('.')[0]!;
  const why = DANGEROUS_MODULES[module] ?? DANGEROUS_MODULES[top];
  if (why) return { severity: 'critical', reason: `imports ${global}: ${top} ${why}` };
  return { severity: 'high', reason: `imports ${global}, which is not on the allowlist of safe globals` };
}
