import { transferHandlers } from 'comlink';

/**
 * Comlink's default turns a thrown Error into {name, message, stack} and
 * drops everything else. Our errors are recognised by `name` and `code`, so
 * carry those (and expected/got) across, on both sides of the worker.
 */
const base = transferHandlers.get('throw')!;
type Thrown = { value: unknown };

transferHandlers.set('throw', {
  canHandle: base.canHandle,
  serialize(thrown: unknown) {
    const { value } = thrown as Thrown;
    if (value instanceof Error) {
      const e = value as Error & { code?: unknown; expected?: unknown; got?: unknown };
      const plain = { name: e.name, message: e.message, stack: e.stack, code: e.code, expected: e.expected, got: e.got };
      return [{ isError: true, value: JSON.parse(JSON.stringify(plain)) }, []];
    }
    return [{ isError: false, value }, []];
  },
  deserialize(serialized: unknown) {
    const s = serialized as { isError: boolean; value: Record<string, unknown> };
    if (s.isError) throw Object.assign(new Error(String(s.value.message)), s.value);
    throw s.value;
  },
});
