import type { RuntimeState } from '../../engine/index.ts';
import { ENCRYPTED, pairId } from '../crypto/encrypted-columns.ts';
import type { FieldCipher } from '../crypto/field-cipher.ts';
import type { StepBody } from '../step-log.ts';
import { openJson } from './sql.ts';

/** The two encrypted columns most reads open (docs/security.md): a runtime row's state and a log row's body. */

/** `runtimes.state` of runtime `runtimeId`, opened and parsed. */
export const openState = (
  cipher: FieldCipher,
  tenant: string,
  runtimeId: string,
  stored: unknown,
): Promise<RuntimeState> => openJson<RuntimeState>(cipher, tenant, ENCRYPTED.runtimeState, runtimeId, stored);

/** `runtime_steps.body` of the step (`runtimeId`, `revision`), opened and parsed. */
export const openStepBody = (
  cipher: FieldCipher,
  tenant: string,
  runtimeId: string,
  revision: number,
  stored: unknown,
): Promise<StepBody> => openJson<StepBody>(cipher, tenant, ENCRYPTED.stepBody, pairId(runtimeId, revision), stored);
