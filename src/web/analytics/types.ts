/** The analytics API's answers as the page reads them: types derived from the server's JSON schemas. */
import type { FromSchema } from 'json-schema-to-ts';
import type {
  ANALYTICS_STATUSES,
  instance,
  sessionDetail,
  sessionPage,
  summary,
} from '../../server/analytics/analytics.schemas.ts';

export type Summary = FromSchema<typeof summary>;
export type SessionPage = FromSchema<typeof sessionPage>;
export type SessionRow = SessionPage['sessions'][number];
export type SessionDetail = FromSchema<typeof sessionDetail>;
export type SessionEvent = SessionDetail['events'][number];
export type Instance = FromSchema<typeof instance>;
export type AnalyticsStatus = (typeof ANALYTICS_STATUSES)[number];

export type Rate = number | null;
export type DayRow = Summary['byDay'][number];
export type BreakdownRow = Summary['interruptions']['byBrowser'][number];
export type ValueCount = Summary['settings']['quality'][number];
