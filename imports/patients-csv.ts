// A clinic's patient CSV, read one record at a time into validated rows so an upload of any size streams
// with flat memory (only the external ids seen so far are kept, to refuse a repeated one). Pure: the caller
// imports the good rows and reports the others. A problem names the CSV column and the reason, never the
// cell's value, since every cell is PHI.
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { parse, type CsvError, type Info } from 'csv-parse';
import type { z } from 'zod';
import {
  consentInput,
  externalId,
  patientInput,
  type ConsentInput,
  type PatientInput,
} from '../domain/patient-input';
import { normaliseSexAtBirth } from '../domain/patient';

export const PATIENT_CSV_COLUMNS = [
  {
    name: 'external_id',
    required: true,
    description:
      "The clinic's id for the patient (the MRN), printable ASCII without spaces. Rows are upserted by it, so it may appear only once in a file.",
  },
  {
    name: 'name',
    required: true,
    description: 'The name to address the patient by, as the record writes it.',
  },
  {
    name: 'date_of_birth',
    required: true,
    description: 'YYYY-MM-DD, or MM/DD/YYYY as US exports write it; between 1900 and today.',
  },
  { name: 'sex_at_birth', required: false, description: 'F, M, U, female, male or unknown.' },
  {
    name: 'language',
    required: false,
    description: "BCP 47 tag such as en, es-MX or zh-Hant; empty: the clinic's language.",
  },
  {
    name: 'time_zone',
    required: false,
    description: "IANA zone such as America/Chicago; empty: the clinic's zone.",
  },
  {
    name: 'preferred_channel',
    required: false,
    description: 'sms or email; empty: SMS when there is a mobile number, otherwise email.',
  },
  {
    name: 'mobile_phone',
    required: false,
    description:
      "As the record writes it; normalised with the clinic's region. Only a mobile number is texted.",
  },
  {
    name: 'home_phone',
    required: false,
    description: 'As the record writes it; kept for the record, never texted.',
  },
  { name: 'email', required: false, description: 'One email address.' },
  { name: 'postal_address', required: false, description: 'Free text; may span lines inside quotes.' },
  { name: 'status', required: false, description: 'active, inactive or deceased; empty: active.' },
  {
    name: 'sms_consent',
    required: false,
    description:
      'Consent to transactional texts: yes/no, true/false, y/n or 1/0; empty: no decision recorded.',
  },
  { name: 'email_consent', required: false, description: 'Consent to transactional email, as sms_consent.' },
  {
    name: 'marketing_sms_consent',
    required: false,
    description: 'Authorization for marketing texts, as sms_consent.',
  },
  {
    name: 'marketing_email_consent',
    required: false,
    description: 'Authorization for marketing email, as sms_consent.',
  },
  {
    name: 'consent_date',
    required: false,
    description:
      'When the consents in the row were given: YYYY-MM-DD (or MM/DD/YYYY, taken as noon UTC so it is that date in every US zone) or a date-time with an offset such as 2026-03-01T09:30:00-05:00; empty: the time of the import.',
  },
  {
    name: 'consent_disclosure_version',
    required: false,
    description: 'The version of the consent wording the patient signed, so it can be produced later.',
  },
] as const satisfies readonly { name: string; required: boolean; description: string }[];

type Column = (typeof PATIENT_CSV_COLUMNS)[number]['name'];
type Cells = Partial<Record<Column, string>>;

export type CsvRow =
  | { line: number; ok: true; patient: PatientInput; consents: ConsentInput[] }
  | { line: number; ok: false; problems: string[] };

/** The header cannot be read as the documented columns; thrown before any row. */
export class CsvHeaderError extends Error {
  override name = 'CsvHeaderError';
  constructor(
    message: string,
    readonly columns: { unknown: string[]; missing: string[]; duplicated: string[] } = {
      unknown: [],
      missing: [],
      duplicated: [],
    },
  ) {
    super(message);
  }
}

/**
 * The file stops being CSV at `line` (where the record starts): a quoted field never closed, a closing quote
 * followed by more text, a record over 1 MiB. Where a record ends is then unknown, so reading on could
 * merge or drop patients silently; rows before it have already been yielded.
 */
export class CsvSyntaxError extends Error {
  override name = 'CsvSyntaxError';
  constructor(
    readonly line: number,
    readonly code: string,
    reason: string,
  ) {
    super(`line ${line}: ${reason}`);
  }
}

const MAX_RECORD_BYTES = 64 * 1024;
const CHUNK_BYTES = 64 * 1024;
// Past this csv-parse gives up on the file: it bounds memory when a quote is left open or the file has no
// line breaks at all, while records between 64 KiB and this still fail one by one.
const MAX_RECORD_CHARS = 1024 * 1024;

