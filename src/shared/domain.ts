/**
 * The domain's enumerations, shared by the server and the browser app (framework-free: no Node or DOM
 * APIs). src/server/db/schema.ts re-exports them, so the database's typed view and the web agree by
 * construction.
 */
export const RECORDING_TYPES = ['camera', 'audio', 'screen', 'screen-camera', 'slides-camera', 'slides'] as const;
export type RecordingType = (typeof RECORDING_TYPES)[number];
export const QUALITIES = ['high', 'medium', 'low'] as const;
export type Quality = (typeof QUALITIES)[number];
/** What a share link lets its visitors do (issue 13): 'view' always, 'comment' and 'download' when granted. */
export const SHARE_PERMISSIONS = ['view', 'comment', 'download'] as const;
export type SharePermission = (typeof SHARE_PERMISSIONS)[number];
/** What happened to a recording session, in order (issue 14, recording_session_events.kind; migration 0032). */
export const SESSION_EVENT_KINDS = [
  'started',
  'heartbeat',
  'interrupted',
  'resumed',
  'kept',
  'discarded',
  'completed',
  'error',
] as const;
export type SessionEventKind = (typeof SESSION_EVENT_KINDS)[number];
