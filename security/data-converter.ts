import { fileURLToPath } from 'node:url';
import type { DataConverter } from '@temporalio/common';
import type { KeyRing } from './key-ring';
import { EncryptionCodec } from './payload-codec';

/** The one data converter of every worker and client: encrypted payloads, encoded failure attributes. */
export function createDataConverter(ring: KeyRing, reload?: () => KeyRing): DataConverter {
  return {
    payloadCodecs: [new EncryptionCodec(ring, reload)],
    failureConverterPath: fileURLToPath(new URL('./failure-converter.ts', import.meta.url)),
  };
}
