/**
 * A recording's rendered versions (/api/recordings/:id/versions and /current): render the current edits
 * into a new version, follow its progress until it is ready or failed, make one (or the original)
 * current, delete one. No React.
 */
import { apiClient, type ApiClient } from '../persist/api.ts';

export interface RecordingVersion {
  id: string;
  number: number;
  status: 'rendering' | 'ready' | 'failed';
  progress: number | null;
  error: string | null;
  editRevision: string;
  durationMs: number | null;
  fileSize: number | null;
  mimeType: string | null;
  width: number | null;
  height: number | null;
  /** The library, the player and shares play this one. */
  current: boolean;
  createdAt: string;
  completedAt: string | null;
}

export interface VersionList {
  /** The current version's id, or null when the original plays. */
  current: string | null;
  versions: RecordingVersion[];
}

/** The version itself (docs/api.md); `{version}` is read too, the shape the brief sketched. */
type VersionAnswer = RecordingVersion | { version: RecordingVersion };
const unwrap = (r: VersionAnswer): RecordingVersion => ('version' in r ? r.version : r);

/** How often a rendering version is asked for its progress. */
export const POLL_MS = 1000;

export class VersionsClient {
  constructor(
    readonly recordingId: string,
    private readonly client: ApiClient = apiClient(),
  ) {}

  private get base(): string {
    return `/api/recordings/${encodeURIComponent(this.recordingId)}`;
  }

  list(): Promise<VersionList> {
    return this.client.request<VersionList>('GET', `${this.base}/versions`);
  }

  /** Queues a render of the edits at `revision` (the server refuses if the history moved on since). */
  async create(revision: string): Promise<RecordingVersion> {
    const r = await this.client.request<VersionAnswer>('POST', `${this.base}/versions`, undefined, {
      headers: { 'if-match': `"${revision}"` },
    });
    return unwrap(r);
  }

  async get(versionId: string): Promise<RecordingVersion> {
    return unwrap(
      await this.client.request<VersionAnswer>('GET', `${this.base}/versions/${encodeURIComponent(versionId)}`),
    );
  }

  /** Polls a version until it is ready or failed, reporting each answer; stops early when `signal` aborts. */
  async follow(versionId: string, onUpdate: (v: RecordingVersion) => void, signal?: AbortSignal) {
    for (;;) {
      const v = await this.get(versionId);
      if (signal?.aborted) return v;
      onUpdate(v);
      if (v.status !== 'rendering') return v;
      await new Promise((r) => setTimeout(r, POLL_MS));
      if (signal?.aborted) return v;
    }
  }

  /** Makes a ready version current; null makes the original current again. */
  setCurrent(versionId: string | null): Promise<unknown> {
    return this.client.request('PUT', `${this.base}/current`, { versionId });
  }

  remove(versionId: string): Promise<unknown> {
    return this.client.request('DELETE', `${this.base}/versions/${encodeURIComponent(versionId)}`);
  }
}
