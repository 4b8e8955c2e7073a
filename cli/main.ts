import { Command, CommanderError, Option } from 'commander';
import { ConfigError, loadConfig } from '../config';
import type { ClinicCreateOptions } from './clinics';
import type { RemindOptions } from './demo';
import { CliError } from './output';
import type { PeersOptions } from './peers';
import type { SweepRunOptions } from './sweeps';

// Each command's module loads only when it runs, so --help and quick commands start fast.
const program = new Command('carebell')
  .description(
    'Operate carebell: provisioning, clinics and API keys, patients, journeys, events, sweeps, demos and maintenance.',
  )
  .showHelpAfterError('(run with --help for usage)')
  .exitOverride();

program
  .command('provision')
  .description('find or build the Temporal dev server and time-skipping test server (cached per user)')
  .option('--json', 'print the result as JSON')
  .action(async (options: { json?: boolean }) =>
    (await import('./provision')).provisionCommand(loadConfig(), options),
  );

const demo = program.command('demo').description('try carebell against the running `npm start`');
demo
  .command('remind')
  .description('create (or reuse) a demo clinic and patient and send them a reminder')
  .requiredOption('--name <name>', "patient's name")
  .requiredOption('--phone <e164>', 'mobile number in E.164 form, e.g. +14155550123')
  .requiredOption('--email <address>', 'email address')
  .requiredOption('--dob <YYYY-MM-DD>', 'date of birth')
  .addOption(new Option('--language <tag>', 'language of the message').default('en'))
  .addOption(new Option('--channel <channel>', 'preferred channel').choices(['sms', 'email']).default('sms'))
  .option('--time-zone <iana>', "patient's time zone", Intl.DateTimeFormat().resolvedOptions().timeZone)
  .option('--in <duration>', 'when the reminder is due, from now: 30s, 5m, 1h30m, PT2M', '10s')
  .option('--wait', 'wait until the message reached the provider; exit non-zero if it did not')
  .option('--timeout <duration>', 'with --wait: give up after this long (default: due time + 2m)')
  .option('--json', 'print the result as JSON')
  .action(async (options: RemindOptions) =>
    (await import('./demo')).demoRemindCommand(loadConfig(), options),
  );

const keys = program.command('keys').description('encryption keys of PHI at rest and in Temporal');
keys
  .command('rotate')
  .description('add a new newest key (data dir key ring) and re-encrypt every PHI value under it; resumable')
  .option('--json', 'print the counts as JSON')
  .action(async (options: { json?: boolean }) =>
    (await import('./keys')).keysRotateCommand(loadConfig(), options),
  );

const audit = program.command('audit').description('the append-only, hash-chained audit log');
audit
  .command('verify')
  .description(
    'recompute the hash chain and print its head; exit 0 when intact, otherwise name the first broken row',
  )
  .option('--expect-head <hash>', 'a head printed earlier: fail unless the chain still contains it')
  .option('--json', 'print the result as JSON')
  .action(async (options: { json?: boolean; expectHead?: string }) =>
    (await import('./audit')).auditVerifyCommand(loadConfig(), options),
  );

const clinics = program.command('clinics').description("clinics' settings");
clinics
  .command('settings')
  .description(
    "show a clinic's journey settings (open-enrollment dates, when a patient is lapsed); with --file, store new ones",
  )
  .requiredOption('--clinic <id>', 'the clinic (UUID)')
  .option(
    '--file <file>',
    'settings (JSON): { "openEnrollment": { "opensOn": "11-01", "januaryDeadline": "12-15", "closesOn": "01-15" }, "lapsedAfterMonths": 12 }',
  )
  .option('--json', 'print the settings as JSON')
  .action(async (options: { clinic: string; file?: string; json?: boolean }) =>
    (await import('./clinics')).clinicsSettingsCommand(loadConfig(), options),
  );

clinics
  .command('create')
  .description('create a clinic; prints its id, which keys, events and imports name it by')
  .requiredOption('--name <name>', "the clinic's legal name (for staff; never shown to patients)")
  .requiredOption('--time-zone <iana>', "the clinic's time zone, e.g. America/Chicago")
  .option('--display-name <name>', 'the name messages carry (default: --name)')
  .option('--contact-phone <e164>', 'the number messages and HELP replies give patients')
  .option('--postal-address <address>', 'postal address (marketing email carries it)')
  .option('--phone-region <CC>', 'region numbers without a country code are read in', 'US')
  .option('--language <tag>', "patients' language when none is on record", 'en')
  .option('--json', 'print the clinic as JSON')
  .action(async (options: ClinicCreateOptions) =>
    (await import('./clinics')).clinicsCreateCommand(loadConfig(), options),
  );

