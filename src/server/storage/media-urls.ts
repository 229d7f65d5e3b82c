/**
 * Where a media or thumbnail request may be redirected. A redirect only ever goes to a URL that
 * expires, so a link copied out of a player stops working minutes later and a private recording stays
 * private:
 * - the CDN (CDN_BASE_URL, in front of the primary storage), with a token nginx's secure_link module
 *   checks (CDN_SIGNING_KEY; docs/storage.md has the nginx configuration); or
 * - for a row in S3 with S3_PRESIGN on, a presigned GET.
 * Otherwise undefined: the API streams the bytes itself. The URL is derived at read time from the row's
 * key and the current settings, so changing CDN_BASE_URL moves every row at once.
 */
import { createHash } from 'node:crypto';
import type { StorageConfig } from '../config.js';
import { publicUrlOf } from './keys.js';
import type { StorageRegistry } from './registry.js';
import type { Storage } from './storage.js';

/**
 * The URL with nginx secure_link's md5 token: md5=base64url(md5("<expires><path> <secret>")) without
 * padding, and expires as Unix seconds. It is what `secure_link_md5 "$secure_link_expires$uri <secret>"`
 * computes, where $uri is the request's path (keys need no percent-encoding, so path and $uri agree).
 */
export function secureLinkUrl(baseUrl: string, key: string, secret: string, expires: number): string {
  const url = new URL(publicUrlOf(baseUrl, key)!);
  const md5 = createHash('md5').update(`${expires}${url.pathname} ${secret}`).digest('base64url');
  url.search = `md5=${md5}&expires=${expires}`;
  return url.toString();
}

export interface MediaObject {
  /** The storage holding the row's objects (registry.forLocation). */
  storage: Storage;
  key: string;
  /** What the response should say; presigned GETs pass it to S3. */
  contentType?: string | undefined;
}

export class MediaRedirects {
  constructor(
    private readonly config: Pick<StorageConfig, 'cdn' | 's3'>,
    private readonly storages: Pick<StorageRegistry, 'primary' | 'all'>,
    private readonly nowMs: () => number = Date.now,
  ) {}

  /** An expiring URL to send the client to, or undefined to stream through the API. */
  async redirectFor(object: MediaObject): Promise<string | undefined> {
    const { cdn, s3 } = this.config;
    const nowSeconds = Math.floor(this.nowMs() / 1000);
    if (cdn?.signingKey && object.storage === this.storages.primary) {
      return secureLinkUrl(cdn.baseUrl, object.key, cdn.signingKey, nowSeconds + cdn.urlTtlSeconds);
    }
    if (s3?.presign && object.storage.presignGet) {
      return object.storage.presignGet(object.key, s3.presignTtlSeconds, object.contentType);
    }
    return undefined;
  }

  /** Origins a page may load media from after a redirect (the CSP's media-src and img-src). */
  async origins(): Promise<string[]> {
    const { cdn, s3 } = this.config;
    const origins = cdn?.signingKey ? [new URL(cdn.baseUrl).origin] : [];
    const presigning = s3?.presign ? this.storages.all().filter((storage) => storage.presignGet !== undefined) : [];
    for (const storage of presigning) {
      // Signing needs no request; the URL's origin is the endpoint (and bucket host) the SDK resolved.
      origins.push(new URL(await storage.presignGet!('users/origin-probe', 1)).origin);
    }
    return [...new Set(origins)];
  }
}
