import { fileURLToPath } from 'node:url';
import type { DataConverter } from '@temporalio/common';
import { isSweepWorkflowId } from '../domain/sweep';
import type { KeyRing } from './key-ring';
import { EncryptionCodec } from './payload-codec';

/**
 * The one data converter of every worker and client: encrypted payloads bound to their workflow, encoded
 * failure attributes. Only sweeps are started by Schedules (whose runs append the time to the id).
 */
export function createDataConverter(ring: KeyRing, reload?: () => KeyRing): DataConverter {
  return {
    payloadCodecs: [new EncryptionCodec(ring, { reload, isScheduledWorkflowId: isSweepWorkflowId })],
    failureConverterPath: fileURLToPath(new URL('./failure-converter.ts', import.meta.url)),
  };
}
