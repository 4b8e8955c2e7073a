import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { Readable } from 'node:stream';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { isValidPhoneNumber } from 'libphonenumber-js';
import {
  CsvHeaderError,
  CsvSyntaxError,
  PATIENT_CSV_COLUMNS,
  parsePatientsCsv,
  type CsvRow,
} from '../../imports/patients-csv';

async function rowsOf(
  input: Parameters<typeof parsePatientsCsv>[0],
  options?: { consentSource?: string },
): Promise<CsvRow[]> {
  const rows: CsvRow[] = [];
  for await (const row of parsePatientsCsv(input, options)) rows.push(row);
  return rows;
}

/** What the caller reports: line and problems, or the MRN imported. */
async function reportOf(input: Parameters<typeof parsePatientsCsv>[0]): Promise<(string | number)[][]> {
  return (await rowsOf(input)).map((row) =>
    row.ok ? [row.line, row.patient.externalId] : [row.line, ...row.problems],
  );
}

/** An upload arriving in pieces cut at these byte offsets. */
function chunksOf(bytes: Buffer, cuts: number[]): AsyncIterable<Buffer> {
  const ends = [...new Set(cuts)].sort((a, b) => a - b).concat(bytes.length);
  return Readable.from(ends.map((end, i) => bytes.subarray(ends[i - 1] ?? 0, end)));
}

const HEADER = 'external_id,name,date_of_birth,mobile_phone,postal_address,status';

