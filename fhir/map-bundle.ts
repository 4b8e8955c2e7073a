// FHIR R4 in, carebell commands out: a Bundle (batch, transaction or collection) or a single resource
// becomes one command per entry, in an order that can be applied in sequence (patients first). Pure: the
// HTTP layer applies the commands and answers per entry, like a batch-response. A bad entry is one invalid
// command and never costs the good ones; nothing here throws, whatever JSON it is given.
import { mapAppointment } from './appointment';
import { invalid, skipped, type FhirCommand } from './commands';
import { mapConsent } from './consent';
import { mapCoverage } from './coverage';
import { mapMedicationDispense, mapMedicationRequest } from './medication';
import { mapPatient } from './patient';
import { indexBundle, type BundleIndex } from './references';
import { mapObservation, mapProcedure } from './screening';
import { MAX_STRING, sizeProblem } from './size-guard';
import { field, isObject, text, type JsonObject } from './values';

export type { FhirCommand } from './commands';
export { capabilityStatement } from './capability-statement';
export { CONTACT_CONSENT_SYSTEM, contactConsentCodeSystem } from './consent';

export interface MappedEntry {
  /** The entry's position in the input, to answer in the input's order. */
  index: number;
  fullUrl?: string;
  command: FhirCommand;
}

export type FhirMapping =
  { ok: true; entries: MappedEntry[]; bundleType?: string } | { ok: false; problem: string };

export interface MapOptions {
  /** Contact points and addresses whose period ended before this day are no longer used. */
  now?: Date;
}

/** Said of an entry only if a mapper failed unexpectedly; tests assert it never appears. */
export const UNREADABLE_ENTRY = 'the entry could not be read';

const BUNDLE_TYPES = ['batch', 'transaction', 'collection'];
const RESOURCE_TYPE = /^[A-Z][A-Za-z]{1,63}$/;
const HTTP_METHODS = ['GET', 'HEAD', 'PATCH', 'POST', 'PUT', 'DELETE'];

type Mapper = (resource: JsonObject, index: BundleIndex, today: string) => FhirCommand;

const MAPPERS: Record<string, Mapper> = {
  Patient: (resource, _index, today) => {
    const mapped = mapPatient(resource, today);
    return 'problem' in mapped
      ? invalid('Patient', mapped.problem)
      : { kind: 'patient', patient: mapped.patient };
  },
  MedicationDispense: mapMedicationDispense,
  MedicationRequest: mapMedicationRequest,
  Appointment: mapAppointment,
  Coverage: mapCoverage,
  Procedure: mapProcedure,
  Observation: mapObservation,
  Consent: mapConsent,
};

type ReadEntry = { fullUrl?: string } & (
  { resourceType: string; resource: JsonObject } | { command: FhirCommand }
);

function readEntry(entry: unknown): ReadEntry {
  if (!isObject(entry)) return { command: { kind: 'invalid', problem: 'entry: must be an object' } };
  const fullUrlValue = field(entry, 'fullUrl');
  const fullUrl = typeof fullUrlValue === 'string' ? fullUrlValue : undefined;
  if (fullUrl !== undefined && fullUrl.length > MAX_STRING)
    return { command: { kind: 'invalid', problem: 'entry.fullUrl: is longer than 10,000 characters' } };
  const method = text(field(entry, 'request'), 'method');
  if (method !== undefined && method !== 'POST' && method !== 'PUT') {
    const problem =
      method === 'DELETE'
        ? 'DELETE is not supported'
        : HTTP_METHODS.includes(method)
          ? `request.method ${method} is not supported (POST or PUT)`
          : 'request.method: must be POST or PUT';
    return { fullUrl, command: { kind: 'invalid', problem } };
  }
  const resource = field(entry, 'resource');
  if (!isObject(resource))
    return {
      fullUrl,
      command: { kind: 'invalid', problem: 'entry.resource: is required (a FHIR resource)' },
    };
  const resourceType = field(resource, 'resourceType');
  if (typeof resourceType !== 'string' || !RESOURCE_TYPE.test(resourceType))
    return {
      fullUrl,
      command: { kind: 'invalid', problem: 'resource.resourceType: must be a FHIR resource type' },
    };
  const tooLarge = sizeProblem(resource);
  if (tooLarge) return { fullUrl, command: invalid(resourceType, `${resourceType}: ${tooLarge}`) };
  return { fullUrl, resourceType, resource };
}

function mapEntries(rawEntries: unknown[], today: string): MappedEntry[] {
  const read = rawEntries.map(readEntry);
  const readable = read.filter((entry) => 'resource' in entry);
  const index = indexBundle(readable);
  const mapped = read.map((entry, position): MappedEntry => {
    const command =
      'command' in entry ? entry.command : mapResource(entry.resourceType, entry.resource, index, today);
    return entry.fullUrl === undefined
      ? { index: position, command }
      : { index: position, fullUrl: entry.fullUrl, command };
  });
  // Stable: patients first, so every command that refers to one finds it already applied.
  return [
    ...mapped.filter((entry) => entry.command.kind === 'patient'),
    ...mapped.filter((entry) => entry.command.kind !== 'patient'),
  ];
}

function mapResource(
  resourceType: string,
  resource: JsonObject,
  index: BundleIndex,
  today: string,
): FhirCommand {
  const mapper = Object.hasOwn(MAPPERS, resourceType) ? MAPPERS[resourceType] : undefined;
  if (!mapper) return skipped(resourceType, 'not used by carebell');
  try {
    return mapper(resource, index, today);
  } catch {
    // The mappers are written not to throw; should one, the rest of the bundle still counts.
    return invalid(resourceType, `${resourceType}: ${UNREADABLE_ENTRY}`);
  }
}

export function mapFhirInput(body: unknown, options: MapOptions = {}): FhirMapping {
  if (!isObject(body))
    return { ok: false, problem: 'the body must be a FHIR resource or Bundle (a JSON object)' };
  const resourceType = field(body, 'resourceType');
  if (typeof resourceType !== 'string' || !RESOURCE_TYPE.test(resourceType))
    return { ok: false, problem: 'resourceType: is required (a Bundle or a single resource)' };
  const today = (options.now ?? new Date()).toISOString().slice(0, 10);
  if (resourceType !== 'Bundle') return { ok: true, entries: mapEntries([{ resource: body }], today) };
  const type = field(body, 'type');
  if (typeof type !== 'string' || !BUNDLE_TYPES.includes(type))
    return { ok: false, problem: `Bundle.type: must be ${BUNDLE_TYPES.join(', ')}` };
  const entries = field(body, 'entry') ?? [];
  if (!Array.isArray(entries)) return { ok: false, problem: 'Bundle.entry: must be an array' };
  return { ok: true, entries: mapEntries(entries, today), bundleType: type };
}
