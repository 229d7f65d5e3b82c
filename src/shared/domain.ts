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
