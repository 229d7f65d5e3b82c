/**
 * The legacy parser (src/shared/legacy-format.ts) over every shape issue 11 lists, and odd ones of our own.
 * Pure functions: no database, no browser.
 */
import { describe, expect, it } from 'vitest';
import { Base64Decoder, decodeBase64 } from '../src/shared/base64.js';
import {
  type LegacyEntry,
  type LegacyItem,
  decodeDataUrl,
  normalizeLegacyEntry,
  readSavedRecordings,
} from '../src/shared/legacy-format.js';

const NOW = Date.UTC(2026, 11, 3, 12);
const WEBM = Uint8Array.of(0x1a, 0x45, 0xdf, 0xa3, 0x9f, 0x42, 0x86, 0x81, 0x01, 0x00, 0xff);
const b64 = (bytes: Uint8Array) => Buffer.from(bytes).toString('base64');
const DATA = `data:video/webm;codecs=vp8,opus;base64,${b64(WEBM)}`;

const norm = (entry: unknown, index = 0): LegacyEntry => normalizeLegacyEntry(entry, index, { now: NOW });
function item(entry: Record<string, unknown>, index = 0): LegacyItem {
  const result = norm({ type: 'camera', mediaBlob: DATA, ...entry }, index);
  if (!result.ok) throw new Error(`expected ok, got ${result.reason}: ${result.message}`);
  return result.item;
}
function skipped(entry: unknown, index = 0) {
  const result = norm(entry, index);
  if (result.ok) throw new Error(`expected a skip, got ${JSON.stringify(result.item)}`);
  return result;
}

describe('ids and titles', () => {
  it('takes a string or number id, and gives entries without one their position', () => {
    expect(item({ id: 'rec-1' }).legacyId).toBe('rec-1');
    expect(item({ id: 1700000000123 }).legacyId).toBe('1700000000123');
    expect(item({ id: 0 }).legacyId).toBe('0');
    expect(item({}, 7).legacyId).toBe('index:7');
    expect(item({ id: '  ' }, 3).legacyId).toBe('index:3');
    expect(item({ id: null }, 4).legacyId).toBe('index:4');
    expect(item({ id: { nested: 1 } }, 5).legacyId).toBe('index:5');
    expect(item({ id: Number.NaN }, 6).legacyId).toBe('index:6');
    expect(item({ id: 1e21 }).legacyId).toBe('1e+21');
    expect(item({ id: 'x'.repeat(500) }).legacyId).toHaveLength(200);
  });

  it('keeps a repeated id on every entry (the sha256 in the legacy key tells them apart)', () => {
    const [a, b] = [item({ id: 'same' }, 0), item({ id: 'same', title: 'other' }, 1)];
    expect(a.legacyId).toBe(b.legacyId);
  });

  it('takes title, else name, trimmed; empty is null; NUL and lone surrogates made storable', () => {
    expect(item({ title: '  Demo  ' }).title).toBe('Demo');
    expect(item({ name: 'Named' }).title).toBe('Named');
    expect(item({ title: 'T', name: 'N' }).title).toBe('T');
    expect(item({ title: '', name: 'N' }).title).toBe('N');
    expect(item({ title: '   ' }).title).toBeNull();
    expect(item({}).title).toBeNull();
    expect(item({ title: 42 }).title).toBe('42');
    expect(item({ title: ['a'] }).title).toBeNull();
    expect(item({ title: 'a\u0000b\uD800c' }).title).toBe('ab\uFFFDc');
    expect(item({ title: 'é'.repeat(400) }).title).toHaveLength(300);
  });
});

