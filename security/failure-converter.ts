// Loaded by path inside the workflow sandbox as well as by clients: failure messages and stack traces go
// into an encoded attributes payload, which the payload codec then encrypts.
import { DefaultFailureConverter } from '@temporalio/common';

export const failureConverter = new DefaultFailureConverter({ encodeCommonAttributes: true });
