import { randomUUID } from 'node:crypto';
import { getCountries, isValidPhoneNumber } from 'libphonenumber-js';
import { z } from 'zod';
import type { Config } from '../config';
import { appendAudit } from '../db/queries/audit';
import { getClinic, insertClinic, setClinicSettings } from '../db/queries/clinics';
import { timeZone } from '../domain/patient-input';
import { withClinic } from '../db/tenant';
import { clinicSettings, settingsOf } from '../journeys/clinic-settings';
import { clinicIdOption, withCarebell } from './connect';
import { bySchema, CliError, parseOptions, printJson, readInputFile } from './output';

/**
 * Shows a clinic's journey settings (open-enrollment dates, when a patient is lapsed), with the defaults
 * filled in; with --file, validates and stores new ones first. Sweeps read them on their next page.
 */
export async function clinicsSettingsCommand(
  config: Config,
  options: { clinic: string; file?: string; json?: boolean },
): Promise<void> {
  const clinicId = clinicIdOption(options.clinic);
  const wanted =
    options.file === undefined
      ? undefined
      : await readInputFile(options.file, 'settings', bySchema(clinicSettings, '(settings)'));
  const settings = await withCarebell(config, ({ db }) =>
    withClinic(db, clinicId, async (tx) => {
      const clinic = await getClinic(tx, clinicId);
      if (!clinic) throw new CliError(`no clinic ${clinicId}`, 2);
      if (!wanted) return settingsOf(clinic.settings);
      await setClinicSettings(tx, clinicId, wanted);
      await appendAudit(tx, {
        actor: 'cli:clinics-settings',
        clinicId,
        action: 'clinic.settings',
        objectType: 'clinic',
        objectId: clinicId,
        outcome: 'success',
      });
      return wanted;
    }),
  );
  if (options.json) return printJson(settings);
  const { opensOn, januaryDeadline, closesOn } = settings.openEnrollment;
  process.stdout.write(
    `${wanted ? 'stored' : 'settings'} for clinic ${clinicId}\n` +
      `  open enrollment      opens ${opensOn}, for 1 January by ${januaryDeadline}, closes ${closesOn} (MM-DD)\n` +
      `  lapsed after         ${settings.lapsedAfterMonths} months without a visit\n`,
  );
}

const newClinic = z
  .object({
    name: z.string().trim().min(1, 'must not be empty').max(200),
    displayName: z.string().trim().min(1).max(60).optional(),
    timeZone,
    contactPhone: z
      .string()
      .refine((value) => isValidPhoneNumber(value), 'must be a phone number in E.164 form, e.g. +14155550123')
      .optional(),
    postalAddress: z.string().trim().min(1).max(500).optional(),
    phoneRegion: z
      .string()
      .regex(/^[A-Z]{2}$/, 'must be an ISO 3166 region code such as US')
      .refine((region) => getCountries().includes(region as never), 'is not a region libphonenumber knows')
      .default('US'),
    language: clinicSettings.shape.defaultLanguage,
    json: z.boolean().optional(),
  })
  .strict();

/** Creates a clinic: its id is what API keys, events and imports name it by. */
export type ClinicCreateOptions = z.input<typeof newClinic>;

export async function clinicsCreateCommand(config: Config, raw: ClinicCreateOptions): Promise<void> {
  const options = parseOptions(newClinic, raw);
  const id = randomUUID();
  const clinic = await withCarebell(config, ({ db }) =>
    withClinic(db, id, async (tx) => {
      const created = await insertClinic(tx, {
        id,
        name: options.name,
        displayName: options.displayName,
        timeZone: options.timeZone,
        contactPhone: options.contactPhone,
        postalAddress: options.postalAddress,
        phoneRegion: options.phoneRegion,
        settings: clinicSettings.parse({ defaultLanguage: options.language }),
      });
      await appendAudit(tx, {
        actor: 'cli:clinics-create',
        clinicId: id,
        action: 'clinic.create',
        objectType: 'clinic',
        objectId: id,
        outcome: 'success',
      });
      return created;
    }),
  );
  if (options.json)
    return printJson({
      id: clinic.id,
      name: clinic.name,
      timeZone: clinic.timeZone,
      phoneRegion: clinic.phoneRegion,
    });
  process.stdout.write(`created clinic ${clinic.id} (${clinic.name}, ${clinic.timeZone})\n`);
}
