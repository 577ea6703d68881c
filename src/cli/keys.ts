// `warden keys ...` and `warden principals ...`: thin wrappers over the admin API.
import { parseArgs } from 'node:util';
import { adminCall, adminClientOptions, CliError } from './admin-client.js';

const common = { 'data-dir': { type: 'string' }, 'admin-url': { type: 'string' }, json: { type: 'boolean' } } as const;

function list(v: string | undefined, what: string): string[] {
  if (!v) throw new CliError(`--${what} is required (comma-separated)`, 2);
  return v.split(',').map((s) => s.trim()).filter(Boolean);
}

function print(json: boolean, v: unknown, human: () => string): void {
  process.stdout.write((json ? JSON.stringify(v, null, 2) : human()) + '\n');
}

type KeyView = { id: string; principal: string; hint: string; models: string[]; actions: string[]; state: string; expires_at: string | null; last_used_at: string | null; key?: string };

type Effective = {
  key: string;
  principal: string;
  state: string;
  groups: string[];
  ceiling: { models: string[]; actions: string[] };
  models: { id: string; actions: string[] }[];
  tools: { name: string; approval_required: boolean }[];
  empty: boolean;
};

function effectiveLines(e: Effective): string {
  const lines = [`effective permissions (scope ∩ what policy grants ${e.principal}, groups=${e.groups.join(',') || '(none)'}):`];
  for (const m of e.models) lines.push(`  model ${m.id}: ${m.actions.join(', ')}`);
  for (const t of e.tools) lines.push(`  tool ${t.name}${t.approval_required ? ' (held for approval)' : ''}`);
  if (e.empty) lines.push('  (none)');
  return lines.join('\n');
}

/** A key that can do nothing is almost always a mistake (no group, a model nobody granted): say so. */
function warnIfEmpty(e: Effective): void {
  if (!e.empty) return;
  process.stderr.write(
    `warning: key ${e.key} can do nothing: policy grants principal ${e.principal} nothing within the key's scope ` +
      `(models=${e.ceiling.models.join(',')} actions=${e.ceiling.actions.join(',')}). A key's scope only narrows what policy grants; ` +
      `add the principal to a group the policies grant (e.g. consumers) or grant the model/tool to one of its groups.\n`,
  );
}

async function effectiveOf(opts: ReturnType<typeof adminClientOptions>, id: string): Promise<Effective> {
  return (await adminCall(opts, 'GET', `/admin/v1/keys/${encodeURIComponent(id)}/effective`)) as Effective;
}

function keyLine(k: KeyView): string {
  return `${k.id}  ${k.principal}  ${k.hint}  models=${k.models.join(',')}  actions=${k.actions.join(',')}  ${k.state}${k.expires_at ? `  expires=${k.expires_at}` : ''}${k.last_used_at ? `  last_used=${k.last_used_at}` : ''}`;
}

export async function keysMain(args: string[]): Promise<number> {
  const [verb, ...rest] = args;
  if (verb === 'create') {
    const { values } = parseArgs({ args: rest, options: { ...common, principal: { type: 'string' }, models: { type: 'string' }, actions: { type: 'string' }, ttl: { type: 'string' }, description: { type: 'string' } } });
    if (!values.principal) throw new CliError('--principal is required', 2);
    const body = { principal: values.principal, models: list(values.models, 'models'), actions: list(values.actions, 'actions'), ...(values.ttl ? { ttl: values.ttl } : {}), ...(values.description ? { description: values.description } : {}) };
    const opts = adminClientOptions(values);
    const r = (await adminCall(opts, 'POST', '/admin/v1/keys', body)) as KeyView;
    const e = await effectiveOf(opts, r.id);
    print(!!values.json, { ...r, effective: e }, () => `${keyLine(r)}\n${effectiveLines(e)}\n\nAPI key (shown once, store it now):\n  ${r.key}`);
    warnIfEmpty(e);
    return 0;
  }
  if (verb === 'effective') {
    const { values, positionals } = parseArgs({ args: rest, allowPositionals: true, options: common });
    const id = positionals[0];
    if (!id) throw new CliError('usage: warden keys effective KEY_ID', 2);
    const e = await effectiveOf(adminClientOptions(values), id);
    print(!!values.json, e, () => `${e.key}  ${e.principal}  ${e.state}  ceiling: models=${e.ceiling.models.join(',')} actions=${e.ceiling.actions.join(',')}\n${effectiveLines(e)}`);
    warnIfEmpty(e);
    return 0;
  }
  if (verb === 'list') {
    const { values } = parseArgs({ args: rest, options: { ...common, principal: { type: 'string' } } });
    const q = values.principal ? `?principal=${encodeURIComponent(values.principal)}` : '';
    const r = (await adminCall(adminClientOptions(values), 'GET', '/admin/v1/keys' + q)) as { data: KeyView[] };
    print(!!values.json, r, () => (r.data.length ? r.data.map(keyLine).join('\n') : '(no keys)'));
    return 0;
  }
  if (verb === 'rotate' || verb === 'revoke') {
    const { values, positionals } = parseArgs({ args: rest, allowPositionals: true, options: { ...common, grace: { type: 'string' } } });
    const id = positionals[0];
    if (!id) throw new CliError(`usage: warden keys ${verb} KEY_ID${verb === 'rotate' ? ' [--grace 1h]' : ''}`, 2);
    if (verb === 'revoke') {
      const r = (await adminCall(adminClientOptions(values), 'POST', `/admin/v1/keys/${encodeURIComponent(id)}/revoke`)) as KeyView;
      print(!!values.json, r, () => `revoked ${r.id}`);
    } else {
      const r = (await adminCall(adminClientOptions(values), 'POST', `/admin/v1/keys/${encodeURIComponent(id)}/rotate`, { grace: values.grace ?? '1h' })) as KeyView & { previous: KeyView };
      print(!!values.json, r, () => `${keyLine(r)}\nprevious: ${keyLine(r.previous)}\n\nNew API key (shown once, store it now):\n  ${r.key}`);
    }
    return 0;
  }
  throw new CliError('usage: warden keys create|list|effective|rotate|revoke ...', 2);
}

