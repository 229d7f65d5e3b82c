/**
 * Share links: the owner's side (/api/recordings/:id/shares) and the visitor's (/api/s/:token, no sign-in,
 * no cookie: a password link's grant travels as X-Share-Access on API calls and ?access= on media URLs,
 * which a <video src> cannot give a header). No React.
 */
import type { FromSchema } from 'json-schema-to-ts';
import type {
  createdShare,
  createShareBody,
  share,
  sharedRecording,
  unlocked,
} from '../../server/shares/shares.schemas.ts';
import { ApiError, apiClient, type ApiClient } from '../persist/api.ts';

export type Share = FromSchema<typeof share>;
export type SharePermission = Share['permissions'][number];
export type ShareStatus = Share['status'];
export type NewShare = FromSchema<typeof createShareBody>;
export type CreatedShare = FromSchema<typeof createdShare>;
export type SharedRecording = FromSchema<typeof sharedRecording>;
export type ShareGrant = FromSchema<typeof unlocked>;

export class SharesClient {
  constructor(
    readonly recordingId: string,
    private readonly client: ApiClient = apiClient(),
  ) {}

  private get base(): string {
    return `/api/recordings/${encodeURIComponent(this.recordingId)}/shares`;
  }

  async list(): Promise<Share[]> {
    return (await this.client.request<{ shares: Share[] }>('GET', this.base)).shares;
  }

  create(input: NewShare): Promise<CreatedShare> {
    return this.client.request<CreatedShare>('POST', this.base, input);
  }

  async revoke(shareId: string): Promise<void> {
    await this.client.request<void>('DELETE', `${this.base}/${encodeURIComponent(shareId)}`);
  }
}

/** What a visitor's page asks. The grant (password links) is read at each call: unlocking changes it. */
export class VisitorClient {
  constructor(
    readonly token: string,
    private readonly access: () => string | null,
    private readonly client: ApiClient = apiClient(),
  ) {}

  private get base(): string {
    return `/api/s/${encodeURIComponent(this.token)}`;
  }

  open(): Promise<SharedRecording> {
    const grant = this.access();
    return this.client.request<SharedRecording>('GET', this.base, undefined, {
      headers: grant ? { 'x-share-access': grant } : {},
    });
  }

  unlock(password: string): Promise<ShareGrant> {
    return this.client.request<ShareGrant>('POST', `${this.base}/unlock`, { password });
  }
}

/**
 * A media, thumbnail or download URL carrying the grant once (the server's URLs may carry it already: a
 * second ?access= would be a list, which the route refuses), or as it is without one.
 */
export function withAccess(url: string, access: string | null): string {
  if (!access) return url;
  const parsed = new URL(url, 'http://relative.invalid');
  parsed.searchParams.set('access', access);
  return parsed.origin === 'http://relative.invalid' ? parsed.pathname + parsed.search + parsed.hash : parsed.href;
}

/** An ISO expiry `days` from now, or undefined for a link that does not expire. */
export function expiryFrom(choice: string, now: number = Date.now()): string | undefined {
  const hours = EXPIRY_CHOICES.find((c) => c.value === choice)?.hours;
  return hours ? new Date(now + hours * 3_600_000).toISOString() : undefined;
}

export const EXPIRY_CHOICES = [
  { value: 'never', label: 'Never', hours: 0 },
  { value: '1h', label: 'In 1 hour', hours: 1 },
  { value: '1d', label: 'In 1 day', hours: 24 },
  { value: '7d', label: 'In 7 days', hours: 7 * 24 },
  { value: '30d', label: 'In 30 days', hours: 30 * 24 },
] as const;

export const STATUS_WORDS: Record<ShareStatus, string> = { active: 'Active', expired: 'Expired', revoked: 'Revoked' };

/** Why a link does not open, in words for its visitor; null when the error is something else. */
export function shareRefusal(err: unknown): { title: string; text: string } | null {
  if (!(err instanceof ApiError)) return null;
  switch (err.code) {
    case 'SHARE_NOT_FOUND':
      return { title: 'This link does not exist', text: 'Check that you have the whole link.' };
    case 'SHARE_REVOKED':
      return { title: 'This link was revoked', text: 'Its owner turned it off. Ask them for a new one.' };
    case 'SHARE_EXPIRED':
      return { title: 'This link has expired', text: 'Ask its owner for a new one.' };
    case 'SHARE_GONE':
      return { title: 'This recording was deleted', text: 'It is no longer available.' };
    default:
      return null;
  }
}
