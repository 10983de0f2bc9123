import { errorFromTransfer, errorToTransfer, type TransferredError } from '@fhe-llm/core';
import { transferHandlers } from 'comlink';

/**
 * Comlink's default turns a thrown Error into {name, message, stack} and
 * drops everything else. Our errors are recognised by `name` and `code`, so
 * carry those (and expected/got) across, on both sides of the worker, with
 * core's pair (the relay's workers use the same one).
 */
const base = transferHandlers.get('throw')!;
type Thrown = { value: unknown };

transferHandlers.set('throw', {
  canHandle: base.canHandle,
  serialize(thrown: unknown) {
    const { value } = thrown as Thrown;
    if (value instanceof Error) return [{ isError: true, value: errorToTransfer(value) }, []];
    return [{ isError: false, value }, []];
  },
  deserialize(serialized: unknown) {
    const s = serialized as { isError: boolean; value: unknown };
    if (s.isError) throw errorFromTransfer(s.value as TransferredError);
    throw s.value;
  },
});