const COLUMN_NAMES = new Set<string>(PATIENT_CSV_COLUMNS.map((column) => column.name));
const REQUIRED_COLUMNS = PATIENT_CSV_COLUMNS.filter((column) => column.required).map((column) => column.name);

const CONSENT_COLUMNS = [
  ['sms_consent', 'sms', 'transactional'],
  ['email_consent', 'email', 'transactional'],
  ['marketing_sms_consent', 'sms', 'marketing'],
  ['marketing_email_consent', 'email', 'marketing'],
] as const;

const PATIENT_FIELD_COLUMNS: Record<string, Column> = {
  externalId: 'external_id',
  name: 'name',
  dateOfBirth: 'date_of_birth',
  sexAtBirth: 'sex_at_birth',
  language: 'language',
  timeZone: 'time_zone',
  preferredChannel: 'preferred_channel',
  emails: 'email',
  postalAddress: 'postal_address',
  status: 'status',
};

const EVIDENCE_FIELD_COLUMNS: Record<string, Column> = {
  at: 'consent_date',
  disclosureVersion: 'consent_disclosure_version',
};

// The schema's own words for these name the API's formats; a CSV also takes the US form.
const FORMAT_REASONS: Partial<Record<Column, string>> = {
  date_of_birth: 'must be a real date as YYYY-MM-DD or MM/DD/YYYY',
  consent_date:
    'must be a date as YYYY-MM-DD or MM/DD/YYYY, or a date-time such as 2026-03-01T09:30:00-05:00',
};

// csv-parse copies its position (Info, and the field's index as `column`) onto the error.
type ParserItem = { record: string[]; info: Info } | { error: CsvError & Info & { column: unknown } };

export async function* parsePatientsCsv(
  input: AsyncIterable<Buffer | string> | Buffer | string,
  options: { consentSource?: string } = {},
): AsyncGenerator<CsvRow> {
  const consentSource = options.consentSource ?? 'csv-import';
  // A bad source would fail every row for a reason no cell can fix.
  if (!consentInput.shape.evidence.shape.source.safeParse(consentSource).success)
    throw new TypeError('consentSource must be 1 to 100 characters');
  const parser = parse({
    bom: true,
    info: true,
    relax_column_count: true,
    skip_empty_lines: true,
    max_record_size: MAX_RECORD_CHARS,
    // Errors come back as markers in the record stream rather than as a stream error, which would discard
    // the records already parsed in the same chunk; a marker also keeps the skipped record's place.
    skip_records_with_error: true,
    on_skip: (error) => {
      if (error) parser.push({ error });
    },
  });
  // A failing source destroys the parser, and its error comes out of the loop below.
  const feeding = pipeline(Readable.from(slices(input)), parser).catch(() => undefined);

  let header: Column[] | undefined;
  // Lines are counted here, as an editor counts them (by LF): a record starts on the line after the last
  // one ended, past the empty lines csv-parse skipped, and spans one more line per LF in its fields.
  // csv-parse's own count takes a CRLF inside quotes for two lines and misses a CR at the end of the file.
  let nextLine = 1;
  let emptyLines = 0;
  // After a skipped record, whose fields are never seen, csv-parse's count less the CRs it counted as
  // lines finds the line again (one off if the skipped record held a CRLF inside quotes: rare).
  let carriageReturns = 0;
  let skippedAt = -1;
  let resync = false;
  const seen = new Map<string, number>();
  try {
    for await (const item of parser as AsyncIterable<ParserItem>) {
      if ('error' in item) {
        const { error } = item;
        const start = nextLine + error.empty_lines - emptyLines;
        if (error.code !== 'INVALID_OPENING_QUOTE') throw syntaxError(error, start);
        // csv-parse drops the record but reads on from its next field, so only this record is lost. A
        // second stray quote on the same line is the same record (one on a later line of a record that
        // spans lines would count as another: rare enough to live with).
        if (error.lines === skippedAt) continue;
        skippedAt = error.lines;
        nextLine = error.lines - carriageReturns + 1;
        emptyLines = error.empty_lines;
        resync = true;
        if (!header)
          throw new CsvHeaderError(`line ${start}: the header has a quote inside an unquoted name`);
        const column = typeof error.column === 'number' ? header[error.column] : undefined;
        yield {
          line: start,
          ok: false,
          problems: [
            `${column ?? 'record'}: has a quote inside an unquoted field (quote the field and double the quote)`,
          ],
        };
        continue;
      }
      const { record, info } = item;
      let lineFeeds = 0;
      for (const field of record) {
        lineFeeds += count(field, '\n');
        carriageReturns += count(field, '\r');
      }
      const following = nextLine + info.empty_lines - emptyLines;
      const line = resync ? Math.max(following, info.lines - lineFeeds - carriageReturns) : following;
      resync = false;
      nextLine = line + lineFeeds + 1;
      emptyLines = info.empty_lines;
      // Spreadsheets export rows they once formatted as ",,,,": as blank as an empty line.
      if (record.every((field) => field.trim() === '')) continue;
      if (!header) {
        header = readHeader(record, line);
        continue;
      }
      yield checkRecord(record, line, header, seen, consentSource);
    }
    if (!header)
      throw new CsvHeaderError(
        `the file is empty: the first line must name the columns, such as ${REQUIRED_COLUMNS.join(',')}`,
      );
  } finally {
    parser.destroy();
    await feeding;
  }
}

