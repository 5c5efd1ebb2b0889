/** Who may do what in the staff console: one table, enforced on the server. */
import type { SupportCase } from './cases.js';
import type { Role, StaffAccount } from './staff.js';

/** `urgent`: mark a case urgent, change why, or unmark it. */
export const ACTIONS = ['view', 'note', 'escalate', 'resolve', 'assign', 'reopen', 'urgent', 'verify_audit'] as const;
export type Action = (typeof ACTIONS)[number];

const TABLE: Record<Role, Record<Action, 'always' | 'if_assigned' | 'never'>> = {
  // Agents see and work only the cases assigned to them (a supervisor assigns); supervisors
  // and auditors see every case.
  agent: { view: 'if_assigned', note: 'if_assigned', escalate: 'if_assigned', resolve: 'if_assigned', assign: 'never', reopen: 'never', urgent: 'if_assigned', verify_audit: 'never' },
  supervisor: { view: 'always', note: 'always', escalate: 'always', resolve: 'always', assign: 'always', reopen: 'always', urgent: 'always', verify_audit: 'never' },
  auditor: { view: 'always', note: 'never', escalate: 'never', resolve: 'never', assign: 'never', reopen: 'never', urgent: 'never', verify_audit: 'always' },
};

export function may(staff: StaffAccount, action: Action, supportCase?: SupportCase): boolean {
  const rule = TABLE[staff.role][action];
  if (rule === 'always') return true;
  if (rule === 'never') return false;
  return supportCase?.assignee === staff.id;
}