const apiKeys = program.command('api-keys').description("clinics' API keys (shown once, stored hashed)");
apiKeys
  .command('create')
  .description('issue an API key for a clinic with the scopes it needs; prints the key once')
  .requiredOption('--clinic <id>', 'the clinic (UUID)')
  .requiredOption(
    '--scopes <list>',
    'comma-separated: ehr:write, patients:read, patients:write, journeys:admin, reports:read',
  )
  .option('--name <name>', 'what the key is for, e.g. "Epic interface"', 'API key')
  .option('--json', 'print the key and its id as JSON')
  .action(async (options: { clinic: string; scopes: string; name: string; json?: boolean }) =>
    (await import('./api-keys')).apiKeysCreateCommand(loadConfig(), options),
  );
apiKeys
  .command('list')
  .description("a clinic's API keys: prefix, scopes, last use, revocation (never the key)")
  .requiredOption('--clinic <id>', 'the clinic (UUID)')
  .option('--json', 'print them as JSON')
  .action(async (options: { clinic: string; json?: boolean }) =>
    (await import('./api-keys')).apiKeysListCommand(loadConfig(), options),
  );
apiKeys
  .command('revoke')
  .description('revoke an API key at once: requests with it answer 401')
  .argument('<id>', 'the key id (from `api-keys list`)')
  .requiredOption('--clinic <id>', 'the clinic (UUID)')
  .option('--json', 'print the result as JSON')
  .action(async (id: string, options: { clinic: string; json?: boolean }) =>
    (await import('./api-keys')).apiKeysRevokeCommand(loadConfig(), id, options),
  );

program
  .command('patients')
  .description("a clinic's patients")
  .command('import')
  .description(
    'import patients from a CSV file with a progress bar (the same job as POST /v1/imports/patients)',
  )
  .argument('<file>', 'the CSV file (header row of documented columns; see the README)')
  .requiredOption('--clinic <id>', 'the clinic (UUID)')
  .option('--json', 'print the outcome as JSON')
  .action(async (file: string, options: { clinic: string; json?: boolean }) =>
    (await import('./patients')).patientsImportCommand(loadConfig(), file, options),
  );

const journeys = program.command('journeys').description('journey definitions');
journeys
  .command('list')
  .description('list the built-in journeys, or those a clinic runs, with their versions')
  .option('--clinic <id>', "the clinic's journeys: its own versions replace the built-in ones")
  .option('--json', 'print them as JSON')
  .action(async (options: { clinic?: string; json?: boolean }) =>
    (await import('./journeys')).journeysListCommand(loadConfig(), options),
  );

journeys
  .command('publish')
  .description(
    "publish a clinic's own version of a journey; new enrollments use it, running ones keep theirs",
  )
  .requiredOption('--clinic <id>', 'the clinic (UUID)')
  .requiredOption('--file <file>', 'the journey definition (JSON; see `carebell journeys schema`)')
  .option('--json', 'print the published key and version as JSON')
  .action(async (options: { clinic: string; file: string; json?: boolean }) =>
    (await import('./journeys')).journeysPublishCommand(loadConfig(), options),
  );

for (const [name, active] of [
  ['activate', true],
  ['deactivate', false],
] as const) {
  journeys
    .command(name)
    .description(
      active
        ? 'switch a journey on for a clinic: events and sweeps start it again'
        : 'switch a journey off for a clinic: nothing new starts it; running enrollments finish',
    )
    .argument('<key>', 'the journey, e.g. re-engagement')
    .requiredOption('--clinic <id>', 'the clinic (UUID)')
    .option('--json', 'print the result as JSON')
    .action(async (key: string, options: { clinic: string; json?: boolean }) =>
      (await import('./journeys')).journeysActivateCommand(loadConfig(), key, active, options),
    );
}

journeys
  .command('schema')
  .description("print the journey definition schema as JSON Schema, for clinics' own tools")
  .action(async () => (await import('../journeys/schema')).printJourneyJsonSchema());

program
  .command('simulate')
  .description('preview what a patient would receive from a journey, and when, in their zone and language')
  .requiredOption('--journey <key|file>', 'a built-in journey key or a definition file (JSON)')
  .requiredOption(
    '--patient <file>',
    'sample patient (JSON): timeZone, language, preferredChannel, channels, marketingOptIn',
  )
  .requiredOption('--event <file>', 'trigger event (JSON): type, anchorDate or anchorInDays, facts, then')
  .option('--json', 'print the timeline as one JSON array')
  .action(async (options: { journey: string; patient: string; event: string; json?: boolean }) =>
    (await import('./journeys')).simulateCommand(loadConfig(), options),
  );