describe('types', () => {
  it.each([
    ['camera', 'camera'],
    ['audio', 'audio'],
    ['screen', 'screen'],
    ['screen-camera', 'screen-camera'],
    ['slides', 'slides'],
    ['slides-camera', 'slides-camera'],
    ['screenCamera', 'screen-camera'],
    ['screen_camera', 'screen-camera'],
    ['slidesCamera', 'slides-camera'],
    ['slides_camera', 'slides-camera'],
    ['video', 'camera'],
    ['voice', 'audio'],
    ['SCREEN CAMERA', 'screen-camera'],
  ])('type %s → %s', (spelling, expected) => {
    expect(item({ type: spelling }).recordingType).toBe(expected);
    expect(item({ type: undefined, recordingType: spelling }).recordingType).toBe(expected);
  });

  it('skips an unknown type, naming it', () => {
    const s = skipped({ id: 9, title: 'Holo', type: 'hologram', mediaBlob: DATA });
    expect(s).toMatchObject({ reason: 'UNKNOWN_TYPE', legacyId: '9', title: 'Holo' });
    expect(s.message).toContain('"hologram"');
    expect(skipped({ type: 7, mediaBlob: DATA }).reason).toBe('UNKNOWN_TYPE');
  });

  it('without any type, the media type decides (audio/* → audio, video/* → camera), else skipped', () => {
    expect(item({ type: undefined }).recordingType).toBe('camera');
    expect(item({ type: undefined, mediaBlob: `data:audio/ogg;base64,${b64(WEBM)}` }).recordingType).toBe('audio');
    expect(item({ type: null, mimeType: 'audio/webm' }).recordingType).toBe('audio');
    const s = skipped({ mediaBlob: `data:;base64,${b64(WEBM)}` });
    expect(s.reason).toBe('UNKNOWN_TYPE');
    expect(s.message).toContain('no type');
  });
});

describe('durations', () => {
  it('reads seconds (number, numeric string, fractional) or durationMs', () => {
    expect(item({ duration: 12 }).durationMs).toBe(12_000);
    expect(item({ duration: '12' }).durationMs).toBe(12_000);
    expect(item({ duration: ' 1.2345 ' }).durationMs).toBe(1235);
    expect(item({ duration: 0.5 }).durationMs).toBe(500);
    expect(item({ durationMs: 4321 }).durationMs).toBe(4321);
    expect(item({ durationMs: '4321.6' }).durationMs).toBe(4322);
    expect(item({ durationMs: 1000, duration: 99 }).durationMs).toBe(1000);
    expect(item({ duration: '1e2' }).durationMs).toBe(100_000);
  });

  it('is null when unknown or impossible: negative, zero, NaN, Infinity, huge, garbage', () => {
    for (const duration of [-5, 0, '-1', 'NaN', 'abc', '12s', '', null, true, [], {}, 1e308, Number.NaN, '1e400']) {
      expect(item({ duration }).durationMs, JSON.stringify(duration)).toBeNull();
    }
    expect(item({}).durationMs).toBeNull();
    expect(item({ duration: 8 * 86_400 }).durationMs).toBeNull();
    expect(item({ durationMs: 'NaN', duration: 3 }).durationMs).toBe(3000);
  });
});

describe('creation dates', () => {
  const iso = '2023-05-06T07:08:09.010Z';
  const ms = Date.parse(iso);
  it('reads createdAt, timestamp or date as ISO, epoch ms or epoch s', () => {
    expect(item({ createdAt: iso }).createdAt).toBe(iso);
    expect(item({ timestamp: ms }).createdAt).toBe(iso);
    expect(item({ date: ms / 1000 }).createdAt).toBe(iso);
    expect(item({ date: Math.floor(ms / 1000) }).createdAt).toBe('2023-05-06T07:08:09.000Z');
    expect(item({ timestamp: String(ms) }).createdAt).toBe(iso);
    expect(item({ date: '2023-05-06' }).createdAt).toBe('2023-05-06T00:00:00.000Z');
    expect(item({ createdAt: '2023-05-06T09:08:09.010+02:00' }).createdAt).toBe(iso);
  });

  it('takes the first field that holds a date', () => {
    expect(item({ createdAt: 'garbage', timestamp: ms }).createdAt).toBe(iso);
    expect(item({ createdAt: iso, timestamp: 0 }).createdAt).toBe(iso);
  });

  it('is null outside 2000-01-01 .. now + 1 day (1970 zeros, far future), or unparseable', () => {
    for (const value of [0, '0', 86_400_000, '1970-01-01T00:00:00Z', '1999-12-31T23:59:59Z', 9e15, '3000-01-01', -1]) {
      expect(item({ createdAt: value }).createdAt, String(value)).toBeNull();
    }
    expect(item({ createdAt: new Date(NOW + 3_600_000).toISOString() }).createdAt).not.toBeNull();
    expect(item({ createdAt: 'yesterday' }).createdAt).toBeNull();
    expect(item({ createdAt: Number.POSITIVE_INFINITY }).createdAt).toBeNull();
    expect(item({ createdAt: 'NaN' }).createdAt).toBeNull();
    expect(item({}).createdAt).toBeNull();
  });
});

