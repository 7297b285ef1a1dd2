// The text rule for strings that reach the database: no NUL (PostgreSQL text and jsonb cannot
// hold it) and no lone UTF-16 surrogate (jsonb refuses the escape; text would silently turn it
// into U+FFFD, so what is stored is not what was sent). Applied to every string of an input,
// object keys included, before anything is stored.
import type { Problem } from './errors.ts';

/** True when the string holds neither NUL nor a lone surrogate. */
export function isSafeText(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0) return false;
    if (c >= 0xd800 && c <= 0xdbff) {
      const next = s.charCodeAt(i + 1);
      if (!(next >= 0xdc00 && next <= 0xdfff)) return false;
      i++;
    } else if (c >= 0xdc00 && c <= 0xdfff) return false;
  }
  return true;
}

const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;
const wellFormed = (s: string) => s.replace(LONE_SURROGATE, '\ufffd');
const escapePointer = (key: string) => key.replaceAll('~', '~0').replaceAll('/', '~1');

/**
 * Every string (value or key) of a JSON-like value that breaks the text rule, as problems with
 * JSON pointers. Iterative, so a deeply nested document cannot overflow the stack; stops after
 * `max` problems.
 */
export function unsafeTextProblems(value: unknown, basePath = '', max = 100): Problem[] {
  const problems: Problem[] = [];
  const stack: [unknown, string][] = [[value, basePath]];
  const message = 'must not contain NUL characters or unpaired UTF-16 surrogates';
  while (stack.length > 0 && problems.length < max) {
    const [v, path] = stack.pop()!;
    if (typeof v === 'string') {
      if (!isSafeText(v)) problems.push({ path, message });
    } else if (Array.isArray(v)) {
      for (let i = v.length - 1; i >= 0; i--) stack.push([v[i], `${path}/${i}`]);
    } else if (v !== null && typeof v === 'object' && !ArrayBuffer.isView(v)) {
      for (const [k, child] of Object.entries(v)) {
        // The offending key is shown made safe (NUL as "\0", lone surrogates as U+FFFD): the path
        // goes into the JSON answer, which must not carry the very characters it refuses.
        const p = `${path}/${escapePointer(isSafeText(k) ? k : wellFormed(k.replaceAll('\0', '\\0')))}`;
        if (!isSafeText(k)) problems.push({ path: p, message: `key ${message}` });
        stack.push([child, p]);
      }
    }
  }
  return problems;
}
