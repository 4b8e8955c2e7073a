// GET /fhir/r4/metadata: a valid R4 CapabilityStatement that says what carebell reads and how.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CONTACT_CONSENT_SYSTEM, capabilityStatement, contactConsentCodeSystem } from '../../fhir/map-bundle';

interface Statement {
  resourceType: string;
  status: string;
  date: string;
  kind: string;
  fhirVersion: string;
  format: string[];
  implementation: { url: string };
  rest: {
    mode: string;
    interaction: { code: string }[];
    resource: { type: string; documentation: string; interaction: { code: string }[] }[];
  }[];
}

describe('capabilityStatement', () => {
  const statement = capabilityStatement('https://carebell.example.org/fhir/r4') as Statement;

  it('is an active R4 statement of a JSON server instance', () => {
    assert.equal(statement.resourceType, 'CapabilityStatement');
    assert.equal(statement.status, 'active');
    assert.match(statement.date, /^\d{4}-\d{2}-\d{2}$/);
    assert.equal(statement.kind, 'instance');
    assert.equal(statement.fhirVersion, '4.0.1');
    assert.ok(statement.format.includes('json'));
    assert.equal(statement.implementation.url, 'https://carebell.example.org/fhir/r4');
    assert.equal(statement.rest.length, 1);
    assert.equal(statement.rest[0]!.mode, 'server');
    assert.deepEqual(
      statement.rest[0]!.interaction.map((interaction) => interaction.code),
      ['batch', 'transaction'],
    );
  });

  it('lists the resource types it reads, created or updated through a batch or transaction', () => {
    const resources = statement.rest[0]!.resource;
    assert.deepEqual(resources.map((resource) => resource.type).sort(), [
      'Appointment',
      'Consent',
      'Coverage',
      'MedicationDispense',
      'MedicationRequest',
      'Observation',
      'Patient',
      'Procedure',
    ]);
    for (const resource of resources) {
      assert.deepEqual(
        resource.interaction.map((interaction) => interaction.code),
        ['create', 'update'],
      );
      assert.ok(resource.documentation.length > 20);
    }
    const consent = resources.find((resource) => resource.type === 'Consent')!;
    assert.ok(consent.documentation.includes(CONTACT_CONSENT_SYSTEM));
    assert.ok(consent.documentation.includes('sms-marketing'));
  });

  it('documents the contact-consent code system as a CodeSystem resource', () => {
    assert.equal(contactConsentCodeSystem.url, CONTACT_CONSENT_SYSTEM);
    assert.equal(contactConsentCodeSystem.content, 'complete');
    assert.deepEqual(
      contactConsentCodeSystem.concept.map((concept) => concept.code),
      ['sms-transactional', 'sms-marketing', 'email-transactional', 'email-marketing'],
    );
  });
});