describe('media references', () => {
  it('finds the media in mediaBlob, mediaUrl, dataUrl or url, in that order', () => {
    for (const field of ['mediaBlob', 'mediaUrl', 'dataUrl', 'url']) {
      const got = norm({ type: 'audio', [field]: DATA });
      expect(got.ok && got.item.media).toEqual({ kind: 'data-url', field });
    }
    const both = item({ mediaBlob: undefined, mediaUrl: DATA, url: 'blob:x' });
    expect(both.media).toEqual({ kind: 'data-url', field: 'mediaUrl' });
  });

  it('takes the mime type from mimeType, else from the data URL, without parameters', () => {
    expect(item({}).mimeType).toBe('video/webm');
    expect(item({ mimeType: 'Video/MP4; codecs=avc1' }).mimeType).toBe('video/mp4');
    expect(item({ mimeType: 'not a mime' }).mimeType).toBe('video/webm');
  });

  it('keeps blob: and idb: references for the browser to resolve', () => {
    expect(item({ mediaBlob: 'blob:https://old.example/1234-5678' }).media).toEqual({
      kind: 'blob-url',
      field: 'mediaBlob',
      url: 'blob:https://old.example/1234-5678',
    });
    expect(item({ mediaBlob: undefined, url: 'idb:recorder-old/blobs/rec/42' }).media).toEqual({
      kind: 'idb',
      field: 'url',
      database: 'recorder-old',
      store: 'blobs',
      key: 'rec/42',
    });
    expect(skipped({ type: 'camera', mediaBlob: 'idb:only-db' }).reason).toBe('CORRUPT_DATA');
  });

  it('skips entries without media, naming what was there', () => {
    expect(skipped({ id: 1, type: 'camera' })).toMatchObject({ reason: 'NO_MEDIA', legacyId: '1' });
    const blob = skipped({ type: 'camera', mediaBlob: {} });
    expect(blob.reason).toBe('NO_MEDIA');
    expect(blob.message).toContain('"mediaBlob" holds an object');
    expect(skipped({ type: 'camera', url: 'https://example.com/a.webm' }).message).toContain('not a data:');
    expect(skipped({ type: 'camera', mediaBlob: 'data:video/webm;base64,' }).reason).toBe('NO_MEDIA');
    expect(skipped({ type: 'camera', mediaBlob: '   ' }).reason).toBe('NO_MEDIA');
  });

  it('skips corrupt base64 and data URLs that are not base64', () => {
    for (const bad of [
      'data:video/webm;base64,AAA*AAAA',
      'data:video/webm;base64,AAAAA',
      'data:video/webm;base64,AA=A',
      'data:video/webm;base64,AAAA===',
      'data:video/webm,%1A%45',
      'data:video/webm;base64,AAAAé',
    ]) {
      expect(skipped({ type: 'camera', mediaBlob: bad }), bad).toMatchObject({ reason: 'CORRUPT_DATA' });
      expect(decodeDataUrl(bad), bad).toBeNull();
    }
  });
});

