import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError, loadConfig } from '../../config';

const problemsOf = (env: NodeJS.ProcessEnv): string[] => {
  try {
    loadConfig(env);
  } catch (error) {
    assert.ok(error instanceof ConfigError);
    return error.problems;
  }
  assert.fail('expected a ConfigError');
};

describe('configuration', () => {
  it('defaults to the embedded services', () => {
    const config = loadConfig({});
    assert.equal(config.databaseUrl, undefined);
    assert.equal(config.temporal.address, undefined);
    assert.equal(config.temporal.namespace, 'default');
    assert.equal(config.temporal.taskQueue, 'carebell');
    assert.equal(config.twilio, undefined);
    assert.equal(config.smtp, undefined);
    assert.match(config.dataDir, /\.carebell$/);
    assert.equal(config.embedded.temporalPort, 7233);
  });

  it('reads a complete production configuration', () => {
    const config = loadConfig({
      DATABASE_URL: 'postgres://app:secret@db.internal:5432/carebell',
      TEMPORAL_ADDRESS: 'ns.a1b2c.tmprl.cloud:7233',
      TEMPORAL_NAMESPACE: 'ns.a1b2c',
      TEMPORAL_API_KEY: 'key',
      TWILIO_ACCOUNT_SID: `AC${'a'.repeat(32)}`,
      TWILIO_AUTH_TOKEN: 'token',
      TWILIO_FROM_NUMBER: '+14155550100',
      SMTP_URL: 'smtp://user:pass@relay.example.com:587',
      SMTP_FROM: 'reminders@clinic.example',
    });
    assert.equal(config.temporal.address, 'ns.a1b2c.tmprl.cloud:7233');
    assert.ok(config.temporal.tls, 'an API key implies TLS');
    assert.equal(config.twilio?.fromNumber, '+14155550100');
    assert.equal(config.smtp?.from, 'reminders@clinic.example');
  });

  it('names every invalid variable and why', () => {
    const problems = problemsOf({
      DATABASE_URL: 'mysql://nope',
      TEMPORAL_ADDRESS: 'no-port',
      CAREBELL_TEMPORAL_PORT: '99999',
      TWILIO_ACCOUNT_SID: 'AC123',
      SMTP_URL: 'http://relay',
      LOG_LEVEL: 'loud',
    });
    for (const name of [
      'DATABASE_URL',
      'TEMPORAL_ADDRESS',
      'CAREBELL_TEMPORAL_PORT',
      'TWILIO_ACCOUNT_SID',
      'SMTP_URL',
      'LOG_LEVEL',
    ]) {
      assert.ok(
        problems.some((problem) => problem.startsWith(`${name}:`)),
        `${name} missing in ${problems.join('; ')}`,
      );
    }
  });

  it('requires settings that go together', () => {
    const problems = problemsOf({
      TWILIO_ACCOUNT_SID: `AC${'a'.repeat(32)}`,
      SMTP_URL: 'smtp://relay.example.com:587',
      TEMPORAL_TLS_CERT_PATH: '/etc/cert.pem',
    });
    assert.ok(problems.includes('TWILIO_AUTH_TOKEN: required when TWILIO_ACCOUNT_SID is set'));
    assert.ok(problems.some((problem) => problem.startsWith('TWILIO_FROM_NUMBER:')));
    assert.ok(problems.includes('SMTP_FROM: required when SMTP_URL is set'));
    assert.ok(problems.some((problem) => problem.startsWith('TEMPORAL_TLS_KEY_PATH:')));
  });

  it('rejects a sender number that is not E.164', () => {
    const problems = problemsOf({
      TWILIO_ACCOUNT_SID: `AC${'a'.repeat(32)}`,
      TWILIO_AUTH_TOKEN: 'token',
      TWILIO_FROM_NUMBER: '555-0100',
    });
    assert.ok(problems.some((problem) => problem.startsWith('TWILIO_FROM_NUMBER: expected an E.164')));
  });

  it("reads the application's own database login, and refuses the owner's under that name", () => {
    const config = loadConfig({
      DATABASE_URL: 'postgres://owner:secret@db.internal:5432/carebell',
      CAREBELL_APP_DATABASE_URL: 'postgres://carebell_app:other@db.internal:5432/carebell',
    });
    assert.equal(config.appDatabaseUrl, 'postgres://carebell_app:other@db.internal:5432/carebell');
    const problems = problemsOf({
      DATABASE_URL: 'postgres://owner:secret@db.internal:5432/carebell',
      CAREBELL_APP_DATABASE_URL: 'postgres://owner:secret@db.internal:5432/carebell',
    });
    assert.deepEqual(problems, [
      "CAREBELL_APP_DATABASE_URL: logs in as DATABASE_URL's user (the tables' owner); use carebell_app or a member of it",
    ]);
    assert.ok(
      problemsOf({ CAREBELL_APP_DATABASE_URL: 'mysql://nope' })[0]?.startsWith('CAREBELL_APP_DATABASE_URL:'),
    );
  });

  it('sizes the workflow cache explicitly', () => {
    assert.equal(loadConfig({}).worker.workflowCacheSize, 1000);
    assert.equal(loadConfig({ CAREBELL_WORKFLOW_CACHE_SIZE: '250' }).worker.workflowCacheSize, 250);
    assert.equal(loadConfig({ CAREBELL_WORKFLOW_CACHE_SIZE: '0' }).worker.workflowCacheSize, 0);
    for (const refused of ['1', '-5', 'many'])
      assert.ok(
        problemsOf({ CAREBELL_WORKFLOW_CACHE_SIZE: refused })[0]?.startsWith('CAREBELL_WORKFLOW_CACHE_SIZE:'),
      );
  });

  it('runs the sweeps on their schedules unless told to create them paused', () => {
    assert.equal(loadConfig({}).worker.sweepsPaused, false);
    assert.equal(loadConfig({ CAREBELL_SWEEPS: 'paused' }).worker.sweepsPaused, true);
    assert.equal(loadConfig({ CAREBELL_SWEEPS: 'on' }).worker.sweepsPaused, false);
    assert.match(problemsOf({ CAREBELL_SWEEPS: 'off' })[0] ?? '', /^CAREBELL_SWEEPS: .*"on".*"paused"/);
  });
});