export async function principalsMain(args: string[]): Promise<number> {
  const [verb, ...rest] = args;
  if (verb === 'create') {
    const { values, positionals } = parseArgs({
      args: rest,
      allowPositionals: true,
      options: { ...common, kind: { type: 'string' }, tenant: { type: 'string' }, groups: { type: 'string' }, admin: { type: 'boolean' }, 'source-cidrs': { type: 'string' }, 'oidc-issuer': { type: 'string' } },
    });
    const id = positionals[0];
    if (!id) throw new CliError('usage: warden principals create ID [--kind user|service|agent] [--tenant T] [--groups a,b] [--source-cidrs 10.0.0.0/8] [--oidc-issuer URL]', 2);
    const body = {
      id,
      kind: values.kind ?? 'user',
      tenant: values.tenant ?? 'default',
      groups: values.groups ? list(values.groups, 'groups') : [],
      ...(values.admin ? { admin: true } : {}),
      ...(values['source-cidrs'] ? { source_cidrs: list(values['source-cidrs'], 'source-cidrs') } : {}),
      ...(values['oidc-issuer'] ? { oidc_issuer: values['oidc-issuer'] } : {}),
    };
    const r = await adminCall(adminClientOptions(values), 'POST', '/admin/v1/principals', body);
    print(!!values.json, r, () => `created principal ${id}${body.groups.length ? ` in ${body.groups.join(', ')}` : ''}`);
    // Grants come from policy (roles, grantees): a principal in no group is granted nothing by the starter set.
    if (body.groups.length === 0 && !values.admin) process.stderr.write(`note: ${id} is in no group, so policy grants it nothing yet; use --groups consumers (the starter policies grant models to groups)\n`);
    return 0;
  }
  if (verb === 'list') {
    const { values } = parseArgs({ args: rest, options: common });
    const r = (await adminCall(adminClientOptions(values), 'GET', '/admin/v1/principals')) as { data: { id: string; kind: string; tenant: string; groups: string[]; admin: boolean; disabled_at?: string | null }[] };
    print(!!values.json, r, () => r.data.map((p) => `${p.id}  ${p.kind}  tenant=${p.tenant}  groups=${p.groups.join(',')}${p.admin ? '  admin' : ''}${p.disabled_at ? '  DISABLED' : ''}`).join('\n'));
    return 0;
  }
  if (verb === 'disable' || verb === 'enable') {
    const { values, positionals } = parseArgs({ args: rest, allowPositionals: true, options: common });
    const id = positionals[0];
    if (!id) throw new CliError(`usage: warden principals ${verb} ID`, 2);
    const r = await adminCall(adminClientOptions(values), 'POST', `/admin/v1/principals/${encodeURIComponent(id)}/${verb}`, {});
    print(!!values.json, r, () => (verb === 'disable' ? `disabled ${id}: its keys are refused and the tokens derived from them revoked` : `enabled ${id}: its keys work again (revoked tokens stay revoked)`));
    return 0;
  }
  if (verb === 'bind-issuer') {
    const { values, positionals } = parseArgs({ args: rest, allowPositionals: true, options: { ...common, 'oidc-issuer': { type: 'string' }, none: { type: 'boolean' } } });
    const id = positionals[0];
    if (!id || (values['oidc-issuer'] === undefined) === !values.none) throw new CliError('usage: warden principals bind-issuer ID (--oidc-issuer URL | --none)', 2);
    const r = await adminCall(adminClientOptions(values), 'POST', `/admin/v1/principals/${encodeURIComponent(id)}/issuer`, { oidc_issuer: values.none ? null : values['oidc-issuer'] });
    print(!!values.json, r, () => (values.none ? `${id} is bound to no issuer (step-up only while exactly one issuer is configured)` : `${id} steps up only with tokens from ${values['oidc-issuer']}`));
    return 0;
  }
  throw new CliError('usage: warden principals create|list|disable|enable|bind-issuer ...', 2);
}

export async function tokensMain(args: string[]): Promise<number> {
  const [verb, ...rest] = args;
  if (verb === 'revoke') {
    const { values } = parseArgs({ args: rest, options: { ...common, jti: { type: 'string' }, 'token-file': { type: 'string' } } });
    const { readFileSync } = await import('node:fs');
    const body = values.jti ? { jti: values.jti } : values['token-file'] ? { token: readFileSync(values['token-file'], 'utf8').trim() } : null;
    if (!body) throw new CliError('usage: warden tokens revoke --jti ID | --token-file FILE', 2);
    const r = (await adminCall(adminClientOptions(values), 'POST', '/admin/v1/tokens/revoke', body)) as { revoked: string };
    print(!!values.json, r, () => `revoked ${r.revoked}`);
    return 0;
  }
  throw new CliError('usage: warden tokens revoke --jti ID | --token-file FILE', 2);
}
