/**
 * What PostgreSQL cannot store, found before it is asked to: U+0000 (text and jsonb refuse it) and lone
 * UTF-16 surrogates (jsonb refuses their escapes; text would silently get U+FFFD). Both walks here are
 * loops over an explicit stack, never recursion, so no input is deep enough to overflow the call stack.
 */
import { AppError } from '../errors.js';

const NUL = '\u0000';

/** String.prototype.isWellFormed (ES2024, in Node 20): false when the string holds a lone surrogate. */
type WellFormed = string & { isWellFormed(): boolean };

export function isStorableText(text: string): boolean {
  return !text.includes(NUL) && (text as WellFormed).isWellFormed();
}

/** Whether any string or property name in the value is one PostgreSQL cannot store (no paths: fast). */
function holdsUnstorableText(value: unknown): boolean {
  const stack: unknown[] = [value];
  while (stack.length > 0) {
    const item = stack.pop();
    if (typeof item === 'string') {
      if (!isStorableText(item)) return true;
    } else if (Array.isArray(item)) {
      for (const child of item) stack.push(child);
    } else if (item !== null && typeof item === 'object') {
      for (const key of Object.keys(item)) {
        if (!isStorableText(key)) return true;
        stack.push((item as Record<string, unknown>)[key]);
      }
    }
  }
  return false;
}

/**
 * The path ("deviceInfo.gpu", "notes.1") of the first string or property name PostgreSQL cannot store,
 * or undefined when every one is fine. A bad property name is reported at the object holding it. Paths
 * are built only once something was found: the common case walks without allocating them.
 */
export function findUnstorableText(value: unknown, root = ''): string | undefined {
  if (!holdsUnstorableText(value)) return undefined;
  const stack: [unknown, string][] = [[value, root]];
  while (stack.length > 0) {
    const [item, path] = stack.pop()!;
    if (typeof item === 'string') {
      if (!isStorableText(item)) return path;
    } else if (Array.isArray(item)) {
      for (let i = item.length - 1; i >= 0; i--) stack.push([item[i], join(path, String(i))]);
    } else if (item !== null && typeof item === 'object') {
      const entries = Object.entries(item);
      for (let i = entries.length - 1; i >= 0; i--) {
        const [key, child] = entries[i]!;
        if (!isStorableText(key)) return path;
        stack.push([child, join(path, key)]);
      }
    }
  }
  return undefined;
}

const join = (path: string, key: string) => (path ? `${path}.${key}` : key);

/** The 400 for a field holding unstorable text; `where` is body, querystring, params or metadata. */
export function invalidText(field: string, where: string): AppError {
  const name = field || `(${where})`;
  return new AppError('INVALID_TEXT', `"${name}" must not contain NUL characters or unpaired UTF-16 surrogates`, {
    field: name,
    in: where,
  });
}

/**
 * The deepest nesting of arrays and objects in a JSON text, counted without parsing it (brackets inside
 * strings do not count), stopping as soon as `limit` is passed. Runs before JSON.parse, so a document
 * nested 100,000 deep is refused before anything (a parser, a validator, JSON.stringify) recurses.
 */
export function jsonDepthExceeds(text: string, limit: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (inString) {
      if (code === 0x5c)
        i++; // a backslash: the next character is escaped, whatever it is
      else if (code === 0x22) inString = false;
    } else if (code === 0x22) {
      inString = true;
    } else if (code === 0x5b || code === 0x7b) {
      if (++depth > limit) return true;
    } else if (code === 0x5d || code === 0x7d) {
      depth--;
    }
  }
  return false;
}
