// The API process's wiring: its own database pool and Temporal client, then the server. Stateless, so any
// number can run behind a load balancer beside the workers.
import { Client, Connection } from '@temporalio/client';
import { cacheDir } from '../config';
import { connectDatabase } from '../db/client';
import { resolveTestServer } from '../infra/temporal-binaries';
import type { Endpoints } from '../infra/endpoints';
import type { Logger } from '../infra/logger';
import { temporalConnectionOptions } from '../infra/temporal-connection';
import { createDataConverter } from '../security/data-converter';
import { FieldCipher } from '../security/field-cipher';
import type { KeyRing } from '../security/key-ring';
import { buildApi, type ApiOptions } from './server';

const once = <T>(make: () => Promise<T>) => {
  let made: Promise<T> | undefined;
  return () => (made ??= make());
};

export interface RunningApi {
  url: string;
  close: () => Promise<void>;
}

export async function startApi(
  endpoints: Endpoints,
  options: ApiOptions & {
    host: string;
    port: number;
    publicUrl: string;
    log: Logger;
    keyRing: KeyRing;
    reloadKeyRing?: () => KeyRing;
    /** An explicit TEMPORAL_TEST_SERVER_PATH for previews; otherwise found or built on the first one. */
    testServerPath?: string;
  },
): Promise<RunningApi> {
  const database = connectDatabase(endpoints.databaseUrl);
  const connection = await Connection.connect(temporalConnectionOptions(endpoints.temporal));
  const { namespace, taskQueue } = endpoints.temporal;
  const client = new Client({
    connection,
    namespace,
    dataConverter: createDataConverter(options.keyRing, options.reloadKeyRing),
  });
  const api = await buildApi(
    {
      db: database.db,
      cipher: new FieldCipher(options.keyRing, options.reloadKeyRing),
      client,
      taskQueue,
      log: options.log,
      publicUrl: options.publicUrl,
      twilio: endpoints.twilio && {
        authToken: endpoints.twilio.authToken,
        sharedNumber: endpoints.twilio.fromNumber,
      },
      previewServerPath: once(async () => {
        const found = await resolveTestServer({
          cacheRoot: cacheDir(),
          explicitPath: options.testServerPath,
          progress: (line) => options.log.info(line),
        });
        return found.path;
      }),
    },
    options,
  );
  try {
    await api.listen({ host: options.host, port: options.port });
  } catch (error) {
    await connection.close();
    await database.close();
    throw error;
  }
  const address = api.server.address();
  const port = typeof address === 'object' && address ? address.port : options.port;
  return {
    url: `http://${options.host.includes(':') ? `[${options.host}]` : options.host}:${port}`,
    close: async () => {
      await api.close();
      await connection.close();
      await database.close();
    },
  };
}