describe('the other fields', () => {
  it('keeps an image data URL thumbnail, nothing else', () => {
    const png = `data:image/png;base64,${b64(Uint8Array.of(0x89, 0x50))}`;
    expect(item({ thumbnail: png }).thumbnail).toBe(png);
    expect(item({ thumbnail: 'blob:x' }).thumbnail).toBeNull();
    expect(item({ thumbnail: 'data:image/svg+xml;base64,PHN2Zz4=' }).thumbnail).toBeNull();
    expect(item({ thumbnail: `data:image/jpeg;base64,${'A'.repeat(3_000_000)}` }).thumbnail).toBeNull();
  });

  it('reads size, description and quality when they make sense', () => {
    expect(item({ size: 1234 }).size).toBe(1234);
    expect(item({ size: '1234' }).size).toBe(1234);
    for (const size of [-1, 1.5, 2 ** 60, 'big', null]) expect(item({ size }).size, String(size)).toBeNull();
    expect(item({ description: '  about  ' }).description).toBe('about');
    expect(item({ description: '' }).description).toBeNull();
    expect(item({ quality: 'HIGH' }).quality).toBe('high');
    expect(item({ quality: 'ultra' }).quality).toBeNull();
  });
});

describe('entries that are not recordings', () => {
  it.each([
    [null, 'null'],
    [[{ id: 1 }], 'an array'],
    ['text', 'a string'],
    [42, 'a number'],
    [true, 'a boolean'],
  ])('%j is NOT_AN_OBJECT', (entry, what) => {
    expect(skipped(entry, 3)).toMatchObject({ reason: 'NOT_AN_OBJECT', legacyId: null, index: 3 });
    expect(skipped(entry).message).toContain(what);
  });

  it('never throws, whatever the entry holds', () => {
    const hostile = Object.create(null) as Record<string, unknown>;
    hostile.type = 'camera';
    hostile.mediaBlob = DATA;
    expect(norm(hostile).ok).toBe(true);
    const getter = { type: 'camera', mediaBlob: DATA, id: 1, title: { toString: () => 'x' } };
    expect(norm(getter).ok).toBe(true);
    expect(norm({ __proto__: { type: 'camera' } }).ok).toBe(false);
    const throwing = {
      get title() {
        throw new Error('boom');
      },
    };
    expect(norm(throwing)).toMatchObject({ ok: false, reason: 'CORRUPT_DATA' });
    expect(
      norm(
        new Proxy(
          {},
          {
            get: () => {
              throw new Error('trap');
            },
          },
        ),
      ).ok,
    ).toBe(false);
  });
});

