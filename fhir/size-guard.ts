// Limits on one entry's resource, checked before it is read: a real resource is far inside them, and a
// hostile one (a megabyte string, a million nested arrays) is refused without walking it further.

export const MAX_STRING = 10_000;
const MAX_DEPTH = 64;
const MAX_VALUES = 100_000;

/** Why the value is too large to read, if it is; never says what the value holds. */
export function sizeProblem(value: unknown): string | undefined {
  // A stack, not recursion: depth is checked before it can exhaust the call stack.
  const pending: [unknown, number][] = [[value, 0]];
  let seen = 0;
  while (pending.length > 0) {
    const [current, depth] = pending.pop()!;
    if (++seen > MAX_VALUES) return `has more than ${MAX_VALUES.toLocaleString('en-US')} values`;
    if (typeof current === 'string') {
      if (current.length > MAX_STRING)
        return `has a value longer than ${MAX_STRING.toLocaleString('en-US')} characters`;
    } else if (typeof current === 'object' && current !== null) {
      if (depth >= MAX_DEPTH) return `is nested more than ${MAX_DEPTH} levels deep`;
      for (const [key, child] of Object.entries(current)) {
        if (key.length > MAX_STRING)
          return `has a key longer than ${MAX_STRING.toLocaleString('en-US')} characters`;
        pending.push([child, depth + 1]);
      }
    }
  }
  return undefined;
}