/**
 * The input in pieces of at most 64 KiB: csv-parse turns a whole chunk into records at once, whatever its
 * reader's pace, so a file handed over in one piece would otherwise be all in memory as records.
 */
async function* slices(input: AsyncIterable<Buffer | string> | Buffer | string): AsyncGenerator<Buffer> {
  for await (const chunk of typeof input === 'string' || Buffer.isBuffer(input) ? [input] : input) {
    const bytes = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    for (let start = 0; start < bytes.length; start += CHUNK_BYTES)
      yield bytes.subarray(start, start + CHUNK_BYTES);
  }
}

function syntaxError(error: CsvError, line: number): CsvSyntaxError {
  // csv-parse's own message may quote the field, which is PHI.
  const reasons: Record<string, string> = {
    CSV_QUOTE_NOT_CLOSED: 'a quoted field starts in this record and is never closed',
    CSV_INVALID_CLOSING_QUOTE:
      'a closing quote is followed by more text (inside quotes, write a quote as "")',
    CSV_MAX_RECORD_SIZE: 'the record is larger than 1 MiB (a quote left open?)',
  };
  return new CsvSyntaxError(
    line,
    error.code,
    reasons[error.code] ?? `the file cannot be read as CSV (${error.code})`,
  );
}

function readHeader(record: string[], line: number): Column[] {
  const names = record.map((cell) => cell.trim().toLowerCase());
  // Without a single known name this is no header, perhaps a first patient: do not echo it.
  if (!names.some((name) => COLUMN_NAMES.has(name)))
    throw new CsvHeaderError(
      `line ${line} is not a header: it names none of the columns ${[...COLUMN_NAMES].join(', ')}`,
    );
  const unknownAt = names.flatMap((name, i) => (COLUMN_NAMES.has(name) ? [] : [i]));
  const unknown = unknownAt.map((i) => record[i]!.trim().slice(0, 40));
  const shown = unknownAt
    .slice(0, 10)
    .map((i, n) => (unknown[n] ? JSON.stringify(unknown[n]) : `(column ${i + 1} has no name)`));
  const missing = REQUIRED_COLUMNS.filter((name) => !names.includes(name));
  const duplicated = [
    ...new Set(names.filter((name, i) => COLUMN_NAMES.has(name) && names.indexOf(name) !== i)),
  ];
  const faults = [
    unknown.length
      ? `unknown column ${shown.join(', ')}${unknown.length > 10 ? ` and ${unknown.length - 10} more` : ''} (the columns are ${[...COLUMN_NAMES].join(', ')})`
      : '',
    missing.length ? `missing required column ${missing.join(', ')}` : '',
    duplicated.length ? `duplicated column ${duplicated.join(', ')}` : '',
  ].filter(Boolean);
  if (faults.length)
    throw new CsvHeaderError(`line ${line}, the header: ${faults.join('; ')}`, {
      unknown,
      missing,
      duplicated,
    });
  return names as Column[];
}