describe('readSavedRecordings', () => {
  const entries = [{ id: 1, title: 'a "quoted" ] [ , }' }, { id: 2, nested: { list: [1, [2]] } }, 3, null];
  const json = JSON.stringify(entries);

  it('reads complete JSON as is; null is no value at all', () => {
    expect(readSavedRecordings(json)).toEqual({ entries, truncated: false, unreadable: false });
    expect(readSavedRecordings(null)).toEqual({ entries: [], truncated: false, unreadable: false });
    expect(readSavedRecordings('[]')).toEqual({ entries: [], truncated: false, unreadable: false });
    expect(readSavedRecordings(`\uFEFF${json}`).entries).toEqual(entries);
    expect(readSavedRecordings(JSON.stringify(json)).entries).toEqual(entries);
  });

  it('keeps the complete entries before a cut, at every possible cut', () => {
    for (let cut = 1; cut < json.length; cut++) {
      const got = readSavedRecordings(json.slice(0, cut));
      expect(got.truncated, `cut at ${cut}`).toBe(true);
      expect(got.unreadable).toBe(false);
      // An object is whole at its closing brace, a number or null at the comma after it.
      const endOf = (i: number) => JSON.stringify(entries.slice(0, i + 1)).length - 1;
      const isWhole = (e: unknown, i: number) =>
        typeof e === 'object' && e !== null ? endOf(i) <= cut : endOf(i) < cut;
      const whole = entries.filter(isWhole).length;
      expect(got.entries, `cut at ${cut}`).toEqual(entries.slice(0, whole));
    }
    expect(readSavedRecordings(json.slice(0, json.indexOf(',{"id":2'))).entries).toEqual([entries[0]]);
    expect(readSavedRecordings(`${json.slice(0, -1)},`).entries).toEqual(entries);
  });

  it('stops at garbage in the middle, and marks trailing garbage as not complete', () => {
    expect(readSavedRecordings('[{"id":1}, {"id":2} oops, {"id":3}]')).toEqual({
      entries: [{ id: 1 }, { id: 2 }],
      truncated: true,
      unreadable: false,
    });
    expect(readSavedRecordings('[{"id":1},,{"id":2}]').entries).toEqual([{ id: 1 }]);
    expect(readSavedRecordings('[{"id":1}]xyz')).toEqual({ entries: [{ id: 1 }], truncated: true, unreadable: false });
    expect(readSavedRecordings('[{"id":1}}').truncated).toBe(true);
    expect(readSavedRecordings('[1, 2 3, 4]').entries).toEqual([1, 2]);
    expect(readSavedRecordings('[1, tru').entries).toEqual([1]);
    expect(readSavedRecordings('[1, nope, 2]').entries).toEqual([1]);
    expect(readSavedRecordings('[{"a":"\\"]}"}, {"b').entries).toEqual([{ a: '"]}' }]);
  });

  it('is unreadable when it is not an array at all', () => {
    for (const raw of ['', '   ', 'garbage', '{"id":1}', '42', '"text"', 'null', '{"recordings":[', 'undefined']) {
      expect(readSavedRecordings(raw), raw).toEqual({ entries: [], truncated: false, unreadable: true });
    }
  });

  it('reads a few megabytes fast enough for a page load', () => {
    const big = JSON.stringify(
      Array.from({ length: 200 }, (_, i) => ({ id: i, mediaBlob: `data:video/webm;base64,${'QUJD'.repeat(5_000)}` })),
    );
    const started = performance.now();
    const got = readSavedRecordings(big.slice(0, -100));
    expect(got.entries).toHaveLength(199);
    expect(performance.now() - started).toBeLessThan(2_000);
  });
});

describe('base64', () => {
  it('decodes data URLs exactly, with their mime type', () => {
    expect(decodeDataUrl(DATA)).toEqual({ mimeType: 'video/webm', bytes: WEBM });
    expect(decodeDataUrl('data:;base64,QQ')).toEqual({
      mimeType: 'application/octet-stream',
      bytes: Uint8Array.of(65),
    });
    expect(decodeDataUrl('data:video/webm;base64,')?.bytes).toHaveLength(0);
    expect(decodeDataUrl('nope')).toBeNull();
  });

  it('decodes in pieces of any size, as the whole does', () => {
    const bytes = Uint8Array.from({ length: 1000 }, (_, i) => (i * 37) % 256);
    const text = b64(bytes);
    for (const step of [1, 2, 3, 5, 7, 64, 999]) {
      const decoder = new Base64Decoder();
      const parts: number[] = [];
      for (let i = 0; i < text.length; i += step) parts.push(...decoder.push(text.slice(i, i + step)));
      parts.push(...decoder.end());
      expect(Uint8Array.from(parts), `step ${step}`).toEqual(bytes);
    }
  });

  it('accepts unpadded, URL-safe and wrapped base64; refuses the rest', () => {
    expect(decodeBase64('QUI')).toEqual(Uint8Array.of(65, 66));
    expect(decodeBase64('QUI=')).toEqual(Uint8Array.of(65, 66));
    expect(decodeBase64('Q Q\n==')).toEqual(Uint8Array.of(65));
    expect(decodeBase64('-_-_')).toEqual(decodeBase64('+/+/'));
    for (const bad of ['Q', 'QQ=A', '=QQQ', 'QQQ==', 'QQ==QQ==', 'QQ\u0000Q', 'QUJD\u00e9']) {
      expect(decodeBase64(bad), JSON.stringify(bad)).toBeNull();
    }
  });
});
