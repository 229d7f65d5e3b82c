/**
 * bench:load's data: the users' libraries by COPY (30% of each user's recordings in one project they all
 * belong to, so library pages read both halves of the query), two uploaded recordings each (real objects
 * for reads and Range reads, through tus like any client), one active recording session each.
 */
import http from 'node:http';
import type pg from 'pg';
import { copyRows, recordingColumns, recordingRows, type Dataset, type Row } from './data.js';
import { type MixUser, send } from './load-mix.js';
import { fakeWebm } from '../../test/support/tus-http.js';
import { note } from './stats.js';

const MEDIA_BYTES = 256 * 1024;
const TUS = { 'Tus-Resumable': '1.0.0' };

interface Account {
  userId: string;
  headers: Record<string, string>;
}

/** One recording with media: create + one PATCH; its id and size. */
async function uploadOne(agent: http.Agent, base: URL, auth: Record<string, string>, seed: number) {
  const bytes = fakeWebm(MEDIA_BYTES - 38, seed);
  const base64 = (text: string) => Buffer.from(text).toString('base64');
  const metadata = `title ${base64('Seeded take')},recordingType ${base64('screen')}`;
  const created = await send(agent, base, 'POST', '/api/uploads', {
    ...TUS,
    ...auth,
    'Upload-Length': String(bytes.length),
    'Upload-Metadata': metadata,
  });
  if (created.status !== 201) throw new Error(`tus create: ${created.status} ${created.body.toString()}`);
  const path = new URL(created.headers.location!, base).pathname;
  const headers = { ...TUS, ...auth, 'Content-Type': 'application/offset+octet-stream', 'Upload-Offset': '0' };
  const patched = await send(agent, base, 'PATCH', path, headers, bytes);
  const id = patched.headers['recording-id'];
  if (patched.status !== 204 || typeof id !== 'string') throw new Error(`tus PATCH: ${patched.status}`);
  return { id, size: bytes.length };
}

export async function seedLoad(
  client: pg.Client,
  url: string,
  accounts: Account[],
  o: { rows: number; seed: number },
): Promise<MixUser[]> {
  const { rows: projects } = await client.query<{ id: string }>(
    `INSERT INTO projects (owner_id, name) VALUES ($1, 'Load team') RETURNING id::text`,
    [accounts[0]!.userId],
  );
  const projectId = projects[0]!.id;
  for (const [i, a] of accounts.entries())
    await client.query('INSERT INTO project_members (project_id, user_id, role) VALUES ($1, $2, $3)', [
      projectId,
      a.userId,
      i === 0 ? 'owner' : 'editor',
    ]);
  const columns = await recordingColumns(client);
  const total = o.rows * accounts.length;
  const span = 365 * 86_400_000;
  const ds: Dataset = {
    seed: o.seed,
    users: 1,
    rows: total,
    start: Date.now() - span,
    spanMs: span,
    projectOf: [],
    columns,
  };
  const at = (c: string) => columns.indexOf(c);
  function* rows(): Generator<Row> {
    let i = 0;
    for (const r of recordingRows(ds, total)) {
      r[at('user_id')] = accounts[i % accounts.length]!.userId;
      r[at('project_id')] = i % 10 < 3 ? Number(projectId) : null;
      if (r[at('status')] === 'processing') r[at('status')] = 'completed';
      for (const c of ['thumbnail_url', 'cdn_url']) if (at(c) >= 0) r[at(c)] = null;
      i++;
      yield r;
    }
  }
  await copyRows(client, 'recordings', columns, rows(), total, `COPY ${total} recordings`);

  const agent = new http.Agent({ keepAlive: true });
  const base = new URL(url);
  const users: MixUser[] = [];
  for (const [i, a] of accounts.entries()) {
    const media = [
      await uploadOne(agent, base, a.headers, o.seed + 2 * i),
      await uploadOne(agent, base, a.headers, o.seed + 2 * i + 1),
    ];
    const session = await send(
      agent,
      base,
      'POST',
      '/api/sessions',
      { ...a.headers, 'content-type': 'application/json' },
      JSON.stringify({ recordingType: 'screen' }),
    );
    if (session.status !== 201) throw new Error(`POST /api/sessions: ${session.status} ${session.body.toString()}`);
    users.push({ userId: a.userId, auth: a.headers, media, sessionId: JSON.parse(session.body.toString()).id });
  }
  agent.destroy();
  await client.query('VACUUM (ANALYZE) recordings');
  await client.query('ANALYZE project_members');
  note(`${accounts.length} users, ${total} recordings, ${2 * accounts.length} uploaded media, one session each`);
  return users;
}
