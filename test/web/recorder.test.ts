// @vitest-environment node
/**
 * The recorder core's pure parts, in Node: modes, quality table, mime preference, error wording, the
 * bubble's bounds. The state machine is in recorder-state.test.ts; the real-browser side (devices,
 * canvas, MediaRecorder output) in test/e2e/recorder-core.test.ts.
 */
import { describe, expect, it } from 'vitest';
import {
  describeMediaError,
  MediaProblemError,
  screenShareStopped,
  deviceLost,
} from '../../src/web/recorder/errors.ts';
import {
  AUDIO_MIME_PREFERENCE,
  extensionFor,
  pickMimeType,
  VIDEO_MIME_PREFERENCE,
} from '../../src/web/recorder/mime.ts';
import { MODE_LIST, MODES, isRecordingMode } from '../../src/web/recorder/modes.ts';
import { bytesPerMinute, QUALITY, QUALITY_LIST } from '../../src/web/recorder/quality.ts';
import { clampBubble } from '../../src/web/recorder/compositor.ts';

describe('quality table', () => {
  it('has the documented values', () => {
    expect(QUALITY.high).toMatchObject({
      width: 1920,
      height: 1080,
      frameRate: 30,
      videoBitsPerSecond: 5_000_000,
      audioBitsPerSecond: 128_000,
    });
    expect(QUALITY.medium).toMatchObject({
      width: 1280,
      height: 720,
      frameRate: 30,
      videoBitsPerSecond: 2_500_000,
      audioBitsPerSecond: 96_000,
    });
    expect(QUALITY.low).toMatchObject({
      width: 854,
      height: 480,
      frameRate: 24,
      videoBitsPerSecond: 1_000_000,
      audioBitsPerSecond: 64_000,
    });
  });

  it('orders every field high > medium > low, keeps 16:9 and even-ish sizes', () => {
    const fields = ['width', 'height', 'videoBitsPerSecond', 'audioBitsPerSecond'] as const;
    for (const f of fields) {
      expect(QUALITY.high[f]).toBeGreaterThan(QUALITY.medium[f]);
      expect(QUALITY.medium[f]).toBeGreaterThan(QUALITY.low[f]);
    }
    for (const q of QUALITY_LIST) {
      expect(Math.abs(QUALITY[q].width / QUALITY[q].height - 16 / 9)).toBeLessThan(0.01);
      expect(QUALITY[q].height % 2).toBe(0); // VP8/VP9 encoders want even dimensions
    }
    expect(bytesPerMinute('medium', true)).toBe(((2_500_000 + 96_000) / 8) * 60);
    expect(bytesPerMinute('low', false)).toBe((64_000 / 8) * 60);
  });
});

describe('modes', () => {
  it('lists the six spec types with what they need', () => {
    expect(MODE_LIST).toEqual(['camera', 'audio', 'screen', 'screen-camera', 'slides', 'slides-camera']);
    expect(Object.keys(MODES).sort()).toEqual([...MODE_LIST].sort());
    expect(MODES.audio).toMatchObject({ video: false, mic: true, micOptional: false, camera: false, screen: false });
    expect(MODE_LIST.filter((m) => MODES[m].composited)).toEqual(['screen-camera', 'slides', 'slides-camera']);
    expect(MODE_LIST.filter((m) => MODES[m].camera)).toEqual(['camera', 'screen-camera', 'slides-camera']);
    expect(MODE_LIST.filter((m) => MODES[m].screen)).toEqual(['screen', 'screen-camera']);
    expect(MODE_LIST.filter((m) => MODES[m].slides)).toEqual(['slides', 'slides-camera']);
    expect(isRecordingMode('screen-camera')).toBe(true);
    expect(isRecordingMode('toString')).toBe(false);
  });
});

describe('pickMimeType', () => {
  const only =
    (...ok: string[]) =>
    (t: string) =>
      ok.includes(t);

  it('asks in preference order and stops at the first supported type', () => {
    const asked: string[] = [];
    const supported = (t: string) => {
      asked.push(t);
      return t === 'video/webm';
    };
    expect(pickMimeType(true, supported)).toBe('video/webm');
    expect(asked).toEqual(['video/webm;codecs=vp9,opus', 'video/webm;codecs=vp8,opus', 'video/webm']);
  });

  it('prefers VP9, then VP8, then plain WebM, then MP4 (Safari)', () => {
    expect(pickMimeType(true, () => true)).toBe('video/webm;codecs=vp9,opus');
    expect(pickMimeType(true, only('video/webm;codecs=vp8,opus', 'video/mp4'))).toBe('video/webm;codecs=vp8,opus');
    expect(pickMimeType(true, only('video/mp4'))).toBe('video/mp4');
    expect(pickMimeType(true, only('audio/webm;codecs=opus'))).toBe('');
    expect(VIDEO_MIME_PREFERENCE).toHaveLength(4);
  });

  it('audio-only prefers Opus in WebM, then Ogg, then MP4', () => {
    expect(pickMimeType(false, () => true)).toBe('audio/webm;codecs=opus');
    expect(pickMimeType(false, only('audio/ogg;codecs=opus', 'audio/mp4'))).toBe('audio/ogg;codecs=opus');
    expect(pickMimeType(false, only('audio/mp4', 'video/webm'))).toBe('audio/mp4');
    expect(pickMimeType(false, () => false)).toBe('');
    expect(AUDIO_MIME_PREFERENCE[0]).toBe('audio/webm;codecs=opus');
  });

  it('without MediaRecorder (Node) leaves the choice to the browser', () => {
    expect(pickMimeType(true)).toBe('');
  });

  it('maps mime types to file extensions', () => {
    expect(extensionFor('video/webm;codecs=vp9,opus')).toBe('webm');
    expect(extensionFor('audio/webm;codecs=opus')).toBe('webm');
    expect(extensionFor('video/mp4;codecs=avc1')).toBe('mp4');
    expect(extensionFor('audio/mp4')).toBe('m4a');
    expect(extensionFor('audio/ogg; codecs=opus')).toBe('ogg');
    expect(extensionFor('')).toBe('webm');
  });
});

