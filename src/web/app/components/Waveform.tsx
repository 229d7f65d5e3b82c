import { useEffect, useRef, useState, type RefObject } from 'react';
import type { LevelMeter as Meter } from '../../recorder/audio.ts';
import { LevelMeter } from './LevelMeter.tsx';

const BARS = 160;

/** Peak per bar from the decoded samples (all channels), 0..1. */
export function peaks(channels: Float32Array[], bars: number): number[] {
  const len = channels[0]?.length ?? 0;
  const out = new Array<number>(bars).fill(0);
  if (!len) return out;
  const per = len / bars;
  for (let b = 0; b < bars; b++) {
    const from = Math.floor(b * per);
    const to = Math.min(len, Math.floor((b + 1) * per));
    let max = 0;
    // A stride keeps an hour-long file to a few million reads; peaks survive it well enough to look right.
    const stride = Math.max(1, Math.floor((to - from) / 2000));
    for (const ch of channels) for (let i = from; i < to; i += stride) max = Math.max(max, Math.abs(ch[i]!));
    out[b] = max;
  }
  const top = Math.max(...out, 1e-6);
  return out.map((v) => v / top);
}

async function decode(url: string, signal: AbortSignal): Promise<number[]> {
  const res = await fetch(url, { credentials: 'include', signal });
  if (!res.ok) throw new Error(`HTTP ${res.status}`);
  const buf = await res.arrayBuffer();
  const ctx = new OfflineAudioContext(1, 1, 44100);
  const audio = await ctx.decodeAudioData(buf);
  const chans = Array.from({ length: audio.numberOfChannels }, (_, i) => audio.getChannelData(i));
  return peaks(chans, BARS);
}

/**
 * A level meter on the playing element, for files this browser cannot decode in one piece. Routed
 * through Web Audio to the speakers (an element source is silent unless connected to the destination).
 */
function useLiveLevel(media: RefObject<HTMLMediaElement | null>, enabled: boolean): Meter | undefined {
  const [meter, setMeter] = useState<Meter>();
  useEffect(() => {
    const m = media.current;
    if (!m || !enabled) return;
    let ctx: AudioContext | undefined;
    const onPlay = () => {
      if (ctx) return void ctx.resume();
      ctx = new AudioContext();
      const analyser = ctx.createAnalyser();
      analyser.fftSize = 1024;
      ctx.createMediaElementSource(m).connect(analyser);
      analyser.connect(ctx.destination);
      const buf = new Float32Array(analyser.fftSize);
      setMeter({
        level() {
          analyser.getFloatTimeDomainData(buf);
          let sum = 0;
          for (const v of buf) sum += v * v;
          return Math.min(1, Math.sqrt(Math.sqrt(sum / buf.length) * 4));
        },
        stop() {},
      });
    };
    m.addEventListener('play', onPlay);
    return () => {
      m.removeEventListener('play', onPlay);
      void ctx?.close();
    };
  }, [media, enabled]);
  return meter;
}

function cssVar(el: Element, name: string, fallback: string) {
  return getComputedStyle(el).getPropertyValue(name).trim() || fallback;
}

/**
 * The whole recording's shape, with the played part highlighted; click or arrow keys seek. When the
 * file cannot be decoded here, a live level bar (from the playing element) stands in for it.
 */
export function Waveform({ url, media }: { url: string; media: RefObject<HTMLMediaElement | null> }) {
  const canvas = useRef<HTMLCanvasElement>(null);
  const [bars, setBars] = useState<number[] | null>(null);
  const [failed, setFailed] = useState(false);
  const [pos, setPos] = useState(0);
  const live = useLiveLevel(media, failed);

  useEffect(() => {
    const ac = new AbortController();
    decode(url, ac.signal).then(setBars, () => !ac.signal.aborted && setFailed(true));
    return () => ac.abort();
  }, [url]);

  useEffect(() => {
    const m = media.current;
    if (!m) return;
    let raf = 0;
    const tick = () => {
      setPos(m.duration && Number.isFinite(m.duration) ? m.currentTime / m.duration : 0);
      if (!m.paused) raf = requestAnimationFrame(tick);
    };
    const on = () => {
      cancelAnimationFrame(raf);
      raf = requestAnimationFrame(tick);
    };
    m.addEventListener('play', on);
    m.addEventListener('seeked', on);
    m.addEventListener('timeupdate', on);
    return () => {
      cancelAnimationFrame(raf);
      m.removeEventListener('play', on);
      m.removeEventListener('seeked', on);
      m.removeEventListener('timeupdate', on);
    };
  }, [media]);

  useEffect(() => {
    const c = canvas.current;
    if (!c) return;
    const dpr = window.devicePixelRatio || 1;
    const w = c.clientWidth * dpr;
    const h = c.clientHeight * dpr;
    if (c.width !== w) c.width = w;
    if (c.height !== h) c.height = h;
    const g = c.getContext('2d');
    if (!g) return;
    g.clearRect(0, 0, w, h);
    const data = bars ?? new Array<number>(BARS).fill(0.04);
    const bw = w / data.length;
    const played = cssVar(c, '--accent', '#e5484d');
    const rest = cssVar(c, '--muted', '#999');
    data.forEach((v, i) => {
      const bh = Math.max(2 * dpr, v * h * 0.9);
      g.fillStyle = (i + 0.5) / data.length <= pos ? played : rest;
      g.fillRect(i * bw + bw * 0.15, (h - bh) / 2, Math.max(1, bw * 0.7), bh);
    });
  }, [bars, pos]);

  const seek = (fraction: number) => {
    const m = media.current;
    if (m && Number.isFinite(m.duration)) m.currentTime = Math.min(m.duration, Math.max(0, fraction * m.duration));
  };

  return (
    <div className="waveform-wrap">
      <canvas
        ref={canvas}
        className="waveform"
        data-testid="waveform"
        role="slider"
        tabIndex={0}
        aria-label="Position in the recording"
        aria-valuemin={0}
        aria-valuemax={100}
        aria-valuenow={Math.round(pos * 100)}
        aria-valuetext={`${Math.round(pos * 100)}%`}
        onClick={(e) => {
          const r = e.currentTarget.getBoundingClientRect();
          seek((e.clientX - r.left) / r.width);
        }}
        onKeyDown={(e) => {
          if (e.key === 'ArrowRight') seek(pos + 0.05);
          else if (e.key === 'ArrowLeft') seek(pos - 0.05);
          else return;
          e.preventDefault();
        }}
      />
      {failed && (
        <>
          <LevelMeter levels={live} label="Playback level" />
          <p className="muted small-print">
            The waveform could not be drawn in this browser; the level shows while it plays.
          </p>
        </>
      )}
    </div>
  );
}
