// The console's pages. Each reads and changes Warden only through the admin API (call), so every action is
// the same PDP decision and the same ledger entry as the CLI's.
import type { ComponentChildren } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { call, stepUpHint } from './api.js';
import { entryBundle, servedVkey, verifyEntry, type EntryVerification } from './ledger.js';

type Row = Record<string, unknown>;

function useLoad<T>(load: () => Promise<T>, deps: unknown[] = []): { data: T | null; error: string; reload: () => void } {
  const [data, setData] = useState<T | null>(null);
  const [error, setError] = useState('');
  const [n, setN] = useState(0);
  useEffect(() => {
    load().then((d) => (setData(d), setError('')), (e) => setError(stepUpHint(e)));
  }, [n, ...deps]);
  return { data, error, reload: () => setN((x) => x + 1) };
}

/** A button's call: the status line says what was done (or why not, with the step-up hint), and the lists are read again. */
function useAct(...lists: { reload: () => void }[]): { msg: { error?: string; ok?: string }; act: (f: () => Promise<unknown>, ok: string) => Promise<void> } {
  const [msg, setMsg] = useState<{ error?: string; ok?: string }>({});
  const act = async (f: () => Promise<unknown>, ok: string) => {
    setMsg({});
    try {
      await f();
      setMsg({ ok });
      for (const l of lists) l.reload();
    } catch (e) {
      setMsg({ error: stepUpHint(e) });
    }
  };
  return { msg, act };
}

const cell = (v: unknown): string => (v === null || v === undefined ? '' : typeof v === 'object' ? JSON.stringify(v) : String(v));

