/**
 * Reading `localStorage['savedRecordings']` when it may be cut short: the browser's quota truncated it
 * mid-write in some old versions. Complete JSON is parsed as is; otherwise the complete entries before the
 * cut are kept and the value is marked truncated, so nobody ever writes it back (that would lose the rest).
 * Framework-free; re-exported by legacy-format.ts.
 */

export interface SavedRecordingsValue {
  entries: unknown[];
  /** Not complete JSON: `entries` are the whole entries before the cut. Never rewrite such a value. */
  truncated: boolean;
  /** Not even the start of an array: nothing can be read from it. */
  unreadable: boolean;
}

const UNREADABLE: SavedRecordingsValue = { entries: [], truncated: false, unreadable: true };

export function readSavedRecordings(raw: string | null): SavedRecordingsValue {
  if (raw === null) return { entries: [], truncated: false, unreadable: false };
  const text = raw.replace(/^\uFEFF/, '');
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
    // Some versions stringified the array twice.
    if (typeof parsed === 'string') parsed = JSON.parse(parsed);
  } catch {
    return readUpToTheCut(text);
  }
  return Array.isArray(parsed) ? { entries: parsed, truncated: false, unreadable: false } : UNREADABLE;
}

/**
 * Walks the text once, tracking strings and nesting, and parses each top-level element as soon as it is
 * whole (an object or array at its closing bracket, anything else at the delimiter after it). The first
 * element that does not parse, or that the text ends inside, is where the value was cut.
 */
function readUpToTheCut(text: string): SavedRecordingsValue {
  const start = text.search(/\S/);
  if (start < 0 || text[start] !== '[') return UNREADABLE;
  const entries: unknown[] = [];
  const cut = { entries, truncated: true, unreadable: false };
  /** At the top level: before an element, inside one, or after one (expecting ',' or ']'). */
  let state: 'before' | 'inside' | 'after' = 'before';
  let depth = 0;
  let inString = false;
  let elementStart = 0;
  const take = (end: number): boolean => {
    try {
      entries.push(JSON.parse(text.slice(elementStart, end)));
      return true;
    } catch {
      return false;
    }
  };
  for (let i = start + 1; i < text.length; i++) {
    const c = text[i] as string;
    if (inString) {
      if (c === '\\') i++;
      else if (c === '"') inString = false;
      continue;
    }
    if (depth === 0) {
      const blank = c === ' ' || c === '\n' || c === '\r' || c === '\t';
      if (state === 'inside' && (blank || c === ',' || c === ']')) {
        if (!take(i)) return cut;
        state = 'after';
      }
      if (blank) continue;
      if (c === ']') return cut; // The array closed, yet the JSON as a whole did not parse: junk after it.
      if (c === ',') {
        if (state !== 'after') return cut;
        state = 'before';
        continue;
      }
      if (state === 'after') return cut;
      if (state === 'before') {
        state = 'inside';
        elementStart = i;
      }
    }
    if (c === '"') inString = true;
    else if (c === '{' || c === '[') depth++;
    else if (c === '}' || c === ']') {
      if (depth === 0) return cut;
      depth--;
      if (depth === 0) {
        if (!take(i + 1)) return cut;
        state = 'after';
      }
    }
  }
  // Whatever the text ended inside is the incomplete element: it is not kept.
  return cut;
}