describe('describeMediaError', () => {
  const dom = (name: string, message = '') => new DOMException(message, name);

  it.each([
    [
      'NotAllowedError',
      'camera',
      'permission-denied',
      "Recorder isn't allowed to use your camera. Allow it in the address bar's site settings and try again.",
    ],
    ['PermissionDeniedError', 'microphone', 'permission-denied', "Recorder isn't allowed to use your microphone."],
    ['NotFoundError', 'camera', 'no-device', 'No camera was found. Connect one'],
    ['DevicesNotFoundError', 'microphone', 'no-device', 'No microphone was found.'],
    [
      'NotReadableError',
      'camera and microphone',
      'device-busy',
      'Your camera and microphone are in use by another app',
    ],
    ['TrackStartError', 'camera', 'device-busy', 'Your camera is in use by another app'],
    ['AbortError', 'microphone', 'device-busy', 'Starting your microphone was interrupted'],
    ['SecurityError', 'camera', 'unsupported', 'over https'],
    ['NotSupportedError', 'microphone', 'unsupported', 'This browser cannot record your microphone.'],
  ] as const)('%s (%s) → %s', (name, what, code, text) => {
    const p = describeMediaError(dom(name), what);
    expect(p.code).toBe(code);
    expect(p.message).toContain(text);
  });

  it('tells a cancelled screen picker from a system block', () => {
    const cancelled = describeMediaError(dom('NotAllowedError', 'Permission denied'), 'screen');
    expect(cancelled).toEqual({
      code: 'permission-denied',
      message: 'No screen was shared. Click start again and choose a screen, window or tab to share.',
    });
    const system = describeMediaError(dom('NotAllowedError', 'Permission denied by system'), 'screen');
    expect(system.code).toBe('permission-denied');
    expect(system.message).toContain('Privacy & Security → Screen Recording');
    expect(describeMediaError(dom('NotAllowedError', 'Permission denied by system'), 'camera').message).toContain(
      "system's privacy settings",
    );
  });

  it('OverconstrainedError: a vanished device vs an impossible quality', () => {
    const gone = describeMediaError({ name: 'OverconstrainedError', constraint: 'deviceId', message: '' }, 'camera');
    expect(gone).toEqual({
      code: 'no-device',
      message: 'The selected camera is not available anymore. Choose another one and try again.',
    });
    const tooBig = describeMediaError({ name: 'OverconstrainedError', constraint: 'width', message: '' }, 'camera');
    expect(tooBig.code).toBe('constraints');
    expect(tooBig.message).toBe(
      'Your camera cannot record at the chosen quality. Choose a lower quality or another device.',
    );
  });

  it('a missing API (TypeError) is "unsupported", the screen one says which browsers can', () => {
    const p = describeMediaError(
      new TypeError("Cannot read properties of undefined (reading 'getDisplayMedia')"),
      'screen',
    );
    expect(p.code).toBe('unsupported');
    expect(p.message).toContain('cannot record the screen');
    expect(describeMediaError(dom('InvalidStateError'), 'screen').message).toContain('started by a click');
  });

  it('passes problems through and words unknown errors with their detail', () => {
    const stopped = screenShareStopped();
    expect(stopped.code).toBe('screen-share-stopped');
    expect(describeMediaError(stopped, 'screen')).toBe(stopped);
    expect(describeMediaError(new MediaProblemError(stopped), 'camera')).toBe(stopped);
    expect(describeMediaError({ problem: stopped }, 'camera')).toBe(stopped);
    expect(describeMediaError(new Error('boom'), 'microphone')).toEqual({
      code: 'unknown',
      message: 'Something went wrong with your microphone: boom. Try again.',
    });
    expect(describeMediaError('weird', 'camera').code).toBe('unknown');
    expect(deviceLost('microphone')).toEqual({
      code: 'no-device',
      message:
        'Your microphone stopped working (unplugged or taken by another app), so the recording stopped. ' +
        'Everything recorded until then is kept.',
    });
  });
});

describe('camera bubble', () => {
  it('keeps the whole circle on the canvas and the size within limits', () => {
    expect(clampBubble({ x: 0.5, y: 0.5, size: 0.3 }, 1280, 720)).toEqual({ x: 0.5, y: 0.5, size: 0.3 });
    const corner = clampBubble({ x: 1, y: 1, size: 0.3 }, 1280, 720);
    expect(corner.y).toBeCloseTo(0.85, 6); // radius 0.15 of the height
    expect(corner.x).toBeCloseTo(1 - (0.3 * 720) / 2 / 1280, 6);
    expect(clampBubble({ x: 0.5, y: 0.5, size: 5 }, 1280, 720).size).toBe(0.6);
    expect(clampBubble({ x: Number.NaN, y: 0.5, size: 0.01 }, 1280, 720)).toMatchObject({ x: 0.86, size: 0.1 });
  });
});
