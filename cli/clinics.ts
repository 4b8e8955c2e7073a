import type { Config } from '../config';
import { appendAudit } from '../db/queries/audit';
import { getClinic, setClinicSettings } from '../db/queries/clinics';
import { withClinic } from '../db/tenant';
import { clinicSettings, settingsOf } from '../journeys/clinic-settings';
import { clinicIdOption, withCarebell } from './connect';
import { bySchema, CliError, printJson, readInputFile } from './output';

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
