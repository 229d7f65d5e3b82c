/**
 * A strict base64 decoder (framework-free: the browser app and the server both use it). Strict, because a
 * legacy recording's data URL is the only copy of its bytes: `atob` and Node's Buffer skip or stop at what
 * they do not understand, and a silently shortened file would then be uploaded as if it were whole.
 * Accepted: the standard and the URL-safe alphabet, whitespace anywhere, padding or none at the end.
 */

const WHITESPACE = -2;
const INVALID = -1;
const PAD = 64;

const VALUES = (() => {
  const table = new Int8Array(128).fill(INVALID);
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
  for (let i = 0; i < alphabet.length; i++) table[alphabet.charCodeAt(i)] = i;
  table['-'.charCodeAt(0)] = 62;
  table['_'.charCodeAt(0)] = 63;
  table['='.charCodeAt(0)] = PAD;
  for (const c of ' \t\r\n\f') table[c.charCodeAt(0)] = WHITESPACE;
  return table;
})();

export class Base64Error extends Error {
  override name = 'Base64Error';
}

/**
 * Decodes base64 arriving in pieces of any length (a piece may end mid-quantum). `push` returns the bytes
 * complete so far; `end` the rest, and throws Base64Error when the text as a whole was not base64.
 */
export class Base64Decoder {
  /** Sextets of the current, unfinished 4-character quantum. */
  private quantum = 0;
  private quantumLength = 0;
  private padding = 0;
  private ended = false;

  push(text: string): Uint8Array {
    if (this.ended) throw new Base64Error('base64 text after the end');
    const out = new Uint8Array(Math.ceil((text.length + this.quantumLength) / 4) * 3);
    let written = 0;
    for (let i = 0; i < text.length; i++) {
      const code = text.charCodeAt(i);
      const value = code < 128 ? (VALUES[code] as number) : INVALID;
      if (value === WHITESPACE) continue;
      if (value === INVALID) throw new Base64Error(`not base64: character ${JSON.stringify(text[i])}`);
      if (value === PAD) {
        // '=' only completes the last quantum: "xx==" or "xxx=".
        if (this.quantumLength < 2) throw new Base64Error('misplaced padding');
        this.padding++;
        if (this.quantumLength + this.padding > 4) throw new Base64Error('too much padding');
        continue;
      }
      if (this.padding > 0) throw new Base64Error('data after padding');
      this.quantum = (this.quantum << 6) | value;
      this.quantumLength++;
      if (this.quantumLength === 4) {
        out[written++] = (this.quantum >> 16) & 0xff;
        out[written++] = (this.quantum >> 8) & 0xff;
        out[written++] = this.quantum & 0xff;
        this.quantum = 0;
        this.quantumLength = 0;
      }
    }
    return out.subarray(0, written);
  }

  end(): Uint8Array {
    this.ended = true;
    const n = this.quantumLength;
    if (n === 0) return new Uint8Array(0);
    if (n === 1) throw new Base64Error('truncated: one character left over');
    if (this.padding > 0 && n + this.padding !== 4) throw new Base64Error('wrong padding');
    // 2 characters carry 1 byte, 3 carry 2; the leftover bits must be zero in canonical base64 but
    // encoders differ, so they are ignored (as every decoder does).
    const bits = this.quantum << (6 * (4 - n));
    return n === 2 ? Uint8Array.of((bits >> 16) & 0xff) : Uint8Array.of((bits >> 16) & 0xff, (bits >> 8) & 0xff);
  }
}

/** The whole text decoded, or null when it is not base64. */
export function decodeBase64(text: string): Uint8Array | null {
  const decoder = new Base64Decoder();
  try {
    const body = decoder.push(text);
    const tail = decoder.end();
    if (tail.length === 0) return body;
    const all = new Uint8Array(body.length + tail.length);
    all.set(body);
    all.set(tail, body.length);
    return all;
  } catch (err) {
    if (err instanceof Base64Error) return null;
    throw err;
  }
}
