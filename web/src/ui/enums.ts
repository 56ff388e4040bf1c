// The values of the schema's enums, in the order forms offer them; their
// labels are in the catalogs under the enum's name.
export const urgencies = ['IMMEDIATE', 'HIGH', 'MEDIUM', 'LOW'] as const;
export const sexes = ['FEMALE', 'MALE', 'OTHER', 'UNKNOWN'] as const;
export const populationStatuses = ['MIGRANT_TRANSIT', 'RETURNEE', 'ASYLUM_SEEKER', 'REFUGEE', 'IDP', 'STATELESS', 'NATIONAL_HOST', 'OTHER'] as const;
export const careStatuses = ['UNACCOMPANIED', 'SEPARATED', 'WITH_FAMILY'] as const;
export const journeyStages = ['ORIGIN', 'TRANSIT', 'BORDER', 'DETENTION_OR_HOLDING', 'DESTINATION', 'RETURN_RECEPTION'] as const;
export const perpetratorTypes = ['FAMILY_CAREGIVER', 'COMMUNITY_MEMBER', 'CRIMINAL_GROUP', 'SMUGGLER_TRAFFICKER', 'EMPLOYER', 'STATE_POLICE',
  'STATE_MIGRATION', 'STATE_OTHER_OFFICIAL', 'SHELTER_OR_SERVICE_STAFF', 'HUMANITARIAN_WORKER', 'UNKNOWN'] as const;
export const complainantKinds = ['CHILD', 'FAMILY_MEMBER', 'INSTITUTION', 'NGO', 'ANONYMOUS'] as const;
export const channels = ['IN_PERSON', 'PHONE', 'WRITTEN', 'REFERRAL'] as const;
/** Nationalities most seen at Guatemala's borders (ISO 3166-1 alpha-3; XXA stateless, XXX unknown). */
export const nationalities = ['GTM', 'HND', 'SLV', 'NIC', 'MEX', 'VEN', 'HTI', 'CUB', 'ECU', 'COL', 'XXA', 'XXX'] as const;

/** options turns enum values into select options labelled from the catalog. */
export function options(values: readonly string[], prefix: string, t: (k: string) => string) {
  return values.map((v) => ({ value: v, label: t(`${prefix}.${v}`) }));
}
