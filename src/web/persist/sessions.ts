/**
 * The server's record of each take (`recording_sessions`, part A's /api/sessions): created when
 * recording starts, kept alive by a heartbeat, marked interrupted when the page goes away, completed
 * when the upload finishes into a recording (by the server), or discarded.
 */
import type { ApiClient } from './api.ts';

export interface ServerSession {
  id: string;
  recordingType: string;
  status: 'active' | 'interrupted' | 'completed' | string;
  startedAt: string;
  endedAt: string | null;
  duration: number | null;
  deviceInfo: Record<string, unknown> | null;
  settings: Record<string, unknown> | null;
  errorMessage: string | null;
  projectId: string | null;
  lastHeartbeatAt: string | null;
  recordingId: string | null;
  discarded: boolean;
  take: { title?: string; description?: string; [k: string]: unknown } | null;
  upload: { id: string; url: string; offset: number; length: number | null; status: string } | null;
}

export interface NewSession {
  recordingType: string;
  projectId?: string | null;
  deviceInfo?: Record<string, unknown>;
  settings?: Record<string, unknown>;
  startedAt?: string;
}

export interface TakeDetails {
  title?: string;
  description?: string;
  projectId?: string | null;
  durationMs?: number;
  metadata?: Record<string, unknown>;
}

export const HEARTBEAT_MS = 10_000;

export class Sessions {
  constructor(private readonly client: ApiClient) {}

  create(s: NewSession): Promise<ServerSession> {
    const body = { ...s, projectId: s.projectId ?? undefined };
    return this.client.request('POST', '/api/sessions', body);
  }

  get(id: string): Promise<ServerSession> {
    return this.client.request('GET', `/api/sessions/${encodeURIComponent(id)}`);
  }

  async unfinished(): Promise<ServerSession[]> {
    return (await this.client.request<{ items: ServerSession[] }>('GET', '/api/sessions?state=unfinished')).items;
  }

  heartbeat(id: string, p: { durationMs?: number; bytes?: number }): Promise<ServerSession> {
    return this.client.request('POST', `/api/sessions/${encodeURIComponent(id)}/heartbeat`, p);
  }

  interrupt(id: string, reason: string, opts: { keepalive?: boolean } = {}): Promise<ServerSession> {
    return this.client.request('POST', `/api/sessions/${encodeURIComponent(id)}/interrupt`, { reason }, opts);
  }

  update(id: string, d: TakeDetails): Promise<ServerSession> {
    return this.client.request('PATCH', `/api/sessions/${encodeURIComponent(id)}`, d);
  }

  discard(id: string): Promise<ServerSession> {
    return this.client.request('POST', `/api/sessions/${encodeURIComponent(id)}/discard`);
  }
}

/** A take that could not start (permission denied, no device): recorded as an interrupted session. */
export async function recordMediaProblem(
  sessions: Sessions,
  mode: string,
  problem: { code: string; message: string },
  deviceInfo?: Record<string, unknown>,
): Promise<void> {
  try {
    const s = await sessions.create({
      recordingType: mode,
      ...(deviceInfo ? { deviceInfo } : {}),
      settings: { problem: problem.code },
    });
    await sessions.interrupt(s.id, `${problem.code}: ${problem.message}`.slice(0, 500));
  } catch (err) {
    // Diagnostics only: failing to record the problem must not add a second error for the user.
    console.warn('could not record the media problem on the server', err);
  }
}

/** What /api/recordings/:id says about the bytes it received (the comparison that frees local copies). */
export interface ServerRecordingCheck {
  id: string;
  fileSize: number | null;
  metadata: { upload_size?: number | string; upload_sha256?: string; sha256?: string; [k: string]: unknown };
}

export function getRecording(client: ApiClient, id: string): Promise<ServerRecordingCheck> {
  return client.request('GET', `/api/recordings/${encodeURIComponent(id)}`);
}
