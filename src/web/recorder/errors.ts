/**
 * Turns what getUserMedia/getDisplayMedia/MediaRecorder throw into a code the app can branch on and a
 * sentence a person can act on. The code is also what the server stores on an interrupted session.
 */
export type MediaProblemCode =
  | 'permission-denied'
  | 'no-device'
  | 'device-busy'
  | 'screen-share-stopped'
  | 'unsupported'
  | 'constraints'
  | 'unknown';

export interface MediaProblem {
  code: MediaProblemCode;
  message: string;
}

export type MediaWhat = 'camera' | 'microphone' | 'screen' | 'camera and microphone';

/** An Error that carries its MediaProblem; what acquireSources() and the Recorder throw. */
export class MediaProblemError extends Error {
  readonly problem: MediaProblem;
  constructor(problem: MediaProblem, options?: { cause?: unknown }) {
    super(problem.message, options);
    this.name = 'MediaProblemError';
    this.problem = problem;
  }
}

function isMediaProblem(v: unknown): v is MediaProblem {
  return (
    typeof v === 'object' &&
    v !== null &&
    typeof (v as MediaProblem).code === 'string' &&
    typeof (v as MediaProblem).message === 'string' &&
    !(v instanceof Error)
  );
}

/** "your camera", "your microphone", "your camera and microphone", "your screen". */
function your(what: MediaWhat): string {
  return `your ${what}`;
}

function isAre(what: MediaWhat): string {
  return what === 'camera and microphone' ? 'are' : 'is';
}

export function screenShareStopped(): MediaProblem {
  return {
    code: 'screen-share-stopped',
    message: 'Screen sharing was stopped, so the recording stopped. Everything recorded until then is kept.',
  };
}

/** A camera or microphone that went away mid-take (unplugged, taken by the system, revoked). */
export function deviceLost(what: MediaWhat): MediaProblem {
  return {
    code: 'no-device',
    message:
      `${capital(your(what))} stopped working (unplugged or taken by another app), so the recording stopped. ` +
      'Everything recorded until then is kept.',
  };
}

function capital(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}

export function describeMediaError(err: unknown, what: MediaWhat): MediaProblem {
  if (isMediaProblem(err)) return err;
  if (err instanceof MediaProblemError) return err.problem;
  if (typeof err === 'object' && err !== null && isMediaProblem((err as { problem?: unknown }).problem)) {
    return (err as { problem: MediaProblem }).problem;
  }
  const name =
    typeof err === 'object' && err !== null && typeof (err as { name?: unknown }).name === 'string'
      ? (err as { name: string }).name
      : '';
  const detail =
    typeof err === 'object' && err !== null && typeof (err as { message?: unknown }).message === 'string'
      ? (err as { message: string }).message
      : String(err);
  const screen = what === 'screen';

  switch (name) {
    case 'NotAllowedError':
    case 'PermissionDeniedError': // pre-standard Chrome name
      // Chrome says "Permission denied by system" when the OS (macOS privacy settings) blocks it.
      if (/by system/i.test(detail)) {
        return {
          code: 'permission-denied',
          message: screen
            ? 'Your computer is not letting the browser record the screen. Allow screen recording for your browser ' +
              'in the system settings (on a Mac: System Settings → Privacy & Security → Screen Recording), ' +
              'restart the browser and try again.'
            : `Your computer is not letting the browser use ${your(what)}. ` +
              "Allow it for your browser in the system's privacy settings, then try again.",
        };
      }
      return {
        code: 'permission-denied',
        message: screen
          ? 'No screen was shared. Click start again and choose a screen, window or tab to share.'
          : `Recorder isn't allowed to use ${your(what)}. Allow it in the address bar's site settings and try again.`,
      };
    case 'NotFoundError':
    case 'DevicesNotFoundError':
      return {
        code: 'no-device',
        message: screen
          ? 'There is nothing to share: the browser found no screen, window or tab to record.'
          : `No ${what} was found. Connect one (and check it is switched on), then try again.`,
      };
    case 'NotReadableError':
    case 'TrackStartError':
      return {
        code: 'device-busy',
        message: screen
          ? 'The browser could not capture the screen. Close other apps that are recording or sharing it and try again.'
          : `${capital(your(what))} ${isAre(what)} in use by another app or could not be started. ` +
            'Close other apps or tabs that use it (video calls, other recorders) and try again.',
      };
    case 'AbortError':
      return {
        code: 'device-busy',
        message: screen
          ? 'Starting the screen capture was interrupted. Try again.'
          : `Starting ${your(what)} was interrupted or took too long. ` +
            'Try again; if it keeps happening, reconnect the device.',
      };
    case 'OverconstrainedError':
    case 'ConstraintNotSatisfiedError': {
      const constraint = (err as { constraint?: unknown }).constraint;
      if (constraint === 'deviceId') {
        return {
          code: 'no-device',
          message:
            `The selected ${what === 'camera and microphone' ? 'camera or microphone' : what} ` +
            'is not available anymore. Choose another one and try again.',
        };
      }
      const device = capital(your(what));
      return {
        code: 'constraints',
        message: `${device} cannot record at the chosen quality. Choose a lower quality or another device.`,
      };
    }
    case 'SecurityError':
      return {
        code: 'unsupported',
        message:
          `This page is not allowed to use ${your(what)}. ` +
          "Open Recorder over https (or on localhost), not inside another site's frame.",
      };
    case 'NotSupportedError':
    case 'TypeError':
      return {
        code: 'unsupported',
        message: screen
          ? 'This browser cannot record the screen. Use a current Chrome, Edge or Firefox on a computer.'
          : `This browser cannot record ${your(what)}. Use a current Chrome, Edge, Firefox or Safari over https.`,
      };
    case 'InvalidStateError':
      if (screen) {
        return {
          code: 'unsupported',
          message: 'Screen sharing has to be started by a click. Click start again.',
        };
      }
      break;
    default:
      break;
  }
  return {
    code: 'unknown',
    message: `Something went wrong with ${your(what)}${detail ? `: ${detail}` : ''}. Try again.`,
  };
}
