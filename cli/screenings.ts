import { DateTime } from 'luxon';
import { z } from 'zod';
import { screeningsDue } from '../journeys/screening';
import { bySchema, CliError, printJson, readInputFile } from './output';

const date = z.iso.date();
const patientFile = z
  .object({
    dateOfBirth: date,
    sexAtBirth: z.string().optional(),
    screenings: z
      .array(
        z
          .object({
            test: z.string().min(1).max(100),
            date,
            status: z.enum(['done', 'declined', 'elsewhere']).optional(),
          })
          .strict(),
      )
      .default([]),
    exclusions: z.array(z.object({ test: z.string().min(1).max(100), date }).strict()).default([]),
  })
  .strict();

/** The screenings a patient file is due for: the same function the daily sweep uses. */
export async function screeningsDueCommand(options: { patient: string; on?: string; json?: boolean }) {
  const today = options.on ?? DateTime.now().toISODate();
  if (!date.safeParse(today).success) throw new CliError(`--on must be a date, YYYY-MM-DD`, 2);
  const patient = await readInputFile(options.patient, 'patient', bySchema(patientFile, '(patient)'));
  const due = screeningsDue(patient, today);
  if (options.json) return printJson(due);
  if (due.length === 0) process.stdout.write(`no screening is due for this patient on ${today}\n`);
  for (const entry of due) {
    const state = entry.overdue ? `OVERDUE since ${entry.dueDate}` : `due ${entry.dueDate}`;
    const last = entry.lastMethod ? ` (last: ${entry.lastMethod})` : ' (never screened)';
    process.stdout.write(`${entry.program.padEnd(12)} ${state}${last}\n`);
  }
}
