/** The migration engine's options, progress events and results. */
import type { Logger } from '../../logger.js';
import type { BackupReason } from './pre-backup.js';

export interface MigratorOptions {
  url: string;
  dir: string;
  logger: Logger;
  lockTimeout: string;
  lockRetries: number;
  runnerLock: 'wait' | 'fail';
  runnerLockWaitMs: number;
  backupDir: string;
  /** First retry delay; doubles each attempt (capped at 10 s). */
  retryBaseMs?: number;
  /** Attempts at a concurrent index build that ended INVALID. */
  indexBuildAttempts?: number;
  onProgress?: (e: ProgressEvent) => void;
  /** BACKUP_BEFORE_MIGRATE: a full backup before every up that applies something. */
  backupBeforeUp?: boolean;
  /** Writes a full backup (database + media manifest), returns its directory; see db/backup/. */
  fullBackup?: (reason: BackupReason) => Promise<string>;
}

export interface UpOptions {
  /** The operator has a backup of their own (e.g. a volume snapshot): apply without taking one. */
  skipBackup?: boolean;
}

export type ProgressEvent =
  | { type: 'step'; direction: 'up' | 'down'; file: string; index: number; total: number }
  | { type: 'stepDone'; direction: 'up' | 'down'; file: string; index: number; total: number; ms: number }
  | { type: 'retry'; file: string; attempt: number; waitMs: number; reason: string }
  | { type: 'backupStart'; reason: string }
  | { type: 'backup'; path: string };

export interface AppliedRow {
  version: number;
  name: string;
  phase: number;
  checksum: string;
  transactional: boolean;
  applied_at: Date;
  duration_ms: number;
}

export interface StatusEntry {
  version: number;
  phase: number;
  name: string;
  state: 'applied' | 'pending' | 'changed' | 'missing';
  appliedAt?: Date;
  durationMs?: number;
}

export interface PlanStep {
  version: number;
  phase: number;
  name: string;
  file: string;
  transactional: boolean;
  /** Up files marked `-- recorder:destructive`. */
  destructive?: boolean;
  sql: string;
}

export interface Target {
  /** up: apply through this version; down: keep versions <= this (0 = roll everything back). */
  to?: number;
  /** up: apply phases <= N; down: roll back phases >= N. */
  phase?: number;
}
