/**
 * The editor's history API as the edits tests and bench call it: a user's client for one recording
 * that remembers the revision of its last answer and sends it as If-Match (as the web app does).
 */
import type pg from 'pg';
import type { EditHistory } from '../../src/server/edits/edits.schemas.js';
import type { Edit } from '../../src/shared/edits.js';
import { insertRecording } from './recordings-fixtures.js';

export interface EditsAnswer {
  status: number;
  etag: string | null;
  /** The history (2xx), or an error {code, message, details}. */
  body: EditHistory & { code?: string; message?: string; details?: { history: EditHistory } };
}

export async function editsCall(
  url: string,
  headers: Record<string, string>,
  method: 'GET' | 'POST',
  path: string,
  opts: { ifMatch?: string; body?: unknown } = {},
): Promise<EditsAnswer> {
  const res = await fetch(`${url}${path}`, {
    method,
    headers: {
      ...headers,
      ...(opts.ifMatch !== undefined ? { 'if-match': opts.ifMatch } : {}),
      ...(opts.body !== undefined ? { 'content-type': 'application/json' } : {}),
    },
    ...(opts.body !== undefined ? { body: JSON.stringify(opts.body) } : {}),
  });
  return { status: res.status, etag: res.headers.get('etag'), body: (await res.json()) as EditsAnswer['body'] };
}

/** A user's editor on one recording: every change sends the revision of the last answer it saw. */
export function editor(url: string, user: { headers: Record<string, string> }, recordingId: string) {
  const base = `/api/recordings/${recordingId}/edits`;
  let revision = '0';
  const remember = (a: EditsAnswer) => {
    if (a.status < 300) revision = a.body.revision;
    return a;
  };
  return {
    get revision() {
      return revision;
    },
    set revision(r: string) {
      revision = r;
    },
    load: async (query = '') => remember(await editsCall(url, user.headers, 'GET', `${base}${query}`)),
    edit: async (edit: Edit | Record<string, unknown>, query = '') =>
      remember(await editsCall(url, user.headers, 'POST', `${base}${query}`, { ifMatch: `"${revision}"`, body: edit })),
    undo: async (query = '') =>
      remember(await editsCall(url, user.headers, 'POST', `${base}/undo${query}`, { ifMatch: `"${revision}"` })),
    redo: async (query = '') =>
      remember(await editsCall(url, user.headers, 'POST', `${base}/redo${query}`, { ifMatch: `"${revision}"` })),
  };
}

/** A processed video recording (30 s, 1280×720) or audio one (no frame), as processing leaves them. */
export function insertEditableRecording(
  c: pg.Client,
  userId: string,
  opts: { projectId?: string | null; audio?: boolean; status?: 'processing' | 'completed' } = {},
): Promise<string> {
  return insertRecording(c, {
    userId,
    projectId: opts.projectId ?? null,
    type: opts.audio ? 'audio' : 'camera',
    status: opts.status ?? 'completed',
    metadata: opts.audio ? { duration_ms: 30_000 } : { duration_ms: 30_000, width: 1280, height: 720 },
  });
}
