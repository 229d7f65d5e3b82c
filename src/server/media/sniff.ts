/**
 * Container detection from an upload's first bytes. The client's Content-Type and file name are not
 * trusted: a recording is accepted only when its bytes say it is a container we can process, and a
 * refusal names what the bytes look like instead ("detected type image/png").
 */

import { open } from 'node:fs/promises';

/** How many leading bytes `sniff` looks at; fewer still works, with less certainty (see the Ogg and EBML notes). */
export const SNIFF_BYTES = 64;

export type Container = 'webm' | 'matroska' | 'mp4' | 'quicktime' | 'ogg' | 'wav' | 'mp3';

export type SniffResult =
  | {
      supported: true;
      container: Container;
      mime: string;
      ext: string;
      /**
       * What the container normally holds. WebM, Matroska and MP4 can be audio-only (MediaRecorder's
       * audio/webm): their tracks lie past SNIFF_BYTES, so `probe` has the last word on hasVideo.
       */
      kind: 'video' | 'audio';
    }
  | { supported: false /** The detected type, for the 415 message. */; mime: string; kind: 'unknown' };

const ok = (container: Container, mime: string, ext: string, kind: 'video' | 'audio'): SniffResult => ({
  supported: true,
  container,
  mime,
  ext,
  kind,
});
const refused = (mime: string): SniffResult => ({ supported: false, mime, kind: 'unknown' });

export function sniff(bytes: Uint8Array): SniffResult {
  const b = bytes.subarray(0, SNIFF_BYTES);
  if (b.length === 0) return refused('application/x-empty');
  const ascii = (at: number, s: string) =>
    b.length >= at + s.length && [...s].every((c, i) => b[at + i] === c.charCodeAt(0));
  const starts = (...sig: number[]) => b.length >= sig.length && sig.every((v, i) => b[i] === v);

  if (starts(0x1a, 0x45, 0xdf, 0xa3)) {
    return ebmlDocType(b) === 'matroska'
      ? ok('matroska', 'video/x-matroska', 'mkv', 'video')
      : ok('webm', 'video/webm', 'webm', 'video');
  }
  if (ascii(4, 'ftyp')) return isoBrand(String.fromCharCode(...b.subarray(8, 12)));
  // QuickTime files older than the ftyp box start straight with one of these atoms.
  if (['moov', 'mdat', 'wide'].some((atom) => ascii(4, atom)))
    return ok('quicktime', 'video/quicktime', 'mov', 'video');
  if (ascii(0, 'OggS')) return oggKind(b);
  if (ascii(0, 'RIFF')) {
    if (ascii(8, 'WAVE')) return ok('wav', 'audio/wav', 'wav', 'audio');
    if (ascii(8, 'AVI ')) return refused('video/x-msvideo');
    if (ascii(8, 'WEBP')) return refused('image/webp');
    return refused('application/octet-stream');
  }
  if (ascii(0, 'ID3')) return ok('mp3', 'audio/mpeg', 'mp3', 'audio');
  // Image and document signatures come before the MPEG frame check: JPEG also starts with 0xFF.
  if (starts(0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a)) return refused('image/png');
  if (starts(0xff, 0xd8, 0xff)) return refused('image/jpeg');
  if (ascii(0, 'GIF87a') || ascii(0, 'GIF89a')) return refused('image/gif');
  if (ascii(0, '%PDF-')) return refused('application/pdf');
  if (starts(0x50, 0x4b, 0x03, 0x04) || starts(0x50, 0x4b, 0x05, 0x06)) return refused('application/zip');
  if (starts(0x1f, 0x8b)) return refused('application/gzip');
  if (ascii(0, 'fLaC')) return refused('audio/flac');
  const frame = mpegAudioFrame(b);
  if (frame === 'mp3') return ok('mp3', 'audio/mpeg', 'mp3', 'audio');
  if (frame === 'adts') return refused('audio/aac');
  if (looksLikeText(b, bytes.length >= SNIFF_BYTES)) return refused('text/plain');
  return refused('application/octet-stream');
}

