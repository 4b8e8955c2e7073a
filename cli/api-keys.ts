import type { Config } from '../config';
import { insertApiKey, listApiKeys, revokeApiKey } from '../db/queries/api-keys';
import { appendAudit } from '../db/queries/audit';
import { getClinic } from '../db/queries/clinics';
import { withClinic } from '../db/tenant';
import { API_SCOPES, generateApiKey } from '../security/api-key';
import { clinicIdOption, withCarebell } from './connect';
import { CliError, printJson } from './output';

function scopesOption(value: string): string[] {
  const scopes = [
    ...new Set(
      value
        .split(',')
        .map((scope) => scope.trim())
        .filter(Boolean),
    ),
  ];
  const unknown = scopes.filter((scope) => !(API_SCOPES as readonly string[]).includes(scope));
  if (scopes.length === 0 || unknown.length > 0)
    throw new CliError(
      `--scopes: ${unknown.length ? `unknown ${unknown.join(', ')}; ` : ''}choose from ${API_SCOPES.join(', ')}`,
      2,
    );
  return scopes;
}

/** Issues a key: printed once, stored only as a hash. */
export async function apiKeysCreateCommand(
  config: Config,
  options: { clinic: string; scopes: string; name: string; json?: boolean },
): Promise<void> {
  const clinicId = clinicIdOption(options.clinic);
  const scopes = scopesOption(options.scopes);
  const name = options.name.trim();
  if (!name || name.length > 100) throw new CliError('--name must be 1 to 100 characters', 2);
  const { key, prefix, hash } = generateApiKey();
  const row = await withCarebell(config, ({ db }) =>
    withClinic(db, clinicId, async (tx) => {
      if (!(await getClinic(tx, clinicId))) throw new CliError(`no clinic ${clinicId}`, 2);
      const created = await insertApiKey(tx, { clinicId, name, prefix, keyHash: hash, scopes });
      await appendAudit(tx, {
        actor: 'cli:api-keys-create',
        clinicId,
        action: 'api-key.create',
        objectType: 'api-key',
        objectId: created.id,
        outcome: 'success',
      });
      return created;
    }),
  );
  if (options.json) return printJson({ id: row.id, clinicId, name, prefix, scopes, key });
  process.stdout.write(
    `API key ${row.id} (${name}) for clinic ${clinicId}, scopes ${scopes.join(', ')}\n\n  ${key}\n\n` +
      "It is shown only now: store it in your integration's secret store.\n",
  );
}

export async function apiKeysListCommand(config: Config, options: { clinic: string; json?: boolean }) {
  const clinicId = clinicIdOption(options.clinic);
  const keys = await withCarebell(config, ({ db }) =>
    withClinic(db, clinicId, (tx) => listApiKeys(tx, clinicId)),
  );
  const listed = keys.map((key) => ({
    id: key.id,
    name: key.name,
    prefix: key.prefix,
    scopes: key.scopes,
    createdAt: key.createdAt.toISOString(),
    lastUsedAt: key.lastUsedAt?.toISOString() ?? null,
    revokedAt: key.revokedAt?.toISOString() ?? null,
  }));
  if (options.json) return printJson(listed);
  if (listed.length === 0) process.stdout.write(`clinic ${clinicId} has no API keys\n`);
  for (const key of listed)
    process.stdout.write(
      `${key.id}  cb_${key.prefix}_…  ${key.name}  ${key.scopes.join(',')}  last used ${key.lastUsedAt ?? 'never'}` +
        `${key.revokedAt ? `  REVOKED ${key.revokedAt}` : ''}\n`,
    );
}

export async function apiKeysRevokeCommand(
  config: Config,
  id: string,
  options: { clinic: string; json?: boolean },
): Promise<void> {
  const clinicId = clinicIdOption(options.clinic);
  if (!/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(id))
    throw new CliError(`the key id must be a UUID (see \`carebell api-keys list\`), got "${id}"`, 2);
  const revoked = await withCarebell(config, ({ db }) =>
    withClinic(db, clinicId, async (tx) => {
      const done = await revokeApiKey(tx, clinicId, id);
      if (done)
        await appendAudit(tx, {
          actor: 'cli:api-keys-revoke',
          clinicId,
          action: 'api-key.revoke',
          objectType: 'api-key',
          objectId: id,
          outcome: 'success',
        });
      return done;
    }),
  );
  if (!revoked) throw new CliError(`clinic ${clinicId} has no unrevoked API key ${id}`, 2);
  if (options.json) return printJson({ id, revoked: true });
  process.stdout.write(`revoked ${id}: requests with it now answer 401\n`);
}
