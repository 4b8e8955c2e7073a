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
    failureConverterPath,
  };
}

/**
 * The failure converter workflows load: it moves messages and stack traces into the encrypted attributes.
 * A prebuilt workflow bundle must be built with it (worker/workflow-bundle.ts), since a worker running a
 * bundle uses the converters compiled into it.
 */
export const failureConverterPath = fileURLToPath(new URL('./failure-converter.ts', import.meta.url));
