import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { describe, it } from 'node:test';
import { createLogger } from '../../infra/logger';

describe('log redaction', () => {
  it('censors PHI fields at every level, top-level and nested', () => {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _encoding, done) {
        lines.push(chunk.toString());
        done();
      },
    });
    const log = createLogger('trace', 'carebell-test', sink);
    for (const level of ['trace', 'debug', 'info', 'warn', 'error', 'fatal'] as const) {
      log[level](
        {
          to: '+14155550155',
          email: 'leak@example.org',
          patient: { name: 'Leaky Name', dateOfBirth: '1970-01-01' },
        },
        'event',
      );
      log[level](
        { message: { body: 'Leaky body', subject: 'Leaky subject', phone: '+14155550155' } },
        'nested',
      );
      log[level]({ job: { patient: { name: 'Leaky Deep', email: 'leak@example.org' } } }, 'deeper');
    }
    assert.equal(lines.length, 18);
    const output = lines.join('');
    for (const secret of ['14155550155', 'leak@example.org', 'Leaky'])
      assert.ok(!output.includes(secret), secret);
    assert.match(output, /\[redacted\]/);
    assert.match(output, /"name":"carebell-test"/, "the logger's own name is kept");
  });
});
