import fs from 'node:fs';
import type { TLSConfig } from '@temporalio/common/lib/internal-non-workflow';
import type { TemporalSettings } from '../config';

export interface TemporalTarget extends TemporalSettings {
  address: string;
}

/** Options accepted by both Connection.connect (clients) and NativeConnection.connect (workers). */
export function temporalConnectionOptions(settings: TemporalTarget): {
  address: string;
  tls?: TLSConfig | boolean;
  apiKey?: string;
} {
  const { tls } = settings;
  return {
    address: settings.address,
    apiKey: settings.apiKey,
    tls: tls
      ? {
          serverNameOverride: tls.serverName,
          serverRootCACertificate: tls.caPath ? fs.readFileSync(tls.caPath) : undefined,
          clientCertPair:
            tls.certPath && tls.keyPath
              ? { crt: fs.readFileSync(tls.certPath), key: fs.readFileSync(tls.keyPath) }
              : undefined,
        }
      : undefined,
  };
}