function Table({ rows, columns, caption, actions }: { rows: Row[]; columns: string[]; caption: string; actions?: (r: Row) => ComponentChildren }) {
  if (rows.length === 0) return <p>No {caption.toLowerCase()}.</p>;
  return (
    <table>
      <caption class="skip">{caption}</caption>
      <thead>
        <tr>
          {columns.map((c) => <th scope="col" key={c}>{c}</th>)}
          {actions && <th scope="col">actions</th>}
        </tr>
      </thead>
      <tbody>
        {rows.map((r, i) => (
          <tr key={String(r.id ?? i)}>
            {columns.map((c) => <td key={c}>{cell(r[c])}</td>)}
            {actions && <td>{actions(r)}</td>}
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function Status({ error, ok }: { error?: string; ok?: string }) {
  return (
    <>
      {error && <p class="error" role="alert">{error}</p>}
      {ok && <p class="ok" role="status">{ok}</p>}
    </>
  );
}

/** Prometheus text: the sum of a counter by one label. */
function sumBy(metrics: string, name: string, label: string | null, filter: (labels: string) => boolean = () => true): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of metrics.split('\n')) {
    if (!line.startsWith(name + '{') && !line.startsWith(name + ' ')) continue;
    const m = /^[^{ ]+(?:\{([^}]*)\})? ([0-9.eE+-]+)$/.exec(line);
    if (!m) continue;
    const labels = m[1] ?? '';
    if (!filter(labels)) continue;
    const key = label ? (new RegExp(`${label}="([^"]*)"`).exec(labels)?.[1] ?? '') : 'all';
    out.set(key, (out.get(key) ?? 0) + Number(m[2]));
  }
  return out;
}

function Bars({ data, caption }: { data: Map<string, number>; caption: string }) {
  const rows = [...data.entries()].sort((a, b) => b[1] - a[1]).slice(0, 10);
  const max = Math.max(1, ...rows.map((r) => r[1]));
  if (rows.length === 0) return <p>No {caption.toLowerCase()} yet.</p>;
  return (
    <table>
      <caption>{caption}</caption>
      <tbody>
        {rows.map(([k, v]) => (
          <tr key={k}>
            <th scope="row">{k || '(none)'}</th>
            <td>
              <span class="bar" style={`width:${Math.round((v / max) * 200)}px`} aria-hidden="true" /> {v}
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

/** Entries per minute over the last 30 minutes, allowed above and refused below the axis (inline SVG, no library). */
function TrafficPlot({ entries }: { entries: Row[] }) {
  const minutes = 30;
  const now = Math.floor(Date.now() / 60_000);
  const allowed = new Array<number>(minutes).fill(0);
  const refused = new Array<number>(minutes).fill(0);
  for (const e of entries) {
    const m = Math.floor(Date.parse(String(e.time)) / 60_000);
    const i = minutes - 1 - (now - m);
    if (i < 0 || i >= minutes) continue;
    if (e.decision === 'allow') allowed[i]!++;
    else refused[i]!++;
  }
  const max = Math.max(1, ...allowed, ...refused);
  const w = 16;
  const h = 60;
  const label = `Ledger entries per minute over the last ${minutes} minutes: ${allowed.reduce((a, b) => a + b, 0)} allowed, ${refused.reduce((a, b) => a + b, 0)} refused`;
  return (
    <figure class="card">
      <svg role="img" aria-label={label} width={minutes * w} height={2 * h + 2} viewBox={`0 0 ${minutes * w} ${2 * h + 2}`}>
        <title>{label}</title>
        <line x1="0" y1={h + 1} x2={minutes * w} y2={h + 1} stroke="#57606a" />
        {allowed.map((v, i) => (v ? <rect key={'a' + i} x={i * w + 2} y={h - (v / max) * h} width={w - 4} height={(v / max) * h} fill="#1a7f37" /> : null))}
        {refused.map((v, i) => (v ? <rect key={'r' + i} x={i * w + 2} y={h + 2} width={w - 4} height={(v / max) * h} fill="#b42318" /> : null))}
      </svg>
      <figcaption>Per minute, last {minutes} minutes: allowed (green, above) and refused (red, below), from the latest ledger entries.</figcaption>
    </figure>
  );
}

async function recentEntries(max = 256): Promise<{ index: number; entry: Row; raw: Uint8Array }[]> {
  const size = Number((await (await fetch('/audit/v1/checkpoint')).text()).split('\n')[1]);
  const out: { index: number; entry: Row; raw: Uint8Array }[] = [];
  let tile = Math.floor((size - 1) / 256);
  while (tile >= 0 && out.length < max && size > 0) {
    const width = Math.min(256, size - tile * 256);
    const bundle = await entryBundle(tile, width);
    for (let i = bundle.length - 1; i >= 0 && out.length < max; i--) {
      out.push({ index: tile * 256 + i, raw: bundle[i]!, entry: JSON.parse(new TextDecoder().decode(bundle[i]!)) as Row });
    }
    tile--;
  }
  return out;
}

export function OverviewPage() {
  const m = useLoad(() => fetch('/metrics').then((r) => (r.ok ? r.text() : Promise.reject(new Error(`metrics: ${r.status}`)))));
  const recent = useLoad(() => recentEntries(256));
  const requests = m.data ? sumBy(m.data, 'warden_requests_total', 'status') : new Map<string, number>();
  const refusals = m.data ? sumBy(m.data, 'warden_decisions_total', 'stage', (l) => l.includes('decision="deny"')) : new Map<string, number>();
  const total = [...requests.values()].reduce((a, b) => a + b, 0);
  const denied = [...refusals.values()].reduce((a, b) => a + b, 0);
  const principals = new Map<string, number>();
  const models = new Map<string, number>();
  const reasons = new Map<string, number>();
  for (const { entry } of recent.data ?? []) {
    const p = (entry.principal as Row | undefined)?.id as string | undefined;
    if (p) principals.set(p, (principals.get(p) ?? 0) + 1);
    const r = entry.resource as Row | undefined;
    if (r?.type === 'Model') models.set(String(r.id), (models.get(String(r.id)) ?? 0) + 1);
    if (entry.decision === 'deny') reasons.set(String(entry.errorCode ?? 'denied'), (reasons.get(String(entry.errorCode ?? 'denied')) ?? 0) + 1);
  }
  return (
    <section>
      <h2>Overview</h2>
      <Status error={m.error || recent.error} />
      <div class="row">
        <div class="stat"><span>Inference requests</span><strong id="stat-requests">{total}</strong></div>
        <div class="stat"><span>Refused (all stages)</span><strong id="stat-refused">{denied}</strong></div>
        <div class="stat"><span>Recent ledger entries</span><strong>{recent.data?.length ?? 0}</strong></div>
      </div>
      <TrafficPlot entries={(recent.data ?? []).map((r) => r.entry)} />
      <div class="row">
        <div class="card"><Bars data={requests} caption="Requests by status" /></div>
        <div class="card"><Bars data={refusals} caption="Refusals by stage" /></div>
        <div class="card"><Bars data={reasons} caption="Refusals by reason (recent entries)" /></div>
        <div class="card"><Bars data={principals} caption="Top principals (recent entries)" /></div>
        <div class="card"><Bars data={models} caption="Top models (recent entries)" /></div>
      </div>
      <button type="button" onClick={() => (m.reload(), recent.reload())}>Refresh</button>
    </section>
  );
}

export function PrincipalsPage() {
  const principals = useLoad(() => call<{ data: Row[] }>('GET', '/admin/v1/principals'));
  const keys = useLoad(() => call<{ data: Row[] }>('GET', '/admin/v1/keys'));
  const { msg, act } = useAct(principals, keys);
  const [newKey, setNewKey] = useState('');
  const [effective, setEffective] = useState<Row | null>(null);
  const [form, setForm] = useState({ pid: '', pgroups: 'consumers', kprincipal: '', kmodels: '*', kactions: 'chat' });
  const set = (k: keyof typeof form) => (e: Event) => setForm({ ...form, [k]: (e.target as HTMLInputElement).value });
  const list = (s: string) => s.split(',').map((x) => x.trim()).filter(Boolean);
  return (
    <section>
      <h2>Principals &amp; keys</h2>
      <Status error={msg.error || principals.error || keys.error} ok={msg.ok} />
      <div class="row">
        <form class="card" onSubmit={(e) => (e.preventDefault(), void act(() => call('POST', '/admin/v1/principals', { id: form.pid, groups: list(form.pgroups) }), `principal ${form.pid} created`))}>
          <h3>New principal</h3>
          <label for="p-id">Principal id</label>
          <input id="p-id" value={form.pid} onInput={set('pid')} />
          <label for="p-groups">Groups (comma-separated)</label>
          <input id="p-groups" value={form.pgroups} onInput={set('pgroups')} />
          <p><button type="submit">Create principal</button></p>
        </form>
        <form
          class="card"
          onSubmit={(e) => {
            e.preventDefault();
            void act(async () => {
              const r = await call<Row>('POST', '/admin/v1/keys', { principal: form.kprincipal, models: list(form.kmodels), actions: list(form.kactions) });
              setNewKey(String(r.key));
            }, `key created for ${form.kprincipal}`);
          }}
        >
          <h3>New key</h3>
          <label for="k-principal">Principal</label>
          <input id="k-principal" value={form.kprincipal} onInput={set('kprincipal')} />
          <label for="k-models">Models (scope ceiling)</label>
          <input id="k-models" value={form.kmodels} onInput={set('kmodels')} />
          <label for="k-actions">Actions (scope ceiling)</label>
          <input id="k-actions" value={form.kactions} onInput={set('kactions')} />
          <p><button type="submit" class="primary">Create key</button></p>
        </form>
      </div>
      {newKey && (
        <div class="card" role="status">
          New key (shown once, store it now): <code class="key" id="new-key">{newKey}</code>
        </div>
      )}
      <h3>Principals</h3>
      <Table rows={principals.data?.data ?? []} columns={['id', 'kind', 'tenant', 'groups', 'admin', 'disabled_at']} caption="Principals" />
      <h3>Keys</h3>
      <Table
        rows={keys.data?.data ?? []}
        columns={['id', 'principal', 'hint', 'state', 'models', 'actions', 'last_used_at']}
        caption="Keys"
        actions={(r) =>
          r.state === 'revoked' ? null : (
            <>
              <button type="button" onClick={() => void act(async () => setEffective(await call('GET', `/admin/v1/keys/${r.id}/effective`)), `effective permissions of ${r.id}`)}>Effective</button>
              <button type="button" onClick={() => void act(async () => setNewKey(String((await call<Row>('POST', `/admin/v1/keys/${r.id}/rotate`, { grace: '1h' })).key)), `${r.id} rotated`)}>Rotate</button>
              <button type="button" onClick={() => confirm(`Revoke ${String(r.id)}?`) && void act(() => call('POST', `/admin/v1/keys/${r.id}/revoke`, {}), `${r.id} revoked`)}>Revoke</button>
            </>
          )
        }
      />
      {effective && (
        <div class="card">
          <h3>Effective permissions</h3>
          <pre tabIndex={0} aria-label="effective permissions">{JSON.stringify(effective, null, 2)}</pre>
        </div>
      )}
    </section>
  );
}

export function PoliciesPage() {
  const cur = useLoad(() => call<Row>('GET', '/admin/v1/policies'));
  const [textValue, setText] = useState<string | null>(null);
  const [msg, setMsg] = useState<{ error?: string; ok?: string }>({});
  const policies = (cur.data?.policies as Row[] | undefined) ?? [];
  // Each policy with its id, so an edited set keeps its ids (an id-less policy would be named by position).
  const liveText = policies.map((p) => (String(p.text).includes('@id(') ? String(p.text) : `@id(${JSON.stringify(p.id)})\n${String(p.text)}`)).join('\n\n');
  const edited = textValue ?? liveText;
  // Cedar validation as you type: the server parses and checks the text against the schema, installing nothing.
  const [tests, setTests] = useState<Row | null>(null);
  const [validation, setValidation] = useState<{ ok: boolean; text: string } | null>(null);
  useEffect(() => {
    if (textValue === null) return;
    const timer = setTimeout(() => {
      call<Row>('POST', '/admin/v1/policies/validate', { text: textValue }).then(
        (r) => setValidation({ ok: true, text: `valid: ${cell(r.policy_count)} policies` }),
        (e) => setValidation({ ok: false, text: stepUpHint(e) }),
      );
    }, 500);
    return () => clearTimeout(timer);
  }, [textValue]);
  const act = async (f: () => Promise<Row>, ok: (r: Row) => string) => {
    setMsg({});
    try {
      const r = await f();
      setMsg({ ok: ok(r) });
      cur.reload();
    } catch (e) {
      setMsg({ error: stepUpHint(e) });
    }
  };
  return (
    <section>
      <h2>Policies</h2>
      <Status error={msg.error || cur.error} ok={msg.ok} />
      <p>
        Live set <code id="live-version">{cell(cur.data?.live_version ?? cur.data?.set_version)}</code> · shadow <code id="shadow-version">{cell(cur.data?.shadow_version) || 'none'}</code>
      </p>
      <label for="policy-text">Cedar policy set (edit, then publish to shadow to see how decisions would differ)</label>
      <textarea id="policy-text" spellcheck={false} value={edited} onInput={(e) => setText((e.target as HTMLTextAreaElement).value)} />
      <p id="policy-validation" role="status" class={validation ? (validation.ok ? 'ok' : 'error') : ''}>{validation?.text ?? ''}</p>
      <p>
        <button type="button" onClick={() => void act(() => call('POST', '/admin/v1/policies/shadow', { text: edited }), () => 'published to shadow')}>Publish to shadow</button>
        <button type="button" class="primary" onClick={() => void act(() => call('POST', '/admin/v1/policies/promote', {}), (r) => `promoted: live is ${cell(r.setVersion ?? r.set_version)}`)}>Promote shadow</button>
        <button type="button" onClick={() => void act(() => call('DELETE', '/admin/v1/policies/shadow'), () => 'shadow stopped')}>Stop shadow</button>
        <button type="button" onClick={() => void act(async () => { const r = await call<Row>('POST', '/admin/v1/policies/test', { text: edited }); setTests(r); return r; }, (r) => `policy tests: ${cell(r.passed)} passed, ${cell(r.failed)} failed`)}>Run policy tests</button>
      </p>
      {tests && (
        <Table
          rows={((tests.results as Row[] | undefined) ?? []).filter((r) => !r.passed).map((r, i) => ({ id: i, file: r.file, name: r.name, problems: r.problems }))}
          columns={['file', 'name', 'problems']}
          caption="Failing policy tests"
        />
      )}
      <ChangedLines live={liveText} edited={edited} />
      {cur.data?.shadow_version ? <ShadowDiffs version={String(cur.data.shadow_version)} /> : null}
      <h3>Versions</h3>
      <Table
        rows={((cur.data?.versions as Row[] | undefined) ?? []).slice(0, 20).map((v) => ({ ...v, createdAt: typeof v.createdAt === 'number' ? new Date(v.createdAt).toISOString() : v.createdAt }))}
        columns={Object.keys(((cur.data?.versions as Row[] | undefined) ?? [])[0] ?? {}).filter((k) => k !== 'text').slice(0, 6)}
        caption="Policy versions"
        actions={(r) => <button type="button" onClick={() => void act(() => call('POST', '/admin/v1/policies/rollback', { version: r.version ?? r.setVersion ?? r.set_version }), () => 'rolled back')}>Roll back to this</button>}
      />
    </section>
  );
}

/** The edit against the live set, line by line (what a publish would add and remove). */
function ChangedLines({ live, edited }: { live: string; edited: string }) {
  if (live === edited) return null;
  const a = new Set(live.split('\n').map((l) => l.trimEnd()));
  const b = new Set(edited.split('\n').map((l) => l.trimEnd()));
  const added = [...b].filter((l) => l.trim() && !a.has(l));
  const removed = [...a].filter((l) => l.trim() && !b.has(l));
  return (
    <div class="card">
      <h3>Changes against live</h3>
      <pre tabIndex={0} aria-label="changes against live" id="policy-diff">{[...removed.map((l) => '- ' + l), ...added.map((l) => '+ ' + l)].join('\n')}</pre>
    </div>
  );
}

/** Requests the shadow candidate decided differently from the live set (GET /admin/v1/policies/shadow/diffs). */
function ShadowDiffs({ version }: { version: string }) {
  const diffs = useLoad(() => call<{ data: Row[] }>('GET', '/admin/v1/policies/shadow/diffs'), [version]);
  return (
    <div class="card">
      <h3>Decisions the shadow set would change</h3>
      <Status error={diffs.error} />
      <Table
        rows={(diffs.data?.data ?? []).map((d, i) => ({ id: i, time: d.time, principal: cell((d.principal as Row).id), action: d.action, resource: `${cell((d.resource as Row).type)}::${cell((d.resource as Row).id)}`, live: d.live, shadow: d.candidate }))}
        columns={['time', 'principal', 'action', 'resource', 'live', 'shadow']}
        caption="Differing decisions"
      />
      <button type="button" onClick={diffs.reload}>Refresh differences</button>
    </div>
  );
}

/** The served bytes of entry `index` (from its entry bundle): what the browser hashes, never a re-serialization. */
async function entryBytes(index: number): Promise<Uint8Array> {
  const size = Number((await (await fetch('/audit/v1/checkpoint')).text()).split('\n')[1]);
  if (!(index < size)) throw new Error(`entry ${index} is not yet in the signed tree (size ${size})`);
  const tile = Math.floor(index / 256);
  const bundle = await entryBundle(tile, Math.min(256, size - tile * 256));
  return bundle[index % 256]!;
}

type Found = { index: number; entry: Row };

export function LedgerPage() {
  const [entries, setEntries] = useState<Found[]>([]);
  const [nextBefore, setNextBefore] = useState<number | null>(null);
  const [error, setError] = useState('');
  const [q, setQ] = useState({ principal: '', model: '', decision: '', since: '', until: '', text: '' });
  const [open, setOpen] = useState<{ index: number; entry: Row; raw: Uint8Array } | null>(null);
  const [vkey, setVkey] = useState('');
  const [result, setResult] = useState<EntryVerification | null>(null);
  const [verr, setVerr] = useState('');
  // The search runs on the server (GET /admin/v1/audit/entries); "contains" refines what came back.
  const search = async (before: number | null) => {
    setError('');
    const p = new URLSearchParams({ limit: '200' });
    if (q.principal) p.set('principal', q.principal);
    if (q.model) p.set('model', q.model);
    if (q.decision) p.set('decision', q.decision);
    if (q.since) p.set('since', new Date(q.since).toISOString());
    if (q.until) p.set('until', new Date(q.until).toISOString());
    if (before !== null) p.set('before', String(before));
    try {
      const r = await call<{ data: Found[]; next_before: number | null }>('GET', `/admin/v1/audit/entries?${p}`);
      setEntries(before === null ? r.data : [...entries, ...r.data]);
      setNextBefore(r.next_before);
    } catch (e) {
      setError(stepUpHint(e));
    }
  };
  useEffect(() => {
    void search(null);
    servedVkey().then(setVkey, () => {});
  }, []);
  const shown = entries.filter(({ entry }) => !q.text || JSON.stringify(entry).includes(q.text));
  const openEntry = async (index: number) => {
    const found = entries.find((e) => e.index === index);
    if (!found) return;
    setResult(null);
    setVerr('');
    try {
      setOpen({ ...found, raw: await entryBytes(index) });
    } catch (e) {
      setError((e as Error).message);
    }
  };
  const field = (id: keyof typeof q, label: string, type = 'text') => (
    <div><label for={`q-${id}`}>{label}</label><input id={`q-${id}`} type={type} value={q[id]} onInput={(e) => setQ({ ...q, [id]: (e.target as HTMLInputElement).value })} /></div>
  );
  const verify = async () => {
    setResult(null);
    setVerr('');
    try {
      setResult(await verifyEntry(open!.index, open!.raw, vkey));
    } catch (e) {
      setVerr((e as Error).message);
    }
  };
  return (
    <section>
      <h2>Ledger</h2>
      <Status error={error} />
      <form class="row" onSubmit={(e) => (e.preventDefault(), void search(null))} aria-label="Search entries">
        {field('principal', 'Principal')}
        {field('model', 'Model')}
        <div>
          <label for="q-decision">Decision</label>
          <select id="q-decision" value={q.decision} onChange={(e) => setQ({ ...q, decision: (e.target as HTMLSelectElement).value })}>
            <option value="">any</option><option value="allow">allow</option><option value="deny">deny</option><option value="error">error</option>
          </select>
        </div>
        {field('since', 'Since', 'datetime-local')}
        {field('until', 'Until', 'datetime-local')}
        <div><button type="submit" class="primary">Search</button></div>
        {field('text', 'Contains (action, request id, …) in the results')}
      </form>
      <Table
        rows={shown.map(({ index, entry }) => ({ id: index, index, time: entry.time, principal: (entry.principal as Row | undefined)?.id, action: entry.action, resource: entry.resource ? `${cell((entry.resource as Row).type)}::${cell((entry.resource as Row).id)}` : '', decision: entry.decision, status: entry.status }))}
        columns={['index', 'time', 'principal', 'action', 'resource', 'decision', 'status']}
        caption="Ledger entries"
        actions={(r) => <button type="button" aria-label={`Open ${cell(r.index)}`} onClick={() => void openEntry(Number(r.index))}>Open</button>}
      />
      {nextBefore !== null && <p><button type="button" onClick={() => void search(nextBefore)}>Older entries</button></p>}
      {open && (
        <div class="card" id="entry">
          <h3>Entry {open.index}</h3>
          <pre tabIndex={0} aria-label={`entry ${open.index}`}>{JSON.stringify(open.entry, null, 2)}</pre>
          <label for="vkey">Ledger verifier key you trust (as printed by <code>warden up</code>; prefilled from /audit/v1/keys — compare it)</label>
          <input id="vkey" style="width:100%" value={vkey} onInput={(e) => setVkey((e.target as HTMLInputElement).value)} />
          <p><button type="button" class="primary" onClick={() => void verify()}>Verify in this browser</button></p>
          {result && (
            <div role="status" id="verify-result" class="ok">
              <strong>Verified.</strong>
              <ul>{result.steps.map((s) => <li key={s}>{s}</li>)}</ul>
            </div>
          )}
          {verr && <p class="error" role="alert" id="verify-error">Not verified: {verr}</p>}
        </div>
      )}
    </section>
  );
}

export function ApprovalsPage() {
  const list = useLoad(() => call<{ data: Row[] }>('GET', '/admin/v1/approvals?status=pending'));
  const [msg, setMsg] = useState<{ error?: string; ok?: string }>({});
  const [reason, setReason] = useState('');
  const decide = async (id: string, verb: 'approve' | 'deny') => {
    setMsg({});
    try {
      await call('POST', `/admin/v1/approvals/${encodeURIComponent(id)}/${verb}`, reason ? { reason } : {});
      setMsg({ ok: `${id} ${verb === 'approve' ? 'approved' : 'denied'}` });
      list.reload();
    } catch (e) {
      setMsg({ error: stepUpHint(e) });
    }
  };
  return (
    <section>
      <h2>Approvals</h2>
      <Status error={msg.error || list.error} ok={msg.ok} />
      <label for="reason">Reason (recorded in the ledger)</label>
      <input id="reason" value={reason} onInput={(e) => setReason((e.target as HTMLInputElement).value)} />
      <Table
        rows={list.data?.data ?? []}
        columns={['id', 'tool', 'requester', 'agent', 'arguments', 'created_at', 'expires_at']}
        caption="Pending tool calls"
        actions={(r) => (
          <>
            <button type="button" class="primary" aria-label={`Approve ${cell(r.id)}`} onClick={() => void decide(String(r.id), 'approve')}>Approve</button>
            <button type="button" aria-label={`Deny ${cell(r.id)}`} onClick={() => void decide(String(r.id), 'deny')}>Deny</button>
          </>
        )}
      />
    </section>
  );
}

/**
 * Deployments and their lifecycle, through the admin API the CLI uses (`warden model promote|quarantine|retire|
 * rollback`): the same PDP decision (promoteModel / manageModels) and ledger entry for each. Promotion and
 * rollback want fresh MFA under the starter policy: step up (passkey or IdP) when the page says so.
 */
export function ModelsPage() {
  const list = useLoad(() => call<{ data: Row[] }>('GET', '/admin/v1/models'));
  const [msg, setMsg] = useState<{ error?: string; ok?: string }>({});
  const [reason, setReason] = useState('');
  const [modelDir, setModelDir] = useState('');
  const [attested, setAttested] = useState<Row | null>(null);
  const act = (what: string, path: string, body: unknown, then: (r: Row) => void = () => {}) =>
    call<Row>('POST', path, body).then((r) => (then(r), setMsg({ ok: what }), list.reload()), (e) => setMsg({ error: stepUpHint(e) }));
  const rows = list.data?.data ?? [];
  const rollbackable = [...new Set(rows.filter((r) => r.state === 'retired').map((r) => String(r.model)))];
  return (
    <section>
      <h2>Models and deployments</h2>
      <Status error={msg.error || list.error} ok={msg.ok} />
      <div class="row">
        <div><label for="quarantine-reason">Reason (for a quarantine)</label><input id="quarantine-reason" value={reason} onInput={(e) => setReason((e.target as HTMLInputElement).value)} /></div>
        <div><label for="model-dir">Model directory on the gateway host (for a verification)</label><input id="model-dir" value={modelDir} onInput={(e) => setModelDir((e.target as HTMLInputElement).value)} /></div>
      </div>
      <Table
        rows={rows}
        columns={['id', 'model', 'version', 'state', 'digest', 'signature', 'attestation', 'updated_at'].filter((c) => c !== 'version' || rows.some((r) => 'version' in r))}
        caption="Models and deployments"
        actions={(r) => {
          const id = String(r.id);
          const at = `/admin/v1/models/${encodeURIComponent(id)}`;
          return (
            <>
              {r.state === 'registered' && (
                <button type="button" aria-label={`Verify ${id}`} disabled={!modelDir} onClick={() => void act(`${id} verified`, `${at}/verify`, { path: modelDir })}>Verify</button>
              )}
              {r.state === 'promoted' && <button type="button" aria-label={`Attest ${id}`} onClick={() => void act(`${id} attested`, `${at}/attest`, {}, setAttested)}>Attest</button>}
              {r.state === 'verified' && <button type="button" aria-label={`Promote ${id}`} onClick={() => void act(`${id} promoted`, `${at}/promote`, {})}>Promote</button>}
              {r.state !== 'quarantined' && r.state !== 'retired' && (
                <button type="button" aria-label={`Quarantine ${id}`} disabled={!reason} onClick={() => void act(`${id} quarantined`, `${at}/quarantine`, { reason })}>Quarantine</button>
              )}
              {r.state === 'promoted' && <button type="button" aria-label={`Retire ${id}`} onClick={() => void act(`${id} retired`, `${at}/retire`, {})}>Retire</button>}
            </>
          );
        }}
      />
      {attested && (
        <div class="card" role="status">
          <h3>Attestation of {cell(attested.id)}</h3>
          <pre tabIndex={0} aria-label="attestation status">{JSON.stringify(attested, null, 2)}</pre>
        </div>
      )}
      {rollbackable.length > 0 && (
        <p>
          {rollbackable.map((m) => (
            <button key={m} type="button" onClick={() => void act(`${m} rolled back`, '/admin/v1/models/rollback', { model: m })}>Roll back {m}</button>
          ))}
        </p>
      )}
    </section>
  );
}
/** A definition as the admin API takes it (PUT/POST body): the view without what the registry sets itself. */
const editable = (t: Row): Row => {
  const { version: _v, created_at: _c, updated_at: _u, ...rest } = t;
  return rest;
};

/**
 * The tool registry through the admin API the CLI uses (`warden tools add|update|remove|definition|
 * approve-definition`): register or change a definition (JSON, as the API takes it), remove a tool, and for an
 * MCP-backed tool review its pinned definition and re-approve a changed one by the digest you reviewed. Each is
 * the same PDP decision (manageTools / readRegistry) and ledger entry as through the CLI.
 */
export function ToolsPage() {
  const list = useLoad(() => call<{ data: Row[] }>('GET', '/admin/v1/tools'));
  const { msg, act } = useAct(list);
  const [json, setJson] = useState('');
  const [pin, setPin] = useState<Row | null>(null);
  /** The definition in the box, parsed; a syntax error is the page's own message, before any call. */
  const definition = (): Row => {
    try {
      const v = JSON.parse(json) as unknown;
      if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new Error('the definition must be a JSON object');
      return v as Row;
    } catch (e) {
      throw new Error(`the definition is not valid JSON: ${(e as Error).message}`);
    }
  };
  const at = (name: string) => `/admin/v1/tools/${encodeURIComponent(name)}`;
  const pending = pin?.pending as Row | null | undefined;
  return (
    <section>
      <h2>Tools</h2>
      <Status error={msg.error || list.error} ok={msg.ok} />
      <Table
        rows={(list.data?.data ?? []).map((t) => ({ ...t, id: t.name, backend: cell((t.backend as Row | undefined)?.type) }))}
        columns={['name', 'version', 'risk', 'grantees', 'needs_approval', 'backend']}
        caption="Tools"
        actions={(r) => {
          const name = String(r.name);
          const full = (list.data?.data ?? []).find((t) => t.name === name)!;
          return (
            <>
              <button type="button" aria-label={`Edit ${name}`} onClick={() => setJson(JSON.stringify(editable(full), null, 2))}>Edit</button>
              {r.backend === 'mcp' && (
                <button type="button" aria-label={`Definition of ${name}`} onClick={() => void act(async () => setPin(await call<Row>('GET', `${at(name)}/definition`)), `pinned definition of ${name}`)}>Definition</button>
              )}
              <button type="button" aria-label={`Delete ${name}`} onClick={() => confirm(`Delete the tool ${name}?`) && void act(() => call('DELETE', at(name)), `${name} deleted`)}>Delete</button>
            </>
          );
        }}
      />
      {pin && (
        <div class="card" id="tool-definition">
          <h3>Pinned definition of {cell(pin.tool)}</h3>
          <p>{pin.quarantined ? 'Quarantined: the server now serves another definition. Review the change; approving pins it and ends the quarantine.' : 'The server serves the pinned definition.'}</p>
          <pre tabIndex={0} aria-label="pinned definition">{JSON.stringify((pin.pinned as Row).definition, null, 2)}</pre>
          {pending && (
            <>
              <h4>Pending change (digest <code>{cell(pending.digest)}</code>)</h4>
              <pre tabIndex={0} aria-label="pending change">{JSON.stringify(pending.diff, null, 2)}</pre>
              <button type="button" class="primary" onClick={() => void act(async () => setPin(await call<Row>('POST', `${at(String(pin.tool))}/definition/approve`, { digest: pending.digest })), `definition of ${cell(pin.tool)} approved`)}>
                Approve definition of {cell(pin.tool)}
              </button>
            </>
          )}
        </div>
      )}
      <div class="card">
        <h3>Register or change a tool</h3>
        <label for="tool-json">Tool definition (JSON, as the admin API takes it: name, risk, grantees, input_schema, backend, egress, …)</label>
        <textarea id="tool-json" spellcheck={false} value={json} onInput={(e) => setJson((e.target as HTMLTextAreaElement).value)} />
        <p>
          <button type="button" class="primary" onClick={() => void act(async () => { const d = definition(); await call('POST', '/admin/v1/tools', d); }, 'tool registered')}>Register tool</button>
          <button type="button" onClick={() => void act(async () => { const d = definition(); await call('PUT', at(String(d.name)), d); }, 'tool updated')}>Update tool</button>
        </p>
      </div>
    </section>
  );
}

type RiskPoint = { t: number; risk: number };
const RISK_COLOURS = ['#b42318', '#0969da', '#8250df', '#9a6700', '#1a7f37'];

/**
 * Risk over the last 30 minutes for the five riskiest principals (inline SVG, no library): the points are the
 * monitor's actions in the ledger (each `monitor.*` entry carries the risk it acted on) and the page's own
 * readings of /admin/v1/monitor, one every 10 seconds while it is open.
 */
function RiskPlot({ series }: { series: Map<string, RiskPoint[]> }) {
  const minutes = 30;
  const w = 480;
  const h = 120;
  const now = Date.now();
  const from = now - minutes * 60_000;
  const top = [...series.entries()]
    .map(([k, pts]) => [k, pts.filter((p) => p.t >= from).sort((a, b) => a.t - b.t)] as const)
    .filter(([, pts]) => pts.length > 0)
    .sort((a, b) => b[1].at(-1)!.risk - a[1].at(-1)!.risk)
    .slice(0, RISK_COLOURS.length);
  const x = (t: number) => Math.round(((t - from) / (now - from)) * w);
  const y = (r: number) => Math.round(h - Math.min(1, Math.max(0, r)) * h);
  const label = `Risk over the last ${minutes} minutes: ${top.length ? top.map(([k, pts]) => `${k} ${pts.at(-1)!.risk}`).join(', ') : 'no readings yet'}`;
  return (
    <figure class="card">
      <svg role="img" aria-label={label} width={w} height={h + 2} viewBox={`0 0 ${w} ${h + 2}`}>
        <title>{label}</title>
        <line x1="0" y1={h + 1} x2={w} y2={h + 1} stroke="#57606a" />
        <line x1="0" y1={y(0.5)} x2={w} y2={y(0.5)} stroke="#d0d7de" stroke-dasharray="4 4" />
        {top.map(([k, pts], i) => (pts.length === 1
          ? <circle key={k} cx={x(pts[0]!.t)} cy={y(pts[0]!.risk)} r="3" fill={RISK_COLOURS[i]} />
          : <polyline key={k} fill="none" stroke={RISK_COLOURS[i]} stroke-width="2" points={pts.map((p) => `${x(p.t)},${y(p.risk)}`).join(' ')} />))}
      </svg>
      <figcaption>
        Risk (0 to 1; dashed line 0.5) over the last {minutes} minutes, from the monitor's actions in the ledger and this page's readings every 10 s.
        {top.length > 0 && <ul class="legend">{top.map(([k, pts], i) => <li key={k}><span aria-hidden="true" style={`color:${RISK_COLOURS[i]}`}>■</span> {k}: {pts.at(-1)!.risk}</li>)}</ul>}
      </figcaption>
    </figure>
  );
}

export function MonitorPage() {
  const risk = useLoad(() => call<{ data: Row[] }>('GET', '/admin/v1/monitor'));
  const pb = useLoad(() => call<{ steps: Row[] }>('GET', '/admin/v1/playbooks'));
  const history = useLoad(() => recentEntries(256));
  const [readings, setReadings] = useState<Map<string, RiskPoint[]>>(new Map());
  const [msg, setMsg] = useState<{ error?: string; ok?: string }>({});
  useEffect(() => {
    const timer = setInterval(() => risk.reload(), 10_000);
    return () => clearInterval(timer);
  }, []);
  useEffect(() => {
    if (!risk.data) return;
    const t = Date.now();
    setReadings((prev) => {
      const next = new Map(prev);
      for (const r of risk.data!.data) {
        const k = String(r.principal);
        next.set(k, [...(next.get(k) ?? []), { t, risk: Number(r.risk) }].slice(-180));
      }
      return next;
    });
  }, [risk.data]);
  const series = new Map<string, RiskPoint[]>();
  for (const { entry } of history.data ?? []) {
    const p = entry.principal as Row | null;
    const d = entry.details as Row | undefined;
    if (!String(entry.action).startsWith('monitor.') || !p || typeof d?.risk !== 'number') continue;
    const k = `${cell(p.tenant)}/${cell(p.kind)}:${cell(p.id)}`;
    series.set(k, [...(series.get(k) ?? []), { t: Date.parse(String(entry.time)), risk: d.risk }]);
  }
  for (const [k, pts] of readings) series.set(k, [...(series.get(k) ?? []), ...pts]);
  return (
    <section>
      <h2>Monitor</h2>
      <Status error={msg.error || risk.error || pb.error} ok={msg.ok} />
      <h3>Risk over time</h3>
      <RiskPlot series={series} />
      <h3>Risk per principal</h3>
      <Table
        rows={risk.data?.data ?? []}
        columns={['principal', 'risk', 'reasons', 'signals', 'throttled', 'revoked'].filter((c) => c === 'principal' || c === 'risk' || (risk.data?.data ?? []).some((r) => c in r))}
        caption="Risk per principal"
        actions={(r) => (
          <button type="button" aria-label={`Reset ${cell(r.principal)}`} onClick={() => call('POST', `/admin/v1/monitor/${encodeURIComponent(String(r.principal ?? r.id))}/reset`, {}).then(() => (setMsg({ ok: 'reset' }), risk.reload()), (e) => setMsg({ error: stepUpHint(e) }))}>Reset</button>
        )}
      />
      <h3>Playbook steps</h3>
      <Table
        rows={(pb.data?.steps ?? []).map((st) => ({ ...st, at: new Date(Number(st.at)).toISOString(), reverted_at: st.revertedAt === null ? '' : new Date(Number(st.revertedAt)).toISOString() }))}
        columns={['id', 'at', 'playbook', 'step', 'subject', 'done', 'reverted_at']}
        caption="Playbook steps"
        actions={(r) =>
          r.reversible && r.revertedAt === null ? (
            <button type="button" aria-label={`Revert ${cell(r.id)}`} onClick={() => call('POST', `/admin/v1/playbooks/steps/${encodeURIComponent(String(r.id))}/revert`, {}).then(() => (setMsg({ ok: `${cell(r.id)} reverted` }), pb.reload(), risk.reload()), (e) => setMsg({ error: stepUpHint(e) }))}>Revert</button>
          ) : null
        }
      />
    </section>
  );
}