program
  .command('screenings')
  .description('preventive screenings (USPSTF, by test method)')
  .command('due')
  .description(
    "the screenings a patient is due for, with due dates and whether overdue (the daily sweep's rule)",
  )
  .requiredOption(
    '--patient <file>',
    'patient (JSON): dateOfBirth, sexAtBirth, screenings [{test, date, status}], exclusions [{test, date}]',
  )
  .option('--on <YYYY-MM-DD>', 'the day to judge on (default today)')
  .option('--json', 'print the result as JSON')
  .action(async (options: { patient: string; on?: string; json?: boolean }) =>
    (await import('./screenings')).screeningsDueCommand(options),
  );

const events = program.command('events').description('EHR events that start, advance or end journeys');
events
  .command('send')
  .description('act on one event: start the journeys it triggers, pass it to running ones (idempotent)')
  .requiredOption('--clinic <id>', 'the clinic (UUID)')
  .requiredOption(
    '--file <file>',
    'the event (JSON): type, patient {id|ehrId}, eventId, subject, anchorDate, occurredOn, facts',
  )
  .option('--json', 'print what was started and signalled as JSON')
  .action(async (options: { clinic: string; file: string; json?: boolean }) =>
    (await import('./events')).eventsSendCommand(loadConfig(), options),
  );

const archive = program.command('archive').description('the message archive (what exactly was sent)');
archive
  .command('purge')
  .description(
    "delete archived messages past each clinic's retention period and long-expired links now (the daily schedule does the same), with progress",
  )
  .option('--json', 'print the counts as JSON')
  .action(async (options: { json?: boolean }) =>
    (await import('./archive')).archivePurgeCommand(loadConfig(), options),
  );

const sweepsCommand = program
  .command('sweeps')
  .description('scheduled sweeps that enroll due patients (daily screening check, open enrollment)');
sweepsCommand
  .command('list')
  .description('the sweeps, their schedules and next runs')
  .option('--json', 'print them as JSON')
  .action(async (options: { json?: boolean }) =>
    (await import('./sweeps')).sweepsListCommand(loadConfig(), options),
  );
sweepsCommand
  .command('run')
  .description('run a sweep now, outside its schedule')
  .argument('<key>', 'the sweep, e.g. screening-check')
  .option('--batch-size <n>', 'patients per page', '100')
  .option('--rate <n>', 'journeys started per second at most', '20')
  .option('--wait', 'show progress until the sweep is done')
  .option('--json', 'print the result as JSON')
  .action(async (key: string, options: SweepRunOptions) =>
    (await import('./sweeps')).sweepsRunCommand(loadConfig(), key, options),
  );
for (const action of ['pause', 'resume'] as const)
  sweepsCommand
    .command(action)
    .description(
      action === 'pause'
        ? 'pause sweep schedules (all, or the named ones) until resumed; restarts and deploys keep them paused'
        : 'resume paused sweep schedules (all, or the named ones)',
    )
    .argument('[keys...]', 'sweeps, e.g. screening-check; none means every sweep')
    .option('--note <text>', 'why, kept on the schedule for other operators')
    .option('--json', 'print the result as JSON')
    .action(async (keys: string[], options: { note?: string; json?: boolean }) =>
      (await import('./sweeps')).sweepsToggleCommand(loadConfig(), action, keys, options),
    );

program
  .command('peers')
  .description('run the local Twilio-compatible SMS peer and STARTTLS SMTP peer on their own')
  .option('--host <address>', 'address to listen on', '127.0.0.1')
  .option('--sms-port <port>', 'port of the Twilio-compatible HTTP peer', '8026')
  .option('--smtp-port <port>', 'port of the SMTP peer', '2526')
  .option('--auth-token <token>', 'Twilio auth token the SMS peer accepts (default: random)')
  .option('--json', 'print the settings a worker needs as JSON')
  .action(async (options: PeersOptions) => (await import('./peers')).peersCommand(loadConfig(), options));

try {
  await program.parseAsync(process.argv);
} catch (error) {
  if (error instanceof CommanderError) process.exit(error.exitCode);
  const exitCode = error instanceof CliError ? error.exitCode : error instanceof ConfigError ? 2 : 1;
  process.stderr.write(`carebell: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(exitCode);
}