/** The EBML header's DocType string, or undefined when it is not within the bytes we have. */
function ebmlDocType(b: Uint8Array): string | undefined {
  // Header: ID 1A45DFA3, size, then child elements (2-byte IDs 42xx); DocType is 0x4282.
  let at = 4;
  const headerSize = vint(b, at);
  if (!headerSize) return undefined;
  at += headerSize.length;
  const end = Math.min(b.length, at + headerSize.value);
  while (at + 2 < end) {
    const id = (b[at]! << 8) | b[at + 1]!;
    const size = vint(b, at + 2);
    if (!size) return undefined;
    const data = at + 2 + size.length;
    if (id === 0x4282) {
      if (data + size.value > b.length) return undefined;
      return String.fromCharCode(...b.subarray(data, data + size.value)).replace(/\0+$/, '');
    }
    at = data + size.value;
  }
  return undefined;
}

/** An EBML variable-length integer (the length marker is the position of the first set bit). */
function vint(b: Uint8Array, at: number): { value: number; length: number } | undefined {
  const first = b[at];
  if (first === undefined || first === 0) return undefined;
  const length = Math.clz32(first) - 23; // 1..8 for a non-zero byte
  if (at + length > b.length) return undefined;
  let value = first & (0xff >> length);
  for (let i = 1; i < length; i++) value = value * 256 + b[at + i]!;
  return { value, length };
}

function isoBrand(brand: string): SniffResult {
  if (brand === 'qt  ') return ok('quicktime', 'video/quicktime', 'mov', 'video');
  if (['M4A ', 'M4B ', 'M4P '].includes(brand)) return ok('mp4', 'audio/mp4', 'm4a', 'audio');
  // HEIF/AVIF images are ISO BMFF too; they are pictures, not recordings.
  if (['avif', 'avis'].includes(brand)) return refused('image/avif');
  if (['heic', 'heix', 'heim', 'heis', 'mif1', 'msf1'].includes(brand)) return refused('image/heic');
  return ok('mp4', 'video/mp4', 'mp4', 'video');
}

function oggKind(b: Uint8Array): SniffResult {
  // The first page's first packet names the codec; it starts after the 27-byte header and the segment table.
  const segments = b[26];
  const packet = segments === undefined ? undefined : b.subarray(27 + segments, 27 + segments + 8);
  const text = packet ? String.fromCharCode(...packet) : '';
  if (text.startsWith('\x80theora')) return ok('ogg', 'video/ogg', 'ogv', 'video');
  return ok('ogg', 'audio/ogg', text.startsWith('OpusHead') ? 'opus' : 'ogg', 'audio');
}

/** An MPEG audio frame header: 11 sync bits, then version, layer, bitrate and sample-rate fields that must be valid. */
function mpegAudioFrame(b: Uint8Array): 'mp3' | 'adts' | undefined {
  if (b.length < 4 || b[0] !== 0xff || (b[1]! & 0xe0) !== 0xe0) return undefined;
  const version = (b[1]! >> 3) & 3;
  const layer = (b[1]! >> 1) & 3;
  // ADTS (raw AAC) shares the 12-bit sync with MPEG-1/2 audio but always has layer 00.
  if (layer === 0) return (b[1]! & 0xf6) === 0xf0 && ((b[2]! >> 2) & 0xf) < 13 ? 'adts' : undefined;
  const bitrate = b[2]! >> 4;
  const sampleRate = (b[2]! >> 2) & 3;
  if (version === 1 || bitrate === 0xf || sampleRate === 3 || (b[3]! & 3) === 2) return undefined;
  return 'mp3';
}

/** Valid UTF-8 without control characters other than whitespace. A sequence cut at the sample's end is allowed. */
function looksLikeText(b: Uint8Array, truncated: boolean): boolean {
  for (const c of b) if (c < 0x20 && ![0x09, 0x0a, 0x0c, 0x0d, 0x1b].includes(c)) return false;
  const decoder = new TextDecoder('utf-8', { fatal: true });
  for (let cut = 0; cut <= (truncated ? 3 : 0); cut++) {
    try {
      decoder.decode(b.subarray(0, b.length - cut));
      return true;
    } catch {
      // try without a possibly cut multi-byte sequence
    }
  }
  return false;
}

/** The container of a file on disk, from its first SNIFF_BYTES. */
export async function sniffFile(path: string): Promise<SniffResult> {
  const handle = await open(path, 'r');
  try {
    const buffer = Buffer.alloc(SNIFF_BYTES);
    const { bytesRead } = await handle.read(buffer, 0, SNIFF_BYTES, 0);
    return sniff(buffer.subarray(0, bytesRead));
  } finally {
    await handle.close();
  }
}
