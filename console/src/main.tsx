// The Warden console: a client of the admin API (/admin/v1, /audit/v1) with the session cookie.
import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { call, session, setCsrf, stepUpHint, type SessionInfo } from './api.js';
import { passkeyStepUp, registerPasskey } from './passkey.js';
import { ApprovalsPage, LedgerPage, ModelsPage, MonitorPage, OverviewPage, PoliciesPage, PrincipalsPage, ToolsPage } from './pages.js';

const PAGES = [
  { id: 'overview', title: 'Overview', page: OverviewPage },
  { id: 'principals', title: 'Principals & keys', page: PrincipalsPage },
  { id: 'policies', title: 'Policies', page: PoliciesPage },
  { id: 'ledger', title: 'Ledger', page: LedgerPage },
  { id: 'approvals', title: 'Approvals', page: ApprovalsPage },
  { id: 'models', title: 'Models', page: ModelsPage },
  { id: 'tools', title: 'Tools', page: ToolsPage },
  { id: 'monitor', title: 'Monitor', page: MonitorPage },
  { id: 'passkeys', title: 'Passkeys', page: PasskeysPage },
] as const;

function PasskeysPage({ info, refresh }: { info: SessionInfo; refresh: () => void }) {
  const [msg, setMsg] = useState<{ error?: string; ok?: string }>({});
  const register = async () => {
    setMsg({});
    try {
      await registerPasskey();
      setMsg({ ok: 'passkey registered' });
      refresh();
    } catch (e) {
      setMsg({ error: stepUpHint(e) });
    }
  };
  return (
    <section>
      <h2>Passkeys</h2>
      <p>
        A passkey registered here steps you up (multi-factor, user verification required) when a change needs recent MFA. You have <strong id="passkey-count">{info.passkeys ?? 0}</strong> registered.
        Registering one needs a sign-in with MFA in the last 15 minutes.
      </p>
      <button type="button" class="primary" onClick={() => void register()}>Register a passkey</button>
      {msg.error && <p class="error" role="alert">{msg.error}</p>}
      {msg.ok && <p class="ok" role="status">{msg.ok}</p>}
    </section>
  );
}

function currentPage(): string {
  const id = location.hash.replace(/^#\/?/, '');
  return PAGES.some((p) => p.id === id) ? id : 'overview';
}

function SignIn({ info, onDone }: { info: SessionInfo; onDone: () => void }) {
  const [key, setKey] = useState('');
  const [err, setErr] = useState('');
  const submit = async (e: Event) => {
    e.preventDefault();
    setErr('');
    try {
      await call('POST', '/console/auth/key', { key });
      setKey('');
      onDone();
    } catch (x) {
      setErr((x as Error).message);
    }
  };
  return (
    <main class="signin" id="main">
      <h1>Sign in to the Warden console</h1>
      {info.ended && <p class="error" role="status">Your session ended ({info.ended}). Sign in again.</p>}
      {info.oidc && (
        <p>
          <a class="button" href="/console/auth/oidc/start" id="oidc-signin">Sign in with your identity provider</a>
        </p>
      )}
      {info.saml && (
        <p>
          <a class="button" href="/console/auth/saml/start" id="saml-signin">Sign in with SAML single sign-on</a>
        </p>
      )}
      <form onSubmit={submit}>
        <label for="admin-key">Admin API key (the bootstrap key printed once by <code>warden up</code>)</label>
        <input id="admin-key" type="password" autocomplete="off" value={key} onInput={(e) => setKey((e.target as HTMLInputElement).value)} />
        <button class="primary" type="submit">Sign in with key</button>
      </form>
      {err && <p class="error" role="alert">{err}</p>}
    </main>
  );
}

function NoAdmin({ info, signOut }: { info: SessionInfo; signOut: () => void }) {
  return (
    <main class="signin" id="main">
      <h1>No admin access</h1>
      <p id="no-admin">
        You are signed in as <strong>{info.principal!.id}</strong> ({info.principal!.tenant}), who is not an administrator of this Warden. The console has nothing to show you.
      </p>
      <button type="button" onClick={signOut}>Sign out</button>
    </main>
  );
}

function App() {
  const [info, setInfo] = useState<SessionInfo | null>(null);
  const [page, setPage] = useState(currentPage());
  const [stepUpMsg, setStepUpMsg] = useState('');
  const load = async () => {
    try {
      const s = await session();
      setCsrf(s.csrf);
      setInfo(s);
    } catch (e) {
      setInfo({ signed_in: false, oidc: false, ended: (e as Error).message });
    }
  };
  useEffect(() => {
    void load();
    const onHash = () => setPage(currentPage());
    addEventListener('hashchange', onHash);
    return () => removeEventListener('hashchange', onHash);
  }, []);
  useEffect(() => {
    const p = PAGES.find((x) => x.id === page);
    document.title = `${p?.title ?? 'Console'} · Warden console`;
  }, [page]);
  const signOut = async () => {
    const r = await call<{ logout_url?: string }>('POST', '/console/auth/signout').catch(() => ({}) as { logout_url?: string });
    setCsrf('');
    // SAML single logout: the Warden session has ended; the IdP ends its own and sends the browser back.
    if (r.logout_url) return window.location.assign(r.logout_url);
    await load();
  };
  if (!info) return <main id="main"><p>Loading…</p></main>;
  if (!info.signed_in) return <SignIn info={info} onDone={() => void load()} />;
  if (!info.principal!.admin) return <NoAdmin info={info} signOut={() => void signOut()} />;
  const Page = PAGES.find((p) => p.id === page)!.page as (props: { info: SessionInfo; refresh: () => void }) => preact.JSX.Element;
  const stepUp = async () => {
    setStepUpMsg('');
    try {
      await passkeyStepUp();
      setStepUpMsg('stepped up with your passkey');
      await load();
    } catch (e) {
      setStepUpMsg('step-up failed: ' + (e as Error).message);
    }
  };
  return (
    <>
      <a class="skip" href="#main">Skip to content</a>
      <header>
        <h1>Warden console</h1>
        <span class="who" id="who">
          {info.principal!.id} · {info.principal!.authn}
          {info.principal!.mfa_at ? ` · MFA ${new Date(info.principal!.mfa_at).toLocaleTimeString()}` : ''}
        </span>
        {(info.passkeys ?? 0) > 0 && <button type="button" onClick={() => void stepUp()}>Step up with passkey</button>}
        {stepUpMsg && <span role="status" id="stepup-status">{stepUpMsg}</span>}
        {info.principal!.authn === 'oidc' && <a href="/console/auth/oidc/start?reauth=1">Re-authenticate</a>}
        <button type="button" onClick={() => void signOut()}>Sign out</button>
      </header>
      <div class="layout">
        <nav aria-label="Console sections">
          <ul>
            {PAGES.map((p) => (
              <li key={p.id}>
                <a href={`#/${p.id}`} aria-current={p.id === page ? 'page' : undefined}>{p.title}</a>
              </li>
            ))}
          </ul>
        </nav>
        <main id="main">
          <Page key={page} info={info} refresh={() => void load()} />
        </main>
      </div>
    </>
  );
}

const root = document.getElementById('app')!;
root.textContent = '';
render(<App />, root);