function checkRecord(
  record: string[],
  line: number,
  header: Column[],
  seen: Map<string, number>,
  consentSource: string,
): CsvRow {
  // The fields no longer line up with the columns: anything more would be said about the wrong column.
  if (record.length !== header.length)
    return {
      line,
      ok: false,
      problems: [
        `record has ${record.length} field${record.length === 1 ? '' : 's'}, the header has ${header.length}`,
      ],
    };
  if (record.reduce((bytes, field) => bytes + Buffer.byteLength(field) + 1, -1) > MAX_RECORD_BYTES)
    return { line, ok: false, problems: ['record is larger than 64 KiB'] };

  const problems: string[] = [];
  const cells: Cells = {};
  const unreadable = new Set<Column | undefined>();
  header.forEach((column, i) => {
    const value = record[i]!.trim();
    // Invalid bytes decode to U+FFFD; a real record never holds it, so it means mangled bytes either way.
    if (value.includes('\uFFFD')) unreadable.add(column);
    else if (value) cells[column] = value;
  });
  for (const column of unreadable) problems.push(`${column}: not valid UTF-8 (save the file as CSV UTF-8)`);
  // Whatever else is wrong with an unreadable cell follows from it.
  const report = (issue: z.core.$ZodIssue, column: Column | undefined) => {
    if (!unreadable.has(column)) problems.push(describe(issue, column, cells));
  };

  const id = externalId.safeParse(cells.external_id);
  if (id.success) {
    const first = seen.get(id.data);
    if (first === undefined) seen.set(id.data, line);
    else problems.push(`external_id: repeats line ${first}`);
  }

  const phones: { number: string; use: 'mobile' | 'home' }[] = [];
  const phoneColumns: Column[] = [];
  for (const [column, use] of [
    ['mobile_phone', 'mobile'],
    ['home_phone', 'home'],
  ] as const) {
    const number = cells[column];
    if (number === undefined) continue;
    phones.push({ number, use });
    phoneColumns.push(column);
  }
  const sexAtBirth = normaliseSexAtBirth(cells.sex_at_birth);
  if (cells.sex_at_birth && !sexAtBirth)
    problems.push('sex_at_birth: must be F, M, U, female, male or unknown');

  const patient = patientInput.safeParse(
    defined({
      externalId: cells.external_id,
      name: cells.name,
      dateOfBirth: usDateToIso(cells.date_of_birth),
      sexAtBirth,
      language: cells.language,
      timeZone: cells.time_zone,
      preferredChannel: cells.preferred_channel?.toLowerCase(),
      phones,
      emails: cells.email ? [cells.email] : [],
      postalAddress: cells.postal_address,
      status: cells.status?.toLowerCase(),
    }),
  );
  if (!patient.success)
    for (const issue of patient.error.issues) {
      const [field, index] = issue.path;
      report(issue, field === 'phones' ? phoneColumns[Number(index)] : PATIENT_FIELD_COLUMNS[String(field)]);
    }

  const consents: ConsentInput[] = [];
  const evidence = consentInput.shape.evidence.safeParse(
    defined({
      source: consentSource,
      method: 'written',
      disclosureVersion: cells.consent_disclosure_version,
      at: consentTime(cells.consent_date),
    }),
  );
  if (!evidence.success)
    for (const issue of evidence.error.issues) report(issue, EVIDENCE_FIELD_COLUMNS[String(issue.path[0])]);
  for (const [column, channel, category] of CONSENT_COLUMNS) {
    const value = cells[column];
    if (value === undefined) continue;
    const granted = yesOrNo(value);
    if (granted === undefined) problems.push(`${column}: must be yes or no (also true/false, y/n, 1/0)`);
    else if (evidence.success) {
      const consent = consentInput.safeParse({ channel, category, granted, evidence: evidence.data });
      if (consent.success) consents.push(consent.data);
      else for (const issue of consent.error.issues) report(issue, column);
    }
  }

  if (problems.length || !patient.success) {
    // In the order of the file's columns, each once (four consents can share one bad consent_date).
    const position = (problem: string) => header.indexOf(problem.slice(0, problem.indexOf(':')) as Column);
    return { line, ok: false, problems: [...new Set(problems)].sort((a, b) => position(a) - position(b)) };
  }
  return { line, ok: true, patient: patient.data, consents };
}

function describe(issue: z.core.$ZodIssue, column: Column | undefined, cells: Cells): string {
  // zod's messages name what was expected, never the value received.
  if (!column) return `record: ${issue.message}`;
  if (cells[column] === undefined) return `${column}: is required`;
  if (issue.code === 'invalid_value') return `${column}: must be one of ${issue.values.join(', ')}`;
  if (issue.code === 'invalid_format') return `${column}: ${FORMAT_REASONS[column] ?? issue.message}`;
  return `${column}: ${issue.message}`;
}

/** Without its unset keys, so the parsed input has none either. */
function defined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}

function usDateToIso(value: string | undefined): string | undefined {
  const us = value?.match(/^(\d{1,2})\/(\d{1,2})\/(\d{4})$/);
  return us ? `${us[3]}-${us[1]!.padStart(2, '0')}-${us[2]!.padStart(2, '0')}` : value;
}

function consentTime(value: string | undefined): string | undefined {
  const date = usDateToIso(value);
  return date && /^\d{4}-\d{2}-\d{2}$/.test(date) ? `${date}T12:00:00Z` : date;
}

function yesOrNo(value: string): boolean | undefined {
  const word = value.toLowerCase();
  if (['yes', 'y', 'true', '1'].includes(word)) return true;
  if (['no', 'n', 'false', '0'].includes(word)) return false;
  return undefined;
}

function count(text: string, character: string): number {
  let n = 0;
  for (let i = text.indexOf(character); i !== -1; i = text.indexOf(character, i + 1)) n++;
  return n;
}
