// References between the entries of one bundle: a dispense's subject is the Patient beside it, by fullUrl
// (often urn:uuid:…) or by Type/id. Reference ids are the EHR's resource ids, not PHI, so problems may name
// them; identifier values (MRNs) and anything else are never repeated.
import { externalId } from '../domain/patient-input';
import { mrnOf } from './patient';
import { field, text, type JsonObject } from './values';

export type BundleIndex = Map<string, JsonObject>;

const RELATIVE = /^([A-Z][A-Za-z]{1,63})\/([A-Za-z0-9\-.]{1,64})$/;
const URN = /^urn:(uuid:[0-9a-fA-F-]{36}|oid:[0-9.]{1,64})$/;

/** `Type/id` of a relative or absolute reference (a version suffix dropped), if it has that shape. */
function relativeForm(reference: string): string | undefined {
  const unversioned = reference.replace(/\/_history\/[^/]*$/, '');
  const tail = /([A-Z][A-Za-z]{1,63}\/[A-Za-z0-9\-.]{1,64})$/.exec(unversioned)?.[1];
  return tail && (tail === unversioned || unversioned.endsWith(`/${tail}`)) ? tail : undefined;
}

export function indexBundle(entries: { fullUrl?: string; resource: JsonObject }[]): BundleIndex {
  const index: BundleIndex = new Map();
  for (const { fullUrl, resource } of entries) {
    const type = text(resource, 'resourceType');
    const id = text(resource, 'id');
    // The first of duplicates wins, so a later entry cannot redirect references already meant for another.
    const keys = [fullUrl, fullUrl && relativeForm(fullUrl), type && id ? `${type}/${id}` : undefined];
    for (const key of keys) if (key && !index.has(key)) index.set(key, resource);
  }
  return index;
}

export function findResource(index: BundleIndex, reference: string): JsonObject | undefined {
  const relative = relativeForm(reference);
  return index.get(reference) ?? (relative === undefined ? undefined : index.get(relative));
}

/** How a problem may name a reference: only shapes that carry ids, never free text. */
export function describeReference(reference: string): string {
  if (RELATIVE.test(reference) || URN.test(reference)) return reference;
  return relativeForm(reference) ?? 'the reference';
}

export type PatientResolution = { mrn: string } | { problem: string };

/** The MRN of the patient a Reference points at; `where` names the field, e.g. `Coverage.beneficiary`. */
export function resolvePatient(index: BundleIndex, ref: unknown, where: string): PatientResolution {
  const reference = text(ref, 'reference');
  const identifier = text(field(ref, 'identifier'), 'value');
  const fromIdentifier = (): PatientResolution =>
    externalId.safeParse(identifier).success
      ? { mrn: identifier! }
      : {
          problem: `${where}: identifier.value must be printable ASCII without spaces, at most 200 characters`,
        };
  if (reference === undefined) {
    if (identifier !== undefined) return fromIdentifier();
    return { problem: `${where}: is required (a reference to the Patient, or its identifier)` };
  }
  const named = describeReference(reference);
  const found = findResource(index, reference);
  const type = found ? text(found, 'resourceType') : relativeForm(reference)?.split('/')[0];
  if (type !== undefined && type !== 'Patient') return { problem: `${where}: must reference a Patient` };
  if (found) {
    const mrn = mrnOf(found);
    if (mrn !== undefined) return { mrn };
    if (identifier !== undefined) return fromIdentifier();
    return { problem: `${where}: ${named} has no identifier (an MRN) to know the patient by` };
  }
  if (identifier !== undefined) return fromIdentifier();
  return { problem: `${where}: ${named} is not in this bundle and has no identifier` };
}
