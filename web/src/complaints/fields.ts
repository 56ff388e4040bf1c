// The catalog key of the label of a field the server names in an outbox
// entry's refusal (its input paths), so the person reads "Resumen del caso"
// and not "summary".
import type { EntryKind } from './queue';

export const caseFields: Record<string, string> = {
  'child.givenName': 'fileCase.givenName', 'child.familyName': 'fileCase.familyName', 'child.dateOfBirth': 'fileCase.dateOfBirth',
  'child.ageYears': 'fileCase.ageYears', 'child.sex': 'fileCase.sex', 'child.nationality': 'fileCase.nationality',
  'child.populationStatus': 'fileCase.populationStatus', 'child.careStatus': 'fileCase.careStatus', 'child.contact': 'fileCase.contact',
  violations: 'fileCase.violations', 'violations.type': 'fileCase.violationType', 'violations.occurredOn': 'fileCase.occurredOn',
  'violations.journeyStage': 'fileCase.journeyStage', 'violations.perpetratorType': 'fileCase.perpetratorType',
  'violations.description': 'fileCase.violationDescription', departmentCode: 'fileCase.department', entryPoint: 'fileCase.entryPoint',
  urgency: 'fileCase.urgency', summary: 'fileCase.summary',
};

export const complaintFields: Record<string, string> = {
  violations: 'intake.violations', description: 'intake.description', occurredOn: 'intake.occurredOn', 'complainant.kind': 'intake.kind',
  'complainant.name': 'intake.name', 'complainant.contact': 'intake.contact', channel: 'intake.channel',
  departmentCode: 'fileCase.department', entryPoint: 'fileCase.entryPoint',
};

/** fieldLabel is the catalog key of path's label in an entry of kind, or undefined for a path it does not know. */
export function fieldLabel(kind: EntryKind, path: string): string | undefined {
  return (kind === 'case' ? caseFields : complaintFields)[path.replace(/\[\d+\]/g, '')];
}
