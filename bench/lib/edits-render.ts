/**
 * bench:edits part 2 (the render): a take made with ffmpeg's test sources, stored as an upload leaves it,
 * edited through the API, then rendered by the version-render job's own code (VersionsService.render, run in
 * this process on the server's database and storage) beside the very ffmpeg command that job runs, run by
 * hand on the same file (media/render.ts renderPlan), alternating which goes first.
 */
import { execFile, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { Kysely, PostgresDialect } from 'kysely';
import pg from 'pg';
import type { DB } from '../../src/server/db/schema.js';
import { versionsService } from '../../src/server/jobs/render-version.js';
import { createLogger } from '../../src/server/logger.js';
import { resolveTools } from '../../src/server/media/ffmpeg.js';
import { DEFAULT_FONT_FILE, renderPlan } from '../../src/server/media/render.js';
import { asRegistry } from '../../src/server/storage/factory.js';
import { recordingKey } from '../../src/server/storage/keys.js';
import { LocalStorage } from '../../src/server/storage/local.js';
import { type Edit, type EditState, foldEdits } from '../../src/shared/edits.js';
import { msSince, note, now } from './stats.js';

const exec = promisify(execFile);

export interface RenderTake {
  file: string;
  seconds: number;
  width: number;
  height: number;
  bytes: number;
  /** How long making it took (not part of any measurement). */
  makeMs: number;
}

/** A VP9/Opus WebM take of testsrc2 (moving, detailed) and a tone, as a browser would upload it. */
export async function makeTake(dir: string, seconds: number, width = 1280, height = 720): Promise<RenderTake> {
  const file = path.join(dir, 'take.webm');
  const t0 = now();
  await exec('ffmpeg', [
    ...['-nostdin', '-hide_banner', '-loglevel', 'error', '-y'],
    ...['-f', 'lavfi', '-i', `testsrc2=size=${width}x${height}:rate=30:duration=${seconds}`],
    ...['-f', 'lavfi', '-i', `sine=frequency=440:sample_rate=48000:duration=${seconds}`],
    ...['-c:v', 'libvpx-vp9', '-deadline', 'realtime', '-cpu-used', '8', '-row-mt', '1', '-b:v', '2M'],
    ...['-c:a', 'libopus', '-b:a', '96k', '-shortest', file],
  ]);
  return { file, seconds, width, height, bytes: fs.statSync(file).size, makeMs: msSince(t0) };
}

/** The edits the issue names: a trim, a crop, a text and a gain. */
export function benchEdits(take: RenderTake): Edit[] {
  const cropW = Math.round((take.width * 0.75) / 2) * 2;
  const cropH = Math.round((take.height * 0.75) / 2) * 2;
  return [
    { type: 'trim', parameters: { start: take.seconds * 0.05, end: take.seconds * 0.95 } },
    {
      type: 'crop',
      parameters: { x: (take.width - cropW) / 2, y: (take.height - cropH) / 2, width: cropW, height: cropH },
    },
    {
      type: 'text_overlay',
      parameters: {
        text: 'Quarterly review — take 3',
        ...{ x: 0.05, y: 0.85, from: take.seconds * 0.1, to: take.seconds * 0.6, size: 0.06 },
        ...{ color: '#ffffff', background: '#000000a0' },
      },
    },
    { type: 'audio', parameters: { gain_db: 3 } },
  ];
}

/** The server's local storage (DATA_DIR/media) and a database handle, as the server's job uses them. */
export function jobRig(dbUrl: string, dataDir: string) {
  const pool = new pg.Pool({ connectionString: dbUrl, max: 4 });
  pool.on('error', () => undefined);
  const db = new Kysely<DB>({ dialect: new PostgresDialect({ pool }) });
  const storage = new LocalStorage({ dir: path.join(dataDir, 'media') });
  const tools = resolveTools();
  const service = versionsService({
    db,
    storage: asRegistry(storage),
    tools,
    logger: createLogger('warn'),
    queue: { send: async () => {} },
  });
  return { db, storage, tools, service, close: () => db.destroy() };
}

/** Stores the take as an upload leaves it: object under its key, row pointing at it, probe facts in metadata. */
export async function storeTake(
  client: pg.Client,
  storage: LocalStorage,
  userId: string,
  take: RenderTake,
): Promise<string> {
  const { rows } = await client.query<{ id: string }>(
    `INSERT INTO recordings (user_id, title, recording_type, duration, status, metadata, mime_type)
     VALUES ($1, 'bench render', 'camera', $2, 'completed', $3, 'video/webm') RETURNING id::text`,
    [
      userId,
      take.seconds,
      JSON.stringify({
        ...{ duration_ms: take.seconds * 1000, width: take.width, height: take.height },
        ...{ has_video: true, has_audio: true },
      }),
    ],
  );
  const id = rows[0]!.id;
  const key = recordingKey(userId, id, 'webm');
  const put = await storage.put(key, take.file, { contentType: 'video/webm' });
  await client.query(`UPDATE recordings SET storage_key = $2, file_size = $3 WHERE id = $1`, [id, key, put.size]);
  return id;
}

/** The job's ffmpeg command, run by hand on the take: what the job's wall time is compared with. */
export async function renderByHand(take: RenderTake, state: EditState, dir: string): Promise<number> {
  const textFiles = state.texts.map((t, i) => {
    const file = path.join(dir, `text-${i}.txt`);
    fs.writeFileSync(file, t.text);
    return file;
  });
  const source = { file: take.file, hasVideo: true, hasAudio: true, family: 'webm' as const };
  const plan = renderPlan(
    state,
    { ...source, width: take.width, height: take.height },
    take.seconds,
    path.join(dir, 'by-hand.webm'),
    { fontFile: DEFAULT_FONT_FILE, textFiles },
  );
  const t0 = now();
  await new Promise<void>((resolve, reject) => {
    const child = spawn('ffmpeg', plan.args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`ffmpeg by hand: ${stderr}`))));
  });
  return msSince(t0);
}

/** The job's own work on a version the API queued: download, probe, render, store with sha256, mark ready. */
export async function renderByJob(service: ReturnType<typeof jobRig>['service'], versionId: string) {
  const t0 = now();
  const outcome = await service.render(versionId);
  const ms = msSince(t0);
  if (outcome !== 'done') throw new Error(`the render job ended '${outcome}'`);
  return ms;
}

export const stateOf = (take: RenderTake, edits: Edit[]) => foldEdits(take.seconds, edits);
export { note };
