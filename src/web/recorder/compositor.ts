/**
 * Draws a take's picture on a canvas: the base (a screen capture <video> or the slide deck's canvas),
 * letterboxed to the quality's size, plus an optional round camera bubble the user can move.
 *
 * The canvas is captured with captureStream(0) and every drawn frame is pushed with requestFrame(), so
 * the recording gets exactly the frames we draw. The drawing loop is clocked by a Worker: timers and
 * requestAnimationFrame on the page are throttled to 1 Hz or less (or stopped) when the tab is in the
 * background, which is exactly where the recorder tab sits while the user records another screen.
 * Timers inside a dedicated worker keep their rate.
 */
export interface Bubble {
  /** Centre of the bubble, 0..1 of the canvas width/height. */
  x: number;
  y: number;
  /** Diameter as a fraction of the canvas height (0.1..0.6). */
  size: number;
}

export interface Compositor {
  canvas: HTMLCanvasElement;
  /** The captured canvas: one video track. */
  stream: MediaStream;
  readonly bubble: Bubble;
  setBubble(p: Bubble): void;
  /** Frames drawn so far (tests and the UI's "is it alive" check). */
  readonly frames: number;
  /** Draw and push one frame now (also done by the timer). */
  drawFrame(): void;
  stop(): void;
}

export interface CompositorOptions {
  base: HTMLVideoElement | HTMLCanvasElement;
  camera?: HTMLVideoElement;
  width: number;
  height: number;
  frameRate: number;
  bubble?: Bubble;
}

export const DEFAULT_BUBBLE: Bubble = { x: 0.86, y: 0.78, size: 0.3 };

export function clampBubble(p: Bubble, width: number, height: number): Bubble {
  const size = Math.min(0.6, Math.max(0.1, Number.isFinite(p.size) ? p.size : DEFAULT_BUBBLE.size));
  // Keep the whole circle on the canvas: the radius in normalised units differs per axis.
  const rx = (size * height) / 2 / width;
  const ry = size / 2;
  const x = Math.min(1 - rx, Math.max(rx, Number.isFinite(p.x) ? p.x : DEFAULT_BUBBLE.x));
  const y = Math.min(1 - ry, Math.max(ry, Number.isFinite(p.y) ? p.y : DEFAULT_BUBBLE.y));
  return { x, y, size };
}

/** A ticker that keeps running in background tabs; falls back to setInterval if workers are blocked (CSP). */
function startTicker(frameRate: number, tick: () => void): () => void {
  const interval = Math.max(1, Math.round(1000 / frameRate));
  try {
    const src =
      'let h; onmessage = (e) => { clearInterval(h); ' +
      'if (e.data > 0) h = setInterval(() => postMessage(0), e.data); };';
    const url = URL.createObjectURL(new Blob([src], { type: 'text/javascript' }));
    const worker = new Worker(url);
    URL.revokeObjectURL(url);
    worker.onmessage = () => tick();
    worker.postMessage(interval);
    return () => {
      worker.postMessage(0);
      worker.terminate();
    };
  } catch {
    const h = setInterval(tick, interval);
    return () => clearInterval(h);
  }
}

function sourceSize(el: HTMLVideoElement | HTMLCanvasElement): { w: number; h: number } {
  if (el instanceof HTMLVideoElement) return { w: el.videoWidth, h: el.videoHeight };
  return { w: el.width, h: el.height };
}

function ready(el: HTMLVideoElement | HTMLCanvasElement): boolean {
  if (el instanceof HTMLVideoElement) return el.readyState >= 2 && el.videoWidth > 0;
  return el.width > 0 && el.height > 0;
}

export function createCompositor(o: CompositorOptions): Compositor {
  const canvas = document.createElement('canvas');
  canvas.width = o.width;
  canvas.height = o.height;
  const ctx = canvas.getContext('2d', { alpha: false });
  if (!ctx) throw new Error('This browser cannot draw on a canvas (2D context unavailable).');
  const stream = canvas.captureStream(0);
  const track = stream.getVideoTracks()[0] as CanvasCaptureMediaStreamTrack | undefined;
  if (!track) throw new Error('This browser cannot record a canvas (captureStream gave no video track).');

  let bubble = clampBubble(o.bubble ?? DEFAULT_BUBBLE, o.width, o.height);
  let frames = 0;
  let stopped = false;

  const drawBase = () => {
    ctx.fillStyle = '#000';
    ctx.fillRect(0, 0, o.width, o.height);
    if (!ready(o.base)) return;
    const { w, h } = sourceSize(o.base);
    const scale = Math.min(o.width / w, o.height / h);
    const dw = Math.round(w * scale);
    const dh = Math.round(h * scale);
    ctx.drawImage(o.base, Math.round((o.width - dw) / 2), Math.round((o.height - dh) / 2), dw, dh);
  };

  const drawBubble = () => {
    const cam = o.camera;
    if (!cam || !ready(cam)) return;
    const d = bubble.size * o.height;
    const cx = bubble.x * o.width;
    const cy = bubble.y * o.height;
    // Cover-crop the camera to a centred square so faces are not squashed.
    const side = Math.min(cam.videoWidth, cam.videoHeight);
    const sx = (cam.videoWidth - side) / 2;
    const sy = (cam.videoHeight - side) / 2;
    ctx.save();
    ctx.beginPath();
    ctx.arc(cx, cy, d / 2, 0, Math.PI * 2);
    ctx.closePath();
    ctx.clip();
    ctx.drawImage(cam, sx, sy, side, side, cx - d / 2, cy - d / 2, d, d);
    ctx.restore();
    ctx.beginPath();
    ctx.arc(cx, cy, d / 2, 0, Math.PI * 2);
    ctx.lineWidth = Math.max(2, Math.round(o.height / 270));
    ctx.strokeStyle = 'rgba(255,255,255,0.9)';
    ctx.stroke();
  };

  const drawFrame = () => {
    if (stopped) return;
    drawBase();
    drawBubble();
    track.requestFrame();
    frames++;
  };

  drawFrame();
  const stopTicker = startTicker(o.frameRate, drawFrame);

  return {
    canvas,
    stream,
    get bubble() {
      return bubble;
    },
    setBubble(p) {
      bubble = clampBubble(p, o.width, o.height);
    },
    get frames() {
      return frames;
    },
    drawFrame,
    stop() {
      if (stopped) return;
      stopped = true;
      stopTicker();
      track.stop();
    },
  };
}
