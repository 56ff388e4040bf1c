// The queues of the case list, per role: an officer's own cases and the
// institution's unassigned ones; a supervisor's whole institution, the
// unassigned, the overdue and the closures to decide; oversight's all.
import type { CaseFilter } from '../gql/graphql';

export type View = { key: string; filter: CaseFilter };

export const views: Record<string, View> = {
  mine: { key: 'mine', filter: { assignedToMe: true } },
  unassigned: { key: 'unassigned', filter: { unassigned: true } },
  all: { key: 'all', filter: {} },
  overdue: { key: 'overdue', filter: { overdue: true } },
  closures: { key: 'closures', filter: { status: ['CLOSURE_REQUESTED'] } },
};

/** viewsFor lists the queues a person with these roles works from, the first being the default. */
export function viewsFor(roles: readonly string[]): View[] {
  if (roles.includes('supervisor')) return [views.all!, views.unassigned!, views.overdue!, views.closures!, views.mine!];
  if (roles.includes('officer')) return [views.mine!, views.unassigned!, views.overdue!];
  return [views.all!];
}