describe('patient CSV', () => {
  it('documents its columns, three of them required', () => {
    assert.deepEqual(
      PATIENT_CSV_COLUMNS.map((column) => column.name),
      [
        'external_id',
        'name',
        'date_of_birth',
        'sex_at_birth',
        'language',
        'time_zone',
        'preferred_channel',
        'mobile_phone',
        'home_phone',
        'email',
        'postal_address',
        'status',
        'sms_consent',
        'email_consent',
        'marketing_sms_consent',
        'marketing_email_consent',
        'consent_date',
        'consent_disclosure_version',
      ],
    );
    assert.deepEqual(
      PATIENT_CSV_COLUMNS.filter((column) => column.required).map((column) => column.name),
      ['external_id', 'name', 'date_of_birth'],
    );
    for (const column of PATIENT_CSV_COLUMNS) assert.ok(column.description.length > 10, column.name);
  });

  it('reads every column, in any order and case, into the patient and consent input', async () => {
    const csv = [
      ' Consent_Date ,EMAIL,Name,external_id,date_of_birth,sex_at_birth,language,time_zone,preferred_channel,' +
        'mobile_phone,home_phone,postal_address,status,sms_consent,email_consent,marketing_sms_consent,' +
        'marketing_email_consent,consent_disclosure_version',
      '2025-03-01T09:30:00-05:00,ada@example.org, Ada Example ,MRN-1,1961-05-09,f,es-mx,America/Chicago,EMAIL,' +
        '(312) 555-0111,(312) 555-0123,"1 Sample St",Inactive,Y,no,TRUE,0,v3',
    ].join('\n');
    const [row] = await rowsOf(csv, { consentSource: 'front-desk' });
    assert.deepEqual(row, {
      line: 2,
      ok: true,
      patient: {
        externalId: 'MRN-1',
        name: 'Ada Example',
        dateOfBirth: '1961-05-09',
        sexAtBirth: 'female',
        language: 'es-MX',
        timeZone: 'America/Chicago',
        preferredChannel: 'email',
        phones: [
          { number: '(312) 555-0111', use: 'mobile' },
          { number: '(312) 555-0123', use: 'home' },
        ],
        emails: ['ada@example.org'],
        postalAddress: '1 Sample St',
        status: 'inactive',
      },
      consents: [
        ['sms', 'transactional', true],
        ['email', 'transactional', false],
        ['sms', 'marketing', true],
        ['email', 'marketing', false],
      ].map(([channel, category, granted]) => ({
        channel,
        category,
        granted,
        evidence: {
          source: 'front-desk',
          method: 'written',
          disclosureVersion: 'v3',
          at: '2025-03-01T09:30:00-05:00',
        },
      })),
    });
  });

  it('treats empty cells as absent, and the optional columns as optional', async () => {
    const [row] = await rowsOf(`${HEADER},sms_consent,consent_date\nMRN-1,Ada,1961-05-09,, ,,,`);
    assert.deepEqual(row, {
      line: 2,
      ok: true,
      patient: {
        externalId: 'MRN-1',
        name: 'Ada',
        dateOfBirth: '1961-05-09',
        phones: [],
        emails: [],
        status: 'active',
      },
      consents: [],
    });
  });

  it('strips a byte order mark, even one split across chunks', async () => {
    const bytes = Buffer.from(`\uFEFF${HEADER}\nMRN-1,Ada,1961-05-09,,,\n`);
    assert.deepEqual(await reportOf(bytes), [[2, 'MRN-1']]);
    assert.deepEqual(await reportOf(chunksOf(bytes, [1, 2, 3, 4])), [[2, 'MRN-1']]);
  });

  it('reads CRLF and LF alike, and quoted fields holding commas, quotes and line breaks', async () => {
    const lines = [
      HEADER,
      'MRN-1,"Example, Ada ""Addy""",1961-05-09,,"1 Sample St',
      'Apt 2',
      'Springfield",',
      'MRN-2,Bo,1970-01-01,,,',
    ];
    for (const newline of ['\n', '\r\n']) {
      const rows = await rowsOf(lines.join(newline) + newline);
      assert.deepEqual(
        rows.map((row) => row.line),
        [2, 5],
      );
      const [first] = rows;
      assert.ok(first?.ok);
      assert.equal(first.patient.name, 'Example, Ada "Addy"');
      assert.equal(first.patient.postalAddress, `1 Sample St${newline}Apt 2${newline}Springfield`);
    }
  });

  it('skips blank lines and rows of empty cells, counting them in line numbers', async () => {
    const csv = `\n${HEADER}\n\n\nMRN-1,Ada,1961-05-09,,,\n,,,,,\n  \r\nMRN-2,Bo,1970-01-01,,,\n\n`;
    assert.deepEqual(await reportOf(csv), [
      [5, 'MRN-1'],
      [8, 'MRN-2'],
    ]);
  });

  it('takes MM/DD/YYYY dates as US exports write them', async () => {
    const rows = await reportOf(
      `${HEADER}\nMRN-1,Ada,03/07/1985,,,\nMRN-2,Bo,3/7/1985,,,\nMRN-3,Cy,02/30/1985,,,\nMRN-4,Di,1985-02-30,,,`,
    );
    assert.deepEqual(rows, [
      [2, 'MRN-1'],
      [3, 'MRN-2'],
      [4, 'date_of_birth: must be a real date as YYYY-MM-DD or MM/DD/YYYY'],
      [5, 'date_of_birth: must be a real date as YYYY-MM-DD or MM/DD/YYYY'],
    ]);
    const [row] = await rowsOf(`${HEADER}\nMRN-1,Ada,3/7/1985,,,`);
    assert.ok(row?.ok);
    assert.equal(row.patient.dateOfBirth, '1985-03-07');
  });

  it('records consents with their evidence, and no decision for an empty cell', async () => {
    const header = 'external_id,name,date_of_birth,sms_consent,marketing_email_consent,consent_date';
    const rows = await rowsOf(
      [
        header,
        'MRN-1,Ada,1961-05-09,yes,,2025-03-01',
        'MRN-2,Bo,1961-05-09,n,1,03/04/2025',
        'MRN-3,Cy,1961-05-09,,,',
        'MRN-4,Di,1961-05-09,maybe,yes,2025-13-01',
        'MRN-5,Ed,1961-05-09,yes,,2025-03-01T09:30',
      ].join('\n'),
    );
    const consentsOf = (row: CsvRow | undefined) =>
      row?.ok ? row.consents.map((c) => [c.channel, c.category, c.granted, c.evidence.at]) : row?.problems;
    assert.deepEqual(consentsOf(rows[0]), [['sms', 'transactional', true, '2025-03-01T12:00:00Z']]);
    assert.deepEqual(consentsOf(rows[1]), [
      ['sms', 'transactional', false, '2025-03-04T12:00:00Z'],
      ['email', 'marketing', true, '2025-03-04T12:00:00Z'],
    ]);
    assert.deepEqual(consentsOf(rows[2]), []);
    assert.deepEqual(consentsOf(rows[3]), [
      'sms_consent: must be yes or no (also true/false, y/n, 1/0)',
      'consent_date: must be a date as YYYY-MM-DD or MM/DD/YYYY, or a date-time such as 2026-03-01T09:30:00-05:00',
    ]);
    assert.equal(rows[4]?.ok, false);
    const [first] = rows;
    assert.ok(first?.ok);
    assert.deepEqual(first.consents[0]?.evidence, {
      source: 'csv-import',
      method: 'written',
      at: '2025-03-01T12:00:00Z',
    });
    await assert.rejects(rowsOf(`${header}\n`, { consentSource: ' ' }), TypeError);
  });

  it('fails a row whose field count differs from the header, and reads on', async () => {
    assert.deepEqual(
      await reportOf(`${HEADER}\nMRN-1,Ada,1961-05-09,,,,,,\nMRN-2,Bo\nMRN-2\nMRN-3,Cy,1961-05-09,,,`),
      [
        [2, 'record has 9 fields, the header has 6'],
        [3, 'record has 2 fields, the header has 6'],
        [4, 'record has 1 field, the header has 6'],
        [5, 'MRN-3'],
      ],
    );
  });

  it('fails a row with bytes that are not UTF-8, naming the column', async () => {
    const bytes = Buffer.concat([
      Buffer.from(`${HEADER}\nMRN-1,Jos`),
      Buffer.from([0xe9]), // é in Windows-1252
      Buffer.from(',1961-05-09,,"Calle \xA0', 'latin1'),
      Buffer.from('",\nMRN-2,Bo,1970-01-01,,,\n'),
    ]);
    assert.deepEqual(await reportOf(bytes), [
      [
        2,
        'name: not valid UTF-8 (save the file as CSV UTF-8)',
        'postal_address: not valid UTF-8 (save the file as CSV UTF-8)',
      ],
      [3, 'MRN-2'],
    ]);
    // A character split between chunks is still one character.
    const name = Buffer.from(`${HEADER}\nMRN-1,Zoë 山田,1961-05-09,,,\n`);
    const [row] = await rowsOf(
      chunksOf(name, [name.indexOf('ë') + 1, name.indexOf('山') + 1, name.indexOf('山') + 2]),
    );
    assert.ok(row?.ok);
    assert.equal(row.patient.name, 'Zoë 山田');
  });

  it('fails a row larger than 64 KiB, and reads on', async () => {
    const csv = `${HEADER}\nMRN-1,Ada,1961-05-09,,"${'x'.repeat(70_000)}",\nMRN-2,Bo,1970-01-01,,,`;
    assert.deepEqual(await reportOf(csv), [
      [2, 'record is larger than 64 KiB'],
      [3, 'MRN-2'],
    ]);
  });

  it('fails a row with a quote inside an unquoted field, and reads on', async () => {
    assert.deepEqual(
      await reportOf(
        `${HEADER}\nMRN-1,Ada "Addy" Example,1961-05-09,,,\nMRN-2,Bo,1970-01-01,,5" Sample St,\nMRN-3,Cy,1970-01-01,,,`,
      ),
      [
        [2, 'name: has a quote inside an unquoted field (quote the field and double the quote)'],
        [3, 'postal_address: has a quote inside an unquoted field (quote the field and double the quote)'],
        [4, 'MRN-3'],
      ],
    );
    // The record skipped spans lines after its stray quote; the next one is still found on its line.
    assert.deepEqual(
      await reportOf(
        `${HEADER}\nMRN-1,Ada "Addy",1961-05-09,,"1 Sample St\nApt 2",\n\nMRN-2,Bo,1970-01-01,,,\n`,
      ),
      [
        [2, 'name: has a quote inside an unquoted field (quote the field and double the quote)'],
        [5, 'MRN-2'],
      ],
    );
  });

  it('stops with a CsvSyntaxError naming the line where the record cannot be delimited', async () => {
    for (const [bad, reason] of [
      ['MRN-2,"Bo,1970-01-01,,,', 'a quoted field starts in this record and is never closed'],
      ['MRN-2,"Bo"b,1970-01-01,,,', 'a closing quote is followed by more text'],
      [`MRN-2,Bo,1970-01-01,,"${'x'.repeat(1_100_000)}`, 'the record is larger than 1 MiB'],
    ]) {
      const seen: CsvRow[] = [];
      const error = await (async () => {
        try {
          for await (const row of parsePatientsCsv(
            `${HEADER}\nMRN-1,"Ada\nExample",1961-05-09,,,\n\n${bad}\nMRN-3,Cy,1970-01-01,,,\n`,
          ))
            seen.push(row);
        } catch (error) {
          return error;
        }
      })();
      assert.ok(error instanceof CsvSyntaxError, String(error));
      assert.equal(error.line, 5);
      assert.match(error.message, new RegExp(`^line 5: ${reason!.replace(/[()]/g, '\\$&')}`));
      assert.doesNotMatch(error.message, /Bo|xxx/);
      // The rows before it are not lost.
      assert.deepEqual(
        seen.map((row) => row.line),
        [2],
      );
    }
  });

  it('fails the later rows of a repeated external_id', async () => {
    assert.deepEqual(
      await reportOf(
        `${HEADER}\nMRN-1,Ada,1961-05-09,,,\nMRN-2,Bo,1970-01-01,,,\n MRN-1 ,Ada,1961-05-09,,,\nMRN-1,Ada,1961-05-09,,,\nmrn-2,Bo,1970-01-01,,,`,
      ),
      [
        [2, 'MRN-1'],
        [3, 'MRN-2'],
        [4, 'external_id: repeats line 2'],
        [5, 'external_id: repeats line 2'],
        [6, 'mrn-2'],
      ],
    );
    // Even when the later one is the valid one: which did the clinic mean?
    assert.deepEqual(await reportOf(`${HEADER}\nMRN-1,Ada,1961-13-09,,,\nMRN-1,Ada,1961-05-09,,,`), [
      [2, 'date_of_birth: must be a real date as YYYY-MM-DD or MM/DD/YYYY'],
      [3, 'external_id: repeats line 2'],
    ]);
  });

  it('names each problem by its column, and required cells as required', async () => {
    const header = `${HEADER},email,sex_at_birth,time_zone,preferred_channel,language`;
    assert.deepEqual(await reportOf(`${header}\n,,,,,deceasedish,not-an-email,x,Mars/Base,fax,!!`), [
      [
        2,
        'external_id: is required',
        'name: is required',
        'date_of_birth: is required',
        'status: must be one of active, inactive, deceased',
        'email: must be an email address',
        'sex_at_birth: must be F, M, U, female, male or unknown',
        'time_zone: must be an IANA time zone such as America/New_York',
        'preferred_channel: must be one of sms, email',
        'language: must be a BCP 47 language tag such as en, es-MX or zh-Hant',
      ],
    ]);
  });

  it('refuses an unusable header before any row, naming the columns', async () => {
    const headerError = async (csv: string) => {
      try {
        await rowsOf(csv);
      } catch (error) {
        assert.ok(error instanceof CsvHeaderError, String(error));
        return error;
      }
      assert.fail('no CsvHeaderError');
    };
    const error = await headerError('external_id,Name,DOB,name,phone,\nMRN-1,Ada,1961-05-09,Ada,1,\n');
    assert.deepEqual(error.columns, {
      unknown: ['DOB', 'phone', ''],
      missing: ['date_of_birth'],
      duplicated: ['name'],
    });
    assert.match(error.message, /unknown column "DOB", "phone", \(column 6 has no name\)/);
    assert.match(error.message, /missing required column date_of_birth/);
    assert.match(error.message, /duplicated column name/);
    // A file without a header starts with a patient, whose cells are not to be repeated.
    const headless = await headerError('MRN-1,Ada Example,1961-05-09\n');
    assert.match(headless.message, /^line 1 is not a header/);
    assert.doesNotMatch(headless.message, /MRN-1|Ada|1961/);
    assert.match((await headerError('')).message, /empty/);
    assert.match((await headerError('\n\r\n,,\n')).message, /empty/);
    assert.match(
      (await headerError('external_id,na"me,date_of_birth\n')).message,
      /line 1: the header has a quote/,
    );
  });

  it('never repeats a cell in a problem', async () => {
    const cells = ['MRN 1', 'Zebulon Quux', '1987-02-31', '(555) 010-CANARY', '42 Canary Row', 'canaryish'];
    const [row] = await rowsOf(
      `${HEADER},email,time_zone\n${cells.join(',')},canary@@example,Canary/Islands_X`,
    );
    assert.ok(row && !row.ok);
    for (const value of [...cells, 'canary@@example', 'Canary/Islands_X'])
      for (const problem of row.problems) assert.ok(!problem.includes(value), `${problem} repeats ${value}`);
  });

  it('streams 20,000 rows without reading far ahead of its reader', async () => {
    let produced = 0;
    function* upload(): Generator<string> {
      yield `${HEADER},sms_consent\n`;
      while (produced < 20_000) {
        let chunk = '';
        for (let i = 0; i < 100; i++, produced++)
          chunk += `MRN-${produced},Patient ${produced},1970-01-01,(312) 555-0111,"${produced} Sample St\nSpringfield",,yes\n`;
        yield chunk;
      }
    }
    let read = 0;
    let furthestAhead = 0;
    for await (const row of parsePatientsCsv(Readable.from(upload()))) {
      read++;
      assert.equal(row.line, 2 * read);
      furthestAhead = Math.max(furthestAhead, produced - read);
    }
    assert.equal(read, 20_000);
    assert.ok(furthestAhead < 5_000, `read ${furthestAhead} rows ahead`);
  });

  it('stops reading its source when its reader stops, and passes on the source failing', async () => {
    let closed = false;
    function* upload(): Generator<string> {
      try {
        yield `${HEADER}\n`;
        for (let i = 0; ; i++) yield `MRN-${i},Ada,1961-05-09,,,\n`;
      } finally {
        closed = true;
      }
    }
    for await (const row of parsePatientsCsv(Readable.from(upload()))) if (row.line === 3) break;
    assert.ok(closed);

    const broken = new Error('connection reset');
    function* failing(): Generator<string> {
      yield `${HEADER}\nMRN-1,Ada,1961-05-09,,,\n`;
      throw broken;
    }
    await assert.rejects(rowsOf(Readable.from(failing())), broken);
  });

  it('reads examples/patients.csv into four patients and two reported rows', async () => {
    const file = readFileSync(new URL('../../examples/patients.csv', import.meta.url));
    assert.deepEqual(await reportOf(file), [
      [2, 'DEMO-0001'],
      [4, 'DEMO-0002'],
      [5, 'DEMO-0003'],
      [6, 'date_of_birth: must be a real date as YYYY-MM-DD or MM/DD/YYYY'],
      [7, 'time_zone: must be an IANA time zone such as America/New_York'],
      [8, 'DEMO-0006'],
    ]);
    for (const row of await rowsOf(file))
      if (row.ok)
        for (const phone of row.patient.phones)
          assert.ok(isValidPhoneNumber(phone.number, 'US'), phone.number);
  });
});

