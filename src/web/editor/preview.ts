/**
 * The live preview: the original media played through the EditState without rendering anything.
 * - Playback skips what the trims removed: on every animation frame while playing (and on seeks) the
 *   element's source time is checked against the kept ranges and moved to the next one (seekTarget).
 * - The video is drawn on a canvas the size of the output frame: the crop's source rectangle, the
 *   filters as a canvas filter (canvasFilter documents the mapping to ffmpeg's), then the texts showing
 *   at that time, in DejaVu Sans (the render's font, served by the app at /fonts/DejaVuSans.ttf).
 * - Sound goes through Web Audio: a gain node set every frame to gain × mute × fades (audioGain).
 *   Noise reduction is heard in the render only.
 * The canvas carries what it shows in data-* attributes (crop, filter, texts) for tests and debugging.
 */
import type { EditState } from '../../shared/edits.ts';
import { audioGain, canvasFilter, cssColor, seekTarget, sourceRect, textBox, textsAt } from './preview-math.ts';

export const FONT_URL = '/fonts/DejaVuSans.ttf';
export const FONT_FAMILY = 'Recorder DejaVu Sans';
export const FONT_STACK = `"${FONT_FAMILY}", "DejaVu Sans", sans-serif`;

let fontLoad: Promise<void> | null = null;

/** Loads the render's font once per page; without it (404, offline) the stack falls back to sans-serif. */
export function loadPreviewFont(): Promise<void> {
  if (!fontLoad) {
    fontLoad = (async () => {
      try {
        const face = new FontFace(FONT_FAMILY, `url(${FONT_URL})`);
        document.fonts.add(await face.load());
      } catch {
        // The server has no DejaVu Sans: sans-serif it is (docs/editor.md, Preview).
      }
    })();
  }
  return fontLoad;
}

export interface PreviewOptions {
  /** Draw the whole source frame (while the crop box is being placed) instead of the crop. */
  fullFrame?: boolean;
}

export class PreviewEngine {
  private state: EditState;
  private opts: PreviewOptions = {};
  private frame = 0;
  private audio: { ctx: AudioContext; gain: GainNode } | null = null;
  private readonly off: (() => void)[] = [];

  constructor(
    readonly media: HTMLMediaElement,
    readonly canvas: HTMLCanvasElement | null,
    state: EditState,
  ) {
    this.state = state;
    const on = (type: string, fn: () => void) => {
      media.addEventListener(type, fn);
      this.off.push(() => media.removeEventListener(type, fn));
    };
    on('play', () => this.onPlay());
    on('seeked', () => this.tick());
    on('loadeddata', () => this.tick());
    on('timeupdate', () => this.enforceKeep());
    void loadPreviewFont().then(() => this.draw());
  }

  update(state: EditState, opts: PreviewOptions = this.opts): void {
    this.state = state;
    this.opts = opts;
    this.tick();
  }

  destroy(): void {
    cancelAnimationFrame(this.frame);
    for (const off of this.off) off();
    void this.audio?.ctx.close().catch(() => undefined);
  }

  /** Source time where a press on Play should start: the first kept range when outside every kept range. */
  private onPlay(): void {
    this.ensureAudio();
    const target = seekTarget(this.state.keep, this.media.currentTime);
    if (target === 'end') this.media.currentTime = this.state.keep[0]!.start;
    else if (target !== null) this.media.currentTime = target;
    this.loop();
  }

  private loop(): void {
    cancelAnimationFrame(this.frame);
    const step = () => {
      this.tick();
      if (!this.media.paused && !this.media.ended) this.frame = requestAnimationFrame(step);
    };
    this.frame = requestAnimationFrame(step);
  }

  private tick(): void {
    this.enforceKeep();
    this.applyGain();
    this.draw();
  }

  /** Jumps over removed ranges while playing; pauses at the end of the last kept range. */
  private enforceKeep(): void {
    const m = this.media;
    if (m.paused || m.seeking) return;
    const target = seekTarget(this.state.keep, m.currentTime);
    if (target === 'end') {
      m.pause();
      m.currentTime = this.state.keep.at(-1)!.end;
    } else if (target !== null) {
      m.currentTime = target;
    }
  }

  /** Web Audio needs a user's gesture: the graph is made on the first play. */
  private ensureAudio(): void {
    if (this.audio || typeof AudioContext === 'undefined') return;
    try {
      const ctx = new AudioContext();
      const source = ctx.createMediaElementSource(this.media);
      const gain = ctx.createGain();
      source.connect(gain).connect(ctx.destination);
      this.audio = { ctx, gain };
    } catch {
      // No Web Audio (or the element is already routed): the gain is not previewed.
    }
    void this.audio?.ctx.resume().catch(() => undefined);
  }

  private applyGain(): void {
    if (!this.audio) return;
    const value = audioGain(this.state, this.media.currentTime);
    this.audio.gain.gain.setTargetAtTime(value, this.audio.ctx.currentTime, 0.01);
    this.media.dataset.previewGain = value.toFixed(3);
  }

  private draw(): void {
    const canvas = this.canvas;
    const video = this.media as HTMLVideoElement;
    if (!canvas || !video.videoWidth) return;
    const ctx = canvas.getContext('2d');
    if (!ctx) return;
    const full = { x: 0, y: 0, width: video.videoWidth, height: video.videoHeight };
    const src = this.opts.fullFrame ? full : sourceRect(this.state, full.width, full.height);
    if (canvas.width !== src.width) canvas.width = src.width;
    if (canvas.height !== src.height) canvas.height = src.height;
    const filter = canvasFilter(this.state);
    ctx.filter = filter;
    ctx.drawImage(video, src.x, src.y, src.width, src.height, 0, 0, src.width, src.height);
    ctx.filter = 'none';
    const t = video.currentTime;
    const shown = this.opts.fullFrame ? [] : textsAt(this.state, t);
    for (const text of shown) {
      ctx.font = `${Math.max(1, Math.round(text.size * src.height))}px ${FONT_STACK}`;
      ctx.textBaseline = 'top';
      const b = textBox(text, src.width, src.height, ctx.measureText(text.text).width);
      if (b.box && text.background) {
        ctx.fillStyle = cssColor(text.background);
        ctx.fillRect(b.box.x, b.box.y, b.box.width, b.box.height);
      }
      ctx.fillStyle = text.color;
      ctx.fillText(text.text, b.x, b.y);
    }
    Object.assign(canvas.dataset, {
      crop: `${src.x},${src.y},${src.width},${src.height}`,
      filter,
      texts: shown.map((x) => x.text).join('\n'),
      sourceTime: t.toFixed(3),
    });
  }
}
