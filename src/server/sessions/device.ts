/**
 * A take's browser, operating system and kind of device, from the user agent the web app puts in
 * deviceInfo (src/web/recorder/sources.ts collectDeviceInfo). bowser (MIT) does the parsing; the names are
 * bowser's ("Chrome", "Microsoft Edge", "macOS", "desktop"), which the analytics group by. Rows from before
 * migration 0033 are filled by its backfill, which reads the same user agent in SQL.
 */
import Bowser from 'bowser';
import { QUALITIES, type Quality } from '../../shared/domain.js';

export interface ParsedDevice {
  browser: string | null;
  os: string | null;
  deviceKind: string | null;
  /** settings.quality when it is one of QUALITIES. */
  quality: Quality | null;
}

/** Longest user agent parsed: real ones are a few hundred characters; a huge one is not worth a regex pass. */
const MAX_USER_AGENT = 1000;
/** Column values are bounded too: bowser returns fragments of the user agent for some names. */
const MAX_NAME = 100;

const named = (value: string | undefined) => (value ? value.slice(0, MAX_NAME) : null);

function qualityOf(settings: unknown): Quality | null {
  const quality = (settings as { quality?: unknown } | null | undefined)?.quality;
  return QUALITIES.find((q) => q === quality) ?? null;
}

/** What the analytics group a session by, from the deviceInfo and settings its creation carried. */
export function parseDevice(deviceInfo: unknown, settings?: unknown): ParsedDevice {
  const quality = qualityOf(settings);
  const userAgent = (deviceInfo as { userAgent?: unknown } | null | undefined)?.userAgent;
  if (typeof userAgent !== 'string' || userAgent.trim() === '')
    return { browser: null, os: null, deviceKind: null, quality };
  const parsed = Bowser.parse(userAgent.slice(0, MAX_USER_AGENT));
  return {
    browser: named(parsed.browser.name),
    os: named(parsed.os.name),
    deviceKind: named(parsed.platform.type),
    quality,
  };
}
