/**
 * GET /support/staff/audit: verify the audit trail (auditors and supervisors).
 */
import type Koa from 'koa';
import { resolveLocale } from '../../views/index.js';
import { may } from '../permissions.js';
import type { SupportKit } from './support-kit.js';

export async function verifyAuditPage(ctx: Koa.Context, kit: SupportKit): Promise<void> {
  const { o, staffOf, refuse, record } = kit;
  const { session, account } = await staffOf(ctx);
  if (!may(account, 'verify_audit')) return refuse(ctx, session, account, 'verify_audit');
  const result = await o.audit.verify();
  await record('view', { type: 'staff.verifiedAudit', actor: account.id, data: { ok: result.ok, count: result.count } });
  o.views.render(ctx, 'support/staff-audit', { signedInAs: { name: account.name, role: account.role }, result: result.ok ? { ok: true, count: result.count } : { ok: false, count: result.count, brokenAt: result.brokenAt, reason: result.reason } }, { locale: resolveLocale(ctx) });
}