describe('patient CSV, for any input', () => {
  const COLUMNS = PATIENT_CSV_COLUMNS.map((column) => column.name);

  /** RFC 4180 with a choice of line ending; quotes a field when it must, and sometimes when it need not. */
  function csvOf(rows: string[][], newline: string, quoteAll: boolean): string {
    const field = (cell: string) =>
      quoteAll || /[",\r\n]/.test(cell) ? `"${cell.replaceAll('"', '""')}"` : cell;
    return rows.map((row) => row.map(field).join(',') + newline).join('');
  }

  const cell = fc.oneof(
    fc.string({ unit: 'grapheme', maxLength: 12 }),
    fc.string({ unit: 'binary', maxLength: 12 }),
    fc.stringMatching(/^[ ,"\r\na-z0-9-]{0,8}$/),
    fc.constantFrom(
      '',
      ' ',
      'MRN-1',
      'Ada',
      '1961-05-09',
      '03/07/1985',
      'yes',
      'no',
      'sms',
      'America/Chicago',
    ),
  );

  it('returns each record exactly once, ok or with problems, at its physical line', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc
          .shuffledSubarray(COLUMNS.slice(3))
          .chain((optional) =>
            fc.shuffledSubarray([...COLUMNS.slice(0, 3), ...optional], { minLength: optional.length + 3 }),
          ),
        fc.array(fc.array(cell, { minLength: COLUMNS.length, maxLength: COLUMNS.length }), { maxLength: 8 }),
        fc.array(fc.nat({ max: 2 }), { minLength: 8, maxLength: 8 }),
        fc.constantFrom('\n', '\r\n'),
        fc.boolean(),
        fc.boolean(),
        fc.array(fc.nat(), { maxLength: 6 }),
        async (columns, cells, blankLines, newline, bom, quoteAll, cuts) => {
          const rows = cells.map((row) => row.slice(0, columns.length));
          // Blank lines between records, where a reader's editor would show them.
          let text = (bom ? '\uFEFF' : '') + csvOf([columns], newline, false);
          const expected: number[] = [];
          rows.forEach((row, i) => {
            text += newline.repeat(blankLines[i]!);
            if (row.some((value) => value.trim() !== '')) expected.push(text.split('\n').length);
            text += csvOf([row], newline, quoteAll);
          });
          const bytes = Buffer.from(text);
          const got = await rowsOf(
            chunksOf(
              bytes,
              cuts.map((cut) => cut % (bytes.length + 1)),
            ),
          );
          assert.deepEqual(
            got.map((row) => row.line),
            expected,
          );
          for (const row of got) assert.ok(row.ok || row.problems.length > 0);
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('never puts a planted value in a problem', async () => {
    const canaries = [
      'Zebulon Quux-Canary',
      '1987-02-31',
      '13/45/1987',
      '1899-12-31',
      '(555) 010-9999 ext CANARY',
      '555.0100.canary',
      'canary@@example.org',
      'Mars/Olympus_Mons',
      'zz-canary-tag-that-is-far-too-long-x',
      'Canary Row, Apt "7"',
      'probably-canary',
      'Deceasedish',
      'CANARY 42',
      '2024-13-45T99:00',
    ];
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.array(fc.oneof(fc.constantFrom(...canaries), cell), {
            minLength: COLUMNS.length,
            maxLength: COLUMNS.length,
          }),
          {
            minLength: 1,
            maxLength: 6,
          },
        ),
        async (rows) => {
          for (const row of await rowsOf(csvOf([COLUMNS, ...rows], '\n', false)))
            if (!row.ok)
              for (const problem of row.problems)
                for (const canary of canaries)
                  assert.ok(!problem.includes(canary), `${problem} repeats ${canary}`);
        },
      ),
      { numRuns: 1000 },
    );
  });

  it('throws nothing but CsvHeaderError and CsvSyntaxError, whatever the bytes', async () => {
    const header = Buffer.from(`${HEADER},email\n`);
    await fc.assert(
      fc.asyncProperty(
        fc.boolean(),
        fc.array(
          fc.oneof(
            fc.uint8Array({ maxLength: 40 }).map((bytes) => Buffer.from(bytes)),
            fc.stringMatching(/^[",\r\na-zA-Z0-9 /-]{0,30}$/).map((text) => Buffer.from(text)),
          ),
          { maxLength: 10 },
        ),
        async (withHeader, parts) => {
          const bytes = Buffer.concat([withHeader ? header : Buffer.alloc(0), ...parts]);
          let lastLine = 1;
          try {
            for await (const row of parsePatientsCsv(bytes)) {
              assert.ok(row.line > lastLine, `line ${row.line} after ${lastLine}`);
              lastLine = row.line;
              assert.ok(row.ok || row.problems.length > 0);
            }
          } catch (error) {
            if (!(error instanceof CsvHeaderError || error instanceof CsvSyntaxError)) throw error;
          }
        },
      ),
      { numRuns: 2000 },
    );
  });
});
