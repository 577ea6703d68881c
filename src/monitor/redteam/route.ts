// The red team on the admin listener (declared in src/admin/routes.ts):
//   GET  /admin/v1/redteam/attacks       the suite (id, kind, title)
//   GET  /admin/v1/redteam/runs          the history, newest last, without per-attack results
//   POST /admin/v1/redteam/runs          start a run ({models?, kinds?}); 202 with its id, or with
//                                        `Prefer: wait` the finished run (200)
//   GET  /admin/v1/redteam/runs/{id}     one run with every attack's outcome (or running / failed)
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AdminRequest } from '../../admin/admin.js';
import { BadRequest } from '../../core/errors.js';
import { sendJson } from '../../http/respond.js';
import { ATTACKS } from './attacks.js';
import type { RedTeam } from './service.js';

function stringList(b: Record<string, unknown>, field: string): string[] | undefined {
  const v = b[field];
  if (v === undefined) return undefined;
  if (!Array.isArray(v) || !v.every((x) => typeof x === 'string' && x.length > 0)) throw new BadRequest('invalid_field', `${field} must be a list of non-empty strings`, field);
  return v as string[];
}

export function createRedTeamRoute(rt: RedTeam) {
  return async (req: IncomingMessage, res: ServerResponse, ar: AdminRequest): Promise<boolean> => {
    const hdr = { 'x-request-id': ar.requestId };
    if (ar.path === '/admin/v1/redteam/attacks') {
      sendJson(res, 200, { data: ATTACKS.map((a) => ({ id: a.id, kind: a.kind, title: a.title })) }, hdr);
      return true;
    }
    if (ar.path === '/admin/v1/redteam/runs' && req.method === 'GET') {
      sendJson(res, 200, { data: rt.history(), running: rt.current() }, hdr);
      return true;
    }
    if (ar.path === '/admin/v1/redteam/runs' && req.method === 'POST') {
      const b = await ar.body();
      for (const k of Object.keys(b)) if (k !== 'models' && k !== 'kinds') throw new BadRequest('unknown_field', `unknown field ${JSON.stringify(k)} (give models and/or kinds)`, k);
      const models = stringList(b, 'models');
      const kinds = stringList(b, 'kinds');
      // The operator's decision first (fail closed: not recorded, not run), then the run's own entries.
      const plan = rt.prepare({ by: ar.principal.id, ...(models ? { models } : {}), ...(kinds ? { kinds } : {}) });
      await ar.record('redteam.run', { type: 'System', id: 'redteam' }, { run: plan.id, models: plan.models.join(','), attacks: plan.attacks.length });
      const started = rt.launch(plan);
      if (/\bwait\b/i.test(String(req.headers.prefer ?? ''))) {
        sendJson(res, 200, await started.done, hdr);
      } else {
        sendJson(res, 202, { id: started.id, status: 'running' }, { ...hdr, location: `/admin/v1/redteam/runs/${started.id}` });
      }
      return true;
    }
    const m = /^\/admin\/v1\/redteam\/runs\/([^/]+)$/.exec(ar.path);
    if (m && req.method === 'GET') {
      sendJson(res, 200, rt.get(decodeURIComponent(m[1]!)), hdr);
      return true;
    }
    return false;
  };
}
