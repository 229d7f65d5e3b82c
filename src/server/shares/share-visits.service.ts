/**
 * What a share link's visitor gets (issue 13): the recording's public facts, its current version's media
 * and thumbnail, the download, and the facts of the server-rendered /s/:token page. Every answer starts at
 * SharesService.visit (the token, the grant of a password link) and asks access.ts (share.view,
 * share.download); the media come from RecordingsService's own machinery, for the recording the link names.
 * Nothing here names another recording, a user or an email.
 */
import { authorize, can } from '../access/access.js';
import type { Clock } from '../clock.js';
import { AppError } from '../errors.js';
import type { MediaSource, RecordingsService } from '../recordings/recordings.service.js';
import type { SharesRepository } from './shares.repository.js';
import type { SharesService } from './shares.service.js';

export type SharedRecordings = Pick<RecordingsService, 'sharedRecording' | 'sharedMediaSource'>;

/** What the /s/:token page says about a link: its preview, or why there is none. */
export type SharePage =
  | { kind: 'live'; title: string; description: string | null; thumbnail: boolean; passwordRequired: boolean }
  | { kind: 'gone'; code: 'SHARE_REVOKED' | 'SHARE_EXPIRED' | 'SHARE_GONE'; message: string }
  | { kind: 'missing' };

const EXTENSIONS: Record<string, string> = {
  'video/webm': 'webm',
  'audio/webm': 'webm',
  'video/mp4': 'mp4',
  'audio/mp4': 'm4a',
  'audio/ogg': 'ogg',
  'video/ogg': 'ogv',
  'audio/mpeg': 'mp3',
  'audio/wav': 'wav',
};

/**
 * A download's file name: the title in ASCII letters, digits, spaces, dots, dashes (else '_'), and its
 * type's extension.
 */
export function downloadName(title: string, mimeType: string | null): { ascii: string; utf8: string } {
  const extension = EXTENSIONS[(mimeType ?? '').split(';')[0]!.trim()] ?? 'webm';
  const base = title.trim().slice(0, 100) || 'recording';
  const ascii = base.replace(/[^A-Za-z0-9 ._-]/g, '_').replace(/^\.+/, '_');
  return { ascii: `${ascii}.${extension}`, utf8: `${base}.${extension}` };
}

export class ShareVisitsService {
  constructor(
    private readonly shares: SharesService,
    private readonly repo: SharesRepository,
    private readonly recordings: SharedRecordings,
    private readonly clock: Clock,
  ) {}

  /** GET /api/s/:token: the link's permissions and the recording's public facts; counts a view. */
  /** `count` false: a HEAD (a link checker, a preview bot probing) reads without counting a view. */
  async view(token: string, access: string | undefined, count = true) {
    const { visit, row } = await this.shares.visit(token, access);
    authorize('share.view', visit.relations);
    const recording = await this.recordings.sharedRecording(visit.recordingId);
    if (count) await this.repo.countView(visit.shareId, this.clock.now());
    const base = `/api/s/${encodeURIComponent(token)}`;
    const query = access && row.password_hash ? `?access=${encodeURIComponent(access)}` : '';
    const canDownload = can('share.download', visit.relations);
    return {
      share: {
        permissions: visit.permissions,
        expiresAt: row.expires_at?.toISOString() ?? null,
        passwordRequired: false,
      },
      recording: {
        title: recording.title,
        description: recording.description,
        recordingType: recording.recordingType,
        duration: recording.duration,
        mimeType: recording.mimeType,
        ...(recording.width ? { width: recording.width } : {}),
        ...(recording.height ? { height: recording.height } : {}),
        createdAt: recording.createdAt,
        mediaUrl: recording.mediaUrl ? `${base}/media${query}` : null,
        thumbnailUrl: recording.thumbnailUrl ? `${base}/thumbnail${query}` : null,
        downloadUrl: canDownload && recording.mediaUrl ? `${base}/download${query}` : null,
      },
    };
  }

  /** The current version's media or thumbnail, for a visitor the link lets view it. */
  async mediaSource(token: string, access: string | undefined, which: 'media' | 'thumbnail'): Promise<MediaSource> {
    const visit = await this.shares.resolveVisitor(token, access);
    authorize('share.view', visit.relations);
    return this.recordings.sharedMediaSource(visit.recordingId, which);
  }

  /** The media as an attachment: 403 SHARE_NO_DOWNLOAD unless the link has 'download'. */
  async download(token: string, access: string | undefined) {
    const visit = await this.shares.resolveVisitor(token, access);
    if (!can('share.download', visit.relations)) throw new AppError('SHARE_NO_DOWNLOAD');
    const recording = await this.recordings.sharedRecording(visit.recordingId);
    const source = await this.recordings.sharedMediaSource(visit.recordingId, 'media');
    return { source, filename: downloadName(recording.title, recording.mimeType) };
  }

  /**
   * The page's facts, without counting a view (the app's GET /api/s/:token counts it). A password link
   * shows nothing of its recording until the password is given.
   */
  async page(token: string): Promise<SharePage> {
    let row: Awaited<ReturnType<SharesService['liveShare']>>;
    try {
      row = await this.shares.liveShare(token);
    } catch (err) {
      if (!(err instanceof AppError)) throw err;
      if (err.code === 'SHARE_REVOKED' || err.code === 'SHARE_EXPIRED' || err.code === 'SHARE_GONE')
        return { kind: 'gone', code: err.code, message: err.message };
      return { kind: 'missing' };
    }
    if (row.password_hash)
      return {
        kind: 'live',
        title: 'Password-protected recording',
        description: null,
        thumbnail: false,
        passwordRequired: true,
      };
    const recording = await this.recordings.sharedRecording(row.recording_id).catch(() => undefined);
    if (!recording) return { kind: 'gone', code: 'SHARE_GONE', message: 'This recording was deleted' };
    return {
      kind: 'live',
      title: recording.title,
      description: recording.description,
      thumbnail: recording.thumbnailUrl !== null,
      passwordRequired: false,
    };
  }
}
