/**
 * Where a server process spent its CPU: a V8 profile (node --cpu-prof, written when the process exits)
 * summed by self time per layer — a package under node_modules, a folder of src/server, Node's own
 * internals, the garbage collector — and per function.
 */
import fs from 'node:fs';
import path from 'node:path';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
}
interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

export interface CpuSummary {
  /** Wall time the profile covers, ms. */
  profiledMs: number;
  /** CPU time (all samples but idle), ms. */
  busyMs: number;
  layers: { layer: string; ms: number; share: number }[];
  functions: { fn: string; ms: number }[];
}

/** The layer a function belongs to, from its script URL. */
function layerOf(url: string, name: string): string {
  if (!url) return name.startsWith('(') ? name : '(native)';
  const modules = url.lastIndexOf('node_modules/');
  if (modules >= 0) {
    const rest = url.slice(modules + 'node_modules/'.length).split('/');
    return rest[0]!.startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0]!;
  }
  const src = /\/src\/server\/([^/]+)/.exec(url);
  if (src) return `src/server/${src[1]!.replace(/\.ts$/, '')}`;
  if (url.startsWith('node:')) return 'node internals';
  return path.basename(url);
}

/**
 * Summarizes the busiest .cpuprofile in `dir` (one is written per thread: the main thread serves the
 * requests, tsx's loader thread only loaded modules at start), or undefined when there is none.
 */
export function summarizeCpuProfile(dir: string, top = 20): CpuSummary | undefined {
  const files = fs.existsSync(dir) ? fs.readdirSync(dir).filter((f) => f.endsWith('.cpuprofile')) : [];
  const summaries = files.map((f) => summarize(JSON.parse(fs.readFileSync(path.join(dir, f), 'utf8')), top));
  return summaries.sort((a, b) => b.busyMs - a.busyMs)[0];
}

function summarize(profile: CpuProfile, top: number): CpuSummary {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const selfUs = new Map<number, number>();
  for (const [i, id] of profile.samples.entries()) selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0));
  const layers = new Map<string, number>();
  const functions = new Map<string, number>();
  let busyUs = 0;
  for (const [id, us] of selfUs) {
    const f = byId.get(id)!.callFrame;
    if (f.functionName === '(idle)') continue;
    busyUs += us;
    const layer = layerOf(f.url, f.functionName);
    layers.set(layer, (layers.get(layer) ?? 0) + us);
    const fn = `${f.functionName || '(anonymous)'} ${layer}:${f.lineNumber + 1}`;
    functions.set(fn, (functions.get(fn) ?? 0) + us);
  }
  const sorted = (m: Map<string, number>) => [...m].sort((a, b) => b[1] - a[1]).slice(0, top);
  return {
    profiledMs: (profile.endTime - profile.startTime) / 1000,
    busyMs: busyUs / 1000,
    layers: sorted(layers).map(([layer, us]) => ({ layer, ms: us / 1000, share: us / busyUs })),
    functions: sorted(functions).map(([fn, us]) => ({ fn, ms: us / 1000 })),
  };
}
