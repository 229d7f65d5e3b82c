/** The job queue as the rest of the app sees it; pg-boss behind it (jobs/boss.ts). */
export interface JobQueue {
  /**
   * singletonKey: at most one queued-or-active job with this key per queue (pg-boss semantics).
   * expireInSeconds: this job's own limit, over the queue's (a job whose worker died is retried after it).
   */
  send(
    name: JobName,
    data: Record<string, unknown>,
    opts?: { singletonKey?: string; expireInSeconds?: number },
  ): Promise<void>;
}

export const JOBS = {
  /** Probe, fix, thumbnail a recording's media; data { recordingId } */
  processRecording: 'recording-process',
  /** Render a version of a recording from its edits (issue 12); data { versionId } */
  renderVersion: 'version-render',
  /** Drain the storage deletion outbox; data {} */
  deleteMedia: 'storage-delete',
  /** Find objects no recording owns; data {} */
  sweepStorage: 'storage-sweep',
  /** Delete expired sign-in sessions and week-old unfinished uploads; data {} */
  housekeeping: 'housekeeping',
} as const;

export type JobName = (typeof JOBS)[keyof typeof JOBS];
