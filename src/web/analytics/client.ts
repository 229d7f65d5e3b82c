/** The analytics API as the page calls it: filters become a query string; answers are the schemas' types. */
import { api } from '../persist/api.ts';
import type { DayRange } from './dates.ts';
import type { Instance, SessionDetail, SessionPage, Summary } from './types.ts';

export type Scope =
  | { kind: 'me' }
  | { kind: 'all' }
  | { kind: 'user'; userId: string }
  | { kind: 'project'; projectId: string };

export interface Filters extends DayRange {
  tz: string;
  scope: Scope;
  /** '' = every type. */
  recordingType: string;
}

/** The query string for the summary and list routes (without '?'). Admin-only parameters only when chosen. */
export function filterQuery(f: Filters, extra: Record<string, string | number | undefined> = {}): string {
  const q = new URLSearchParams({ from: f.from, to: f.to, tz: f.tz });
  if (f.scope.kind === 'all') q.set('scope', 'all');
  if (f.scope.kind === 'user') q.set('userId', f.scope.userId);
  if (f.scope.kind === 'project') q.set('projectId', f.scope.projectId);
  if (f.recordingType) q.set('recordingType', f.recordingType);
  for (const [key, value] of Object.entries(extra)) if (value !== undefined && value !== '') q.set(key, String(value));
  return q.toString();
}

export const fetchSummary = (f: Filters) => api<Summary>('GET', `/api/analytics/sessions/summary?${filterQuery(f)}`);

export const fetchSessions = (f: Filters, opts: { status?: string; after?: string; limit?: number } = {}) =>
  api<SessionPage>('GET', `/api/analytics/sessions?${filterQuery(f, { ...opts, limit: opts.limit ?? 25 })}`);

export const fetchSession = (id: string) =>
  api<SessionDetail>('GET', `/api/analytics/sessions/${encodeURIComponent(id)}`);

/** The instance panel; null for anyone who is not an administrator (the API answers them 404). */
export async function fetchInstance(): Promise<Instance | null> {
  try {
    return await api<Instance>('GET', '/api/admin/instance');
  } catch (err) {
    if ((err as { status?: number }).status === 404) return null;
    throw err;
  }
}
