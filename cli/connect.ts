import { Client, Connection } from '@temporalio/client';
import type { Config } from '../config';
import { connectDatabase, type Database } from '../db/client';
import { resolveKeyRing } from '../infra/key-ring-source';
import { joinEndpoints, type Endpoints } from '../infra/endpoints';
import { temporalConnectionOptions } from '../infra/temporal-connection';
import { createDataConverter } from '../security/data-converter';
import { FieldCipher } from '../security/field-cipher';
import { CliError } from './output';

export interface Carebell {
  endpoints: Endpoints;
  /** The application connection: row-level security applies, as for the API and workers. */
  db: Database;
  cipher: FieldCipher;
  client: Client;
  taskQueue: string;
}

/** Runs `work` against the running carebell (npm start's, or the configured deployment), then disconnects. */
export async function withCarebell<T>(config: Config, work: (carebell: Carebell) => Promise<T>): Promise<T> {
  const endpoints = await joinEndpoints(config, { channels: false }).catch((error: Error) => {
    throw new CliError(error.message);
  });
  const keyRing = await resolveKeyRing(config, { create: false });
  const database = connectDatabase(endpoints.databaseUrl, { max: 2 });
  const connection = await Connection.connect(temporalConnectionOptions(endpoints.temporal)).catch(
    async (error: Error) => {
      await database.close();
      throw new CliError(`cannot reach Temporal at ${endpoints.temporal.address}: ${error.message}`);
    },
  );
  try {
    return await work({
      endpoints,
      db: database.db,
      cipher: new FieldCipher(keyRing),
      client: new Client({
        connection,
        namespace: endpoints.temporal.namespace,
        dataConverter: createDataConverter(keyRing),
      }),
      taskQueue: endpoints.temporal.taskQueue,
    });
  } finally {
    await connection.close();
    await database.close();
  }
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function clinicIdOption(value: string): string {
  if (!UUID.test(value)) throw new CliError(`--clinic must be a clinic id (UUID), got "${value}"`, 2);
  return value.toLowerCase();
}
