/**
 * The migration engine: plain SQL up/down files, applied one file at a time under a runner lock.
 * - Transactional files run in one transaction with SET LOCAL lock_timeout; a lock timeout rolls the
 *   file back and retries it with backoff, so a migration never queues behind a long query.
 * - `-- migrate:no-transaction` files hold one statement, run outside a transaction; after
 *   CREATE INDEX CONCURRENTLY the index must be valid, an INVALID leftover is dropped and rebuilt.
 * - Crash safety: a transactional file and its schema_migrations row commit together. A
 *   no-transaction statement is recorded after it succeeds; a crash in between re-runs it, which the
 *   file rules (IF NOT EXISTS / IF EXISTS) make harmless.
 */
import pg from 'pg';
import { dataAtRisk, toRisk, writeBackup, type BackupOptions } from './backup.js';
import { dataLossError, driftError, MigrationError, stepError, type DriftEntry } from './errors.js';
import { loadMigrations, type MigrationFile, type MigrationScript } from './files.js';
import { acquireRunnerLock, releaseRunnerLock } from './lock.js';
import { upBackupReason } from './pre-backup.js';
import { concurrentIndexBuild } from './sql.js';
import type { AppliedRow, MigratorOptions, PlanStep, StatusEntry, Target, UpOptions } from './types.js';

export type UpResult = PlanStep[] & { backupPath?: string; backfills?: string[] };

export type {
  AppliedRow,
  MigratorOptions,
  PlanStep,
  ProgressEvent,
  StatusEntry,
  Target,
  UpOptions,
} from './types.js';

const RETRIABLE = new Set(['55P03' /* lock_not_available */, '40P01' /* deadlock */, '40001' /* serialization */]);

const BOOTSTRAP = `CREATE TABLE IF NOT EXISTS schema_migrations (
  version integer PRIMARY KEY,
  name text NOT NULL,
  phase integer NOT NULL,
  checksum text NOT NULL,
  transactional boolean NOT NULL,
  applied_at timestamptz NOT NULL DEFAULT now(),
  duration_ms integer NOT NULL
)`;

export class Migrator {
  private files: MigrationFile[] | undefined;
  constructor(private readonly opts: MigratorOptions) {}

  async migrations(): Promise<MigrationFile[]> {
    this.files ??= await loadMigrations(this.opts.dir);
    return this.files;
  }

  private async withClient<T>(fn: (c: pg.Client) => Promise<T>): Promise<T> {
    const client = new pg.Client({ connectionString: this.opts.url, application_name: 'recorder-migrate' });
    await client.connect();
    try {
      return await fn(client);
    } finally {
      await client.end().catch(() => undefined);
    }
  }

  /** Applied rows, without creating schema_migrations (status and plan change nothing). */
  private async applied(client: pg.Client): Promise<AppliedRow[]> {
    const { rows } = await client.query<{ t: string | null }>(`SELECT to_regclass('schema_migrations')::text AS t`);
    if (!rows[0]?.t) return [];
    return (await client.query<AppliedRow>('SELECT * FROM schema_migrations ORDER BY version')).rows;
  }

  private drift(files: MigrationFile[], applied: AppliedRow[]): DriftEntry[] {
    const byVersion = new Map(files.map((f) => [f.version, f]));
    const out: DriftEntry[] = [];
    for (const a of applied) {
      const f = byVersion.get(a.version);
      const file = `${String(a.version).padStart(4, '0')}_phase${a.phase}_${a.name}.up.sql`;
      if (!f) out.push({ version: a.version, file, kind: 'missing' });
      else if (f.up.checksum !== a.checksum) out.push({ version: a.version, file: f.up.file, kind: 'changed' });
    }
    return out;
  }

  async status(): Promise<StatusEntry[]> {
    const files = await this.migrations();
    const applied = await this.withClient((c) => this.applied(c));
    const drift = new Map(this.drift(files, applied).map((d) => [d.version, d]));
    const byVersion = new Map(applied.map((a) => [a.version, a]));
    const entries: StatusEntry[] = files.map((f) => {
      const a = byVersion.get(f.version);
      const state = drift.get(f.version)?.kind ?? (a ? 'applied' : 'pending');
      return {
        version: f.version,
        phase: f.phase,
        name: f.name,
        state,
        appliedAt: a?.applied_at,
        durationMs: a?.duration_ms,
      };
    });
    for (const a of applied) {
      if (!files.some((f) => f.version === a.version))
        entries.push({ version: a.version, phase: a.phase, name: a.name, state: 'missing', appliedAt: a.applied_at });
    }
    return entries.sort((x, y) => x.version - y.version);
  }

  /** Versions not yet applied. Cheap enough for a readiness probe. */
  async pendingCount(client?: pg.Client | pg.Pool): Promise<number> {
    const files = await this.migrations();
    const q = async (c: pg.Client | pg.Pool) => {
      const { rows } = await c.query<{ t: string | null }>(`SELECT to_regclass('schema_migrations')::text AS t`);
      if (!rows[0]?.t) return new Set<number>();
      return new Set(
        (await c.query<{ version: number }>('SELECT version FROM schema_migrations')).rows.map((r) => r.version),
      );
    };
    const applied = client ? await q(client) : await this.withClient(q);
    return files.filter((f) => !applied.has(f.version)).length;
  }

  private selectUp(files: MigrationFile[], applied: AppliedRow[], t: Target): MigrationFile[] {
    const done = new Set(applied.map((a) => a.version));
    return files.filter(
      (f) =>
        !done.has(f.version) &&
        (t.to === undefined || f.version <= t.to) &&
        (t.phase === undefined || f.phase <= t.phase),
    );
  }

  private selectDown(files: MigrationFile[], applied: AppliedRow[], t: Target): MigrationFile[] {
    if (t.to === undefined && t.phase === undefined)
      throw new MigrationError(
        'MIGRATION_TARGET',
        'down needs --to VERSION or --phase N (use --to 0 to roll back everything)',
      );
    const byVersion = new Map(files.map((f) => [f.version, f]));
    return applied
      .filter((a) => (t.to !== undefined ? a.version > t.to : a.phase >= t.phase!))
      .map((a) => byVersion.get(a.version)!)
      .reverse();
  }

  /** The SQL that up/down would run, in order, with each file's transaction mode. Changes nothing. */
  async plan(direction: 'up' | 'down', target: Target = {}): Promise<PlanStep[]> {
    const files = await this.migrations();
    const applied = await this.withClient((c) => this.applied(c));
    const drift = this.drift(files, applied);
    if (drift.length) throw driftError(drift);
    const steps = direction === 'up' ? this.selectUp(files, applied, target) : this.selectDown(files, applied, target);
    return steps.map((f) => {
      const s = direction === 'up' ? f.up : f.down;
      return {
        version: f.version,
        phase: f.phase,
        name: f.name,
        file: s.file,
        transactional: s.transactional,
        ...(s.destructive ? { destructive: true } : {}),
        sql: s.sql,
      };
    });
  }

  /**
   * Applies pending migrations. A backfill an applied migration declares is not run here: `backfills`
   * names them, and the server (or `recorder migrate backfills --run`) runs them in batches afterwards.
   */
  async up(target: Target = {}, opts: UpOptions = {}): Promise<UpResult> {
    const result: UpResult = await this.run('up', target, opts);
    const files = await this.migrations();
    const declared = files.filter((f) => f.backfill && result.some((s) => s.version === f.version));
    if (declared.length) {
      result.backfills = declared.map((f) => f.backfill!.name);
      this.opts.logger.info({ backfills: result.backfills }, 'backfills pending: they run in the background');
    }
    return result;
  }

  async down(target: Target, force = false, backup: BackupOptions = {}): Promise<PlanStep[] & { backupPath?: string }> {
    return this.run('down', target, { force, backup });
  }

  private async run(
    direction: 'up' | 'down',
    target: Target,
    o: { force?: boolean; backup?: BackupOptions; skipBackup?: boolean },
  ) {
    const files = await this.migrations();
    return this.withClient(async (client) => {
      await acquireRunnerLock(client, this.opts.runnerLock, this.opts.runnerLockWaitMs);
      try {
        await client.query(BOOTSTRAP);
        const applied = await this.applied(client);
        const drift = this.drift(files, applied);
        if (drift.length) throw driftError(drift);
        const steps =
          direction === 'up' ? this.selectUp(files, applied, target) : this.selectDown(files, applied, target);
        const result: PlanStep[] & { backupPath?: string } = [];
        // A database with none of our migrations applied holds none of our data: nothing to back up.
        if (direction === 'up' && steps.length && applied.length && !o.skipBackup)
          result.backupPath = await this.backupBeforeUp(client, steps);
        if (direction === 'down' && steps.length) {
          const risk = await dataAtRisk(
            client,
            steps.flatMap((s) => s.down.statements),
          );
          if (risk.length && !o.force)
            throw dataLossError(
              target.to !== undefined ? `version ${target.to}` : `before phase ${target.phase}`,
              toRisk(risk),
            );
          if (risk.length) {
            const reason = `down-to-${target.to ?? `phase${target.phase}`}`;
            result.backupPath = await writeBackup(client, this.opts.url, this.opts.backupDir, reason, risk, o.backup);
            this.opts.logger.warn({ path: result.backupPath }, 'backup written before destructive rollback');
            this.opts.onProgress?.({ type: 'backup', path: result.backupPath });
          }
        }
        for (const [i, f] of steps.entries()) {
          const script = direction === 'up' ? f.up : f.down;
          this.opts.onProgress?.({ type: 'step', direction, file: script.file, index: i, total: steps.length });
          const started = Date.now();
          if (script.transactional) await this.runTransactional(client, f, script, direction);
          else await this.runStatement(client, f, script, direction);
          const ms = Date.now() - started;
          this.opts.logger.info(
            { file: script.file, ms, transactional: script.transactional },
            `migration ${direction}`,
          );
          this.opts.onProgress?.({ type: 'stepDone', direction, file: script.file, index: i, total: steps.length, ms });
          result.push({
            version: f.version,
            phase: f.phase,
            name: f.name,
            file: script.file,
            transactional: script.transactional,
            sql: script.sql,
          });
        }
        return result;
      } finally {
        await releaseRunnerLock(client).catch(() => undefined);
      }
    });
  }

  /** A full backup before a destructive up (marked, or dropping rows) or when BACKUP_BEFORE_MIGRATE asks. */
  private async backupBeforeUp(client: pg.Client, steps: MigrationFile[]): Promise<string | undefined> {
    const reason = await upBackupReason(client, steps, Boolean(this.opts.backupBeforeUp));
    if (!reason) return undefined;
    if (!this.opts.fullBackup)
      throw new MigrationError('BACKUP_UNAVAILABLE', `${reason.text}, but this runner cannot write a full backup`);
    this.opts.onProgress?.({ type: 'backupStart', reason: reason.text });
    const dir = await this.opts.fullBackup(reason).catch((err: Error) => {
      throw new MigrationError(
        'BACKUP_FAILED',
        `the full backup before migrating (${reason.text}) failed, so nothing was migrated: ${err.message}`,
      );
    });
    this.opts.logger.warn({ path: dir, reason: reason.text }, 'full backup written before migrating up');
    this.opts.onProgress?.({ type: 'backup', path: dir });
    return dir;
  }

  private record(client: pg.Client, f: MigrationFile, direction: 'up' | 'down', ms: number) {
    return direction === 'up'
      ? client.query(
          'INSERT INTO schema_migrations (version, name, phase, checksum, transactional, duration_ms) ' +
            'VALUES ($1, $2, $3, $4, $5, $6)',
          [f.version, f.name, f.phase, f.up.checksum, f.up.transactional, ms],
        )
      : client.query('DELETE FROM schema_migrations WHERE version = $1', [f.version]);
  }

  private async backoff(file: string, attempt: number, err: unknown): Promise<void> {
    const base = this.opts.retryBaseMs ?? 250;
    const waitMs = Math.min(10_000, base * 2 ** attempt) * (0.75 + Math.random() * 0.5);
    const reason = (err as Error).message;
    this.opts.logger.warn(
      { file, attempt: attempt + 1, waitMs: Math.round(waitMs), reason },
      'migration step will be retried',
    );
    this.opts.onProgress?.({ type: 'retry', file, attempt: attempt + 1, waitMs: Math.round(waitMs), reason });
    await new Promise((r) => setTimeout(r, waitMs));
  }

  private async runTransactional(
    client: pg.Client,
    f: MigrationFile,
    script: MigrationScript,
    direction: 'up' | 'down',
  ) {
    for (let attempt = 0; ; attempt++) {
      const started = Date.now();
      try {
        await client.query('BEGIN');
        await client.query(`SELECT set_config('lock_timeout', $1, true)`, [this.opts.lockTimeout]);
        await client.query(script.sql);
        await this.record(client, f, direction, Date.now() - started);
        await client.query('COMMIT');
        return;
      } catch (err) {
        await client.query('ROLLBACK').catch(() => undefined);
        const code = (err as { code?: string }).code;
        if (code && RETRIABLE.has(code) && attempt < this.opts.lockRetries) {
          await this.backoff(script.file, attempt, err);
          continue;
        }
        throw stepError(script.file, err, attempt);
      }
    }
  }

  private async indexValidity(client: pg.Client, name: string): Promise<boolean | undefined> {
    const { rows } = await client.query<{ valid: boolean }>(
      'SELECT indisvalid AS valid FROM pg_index WHERE indexrelid = to_regclass($1)',
      [client.escapeIdentifier(name)],
    );
    return rows[0]?.valid;
  }

  private async dropInvalid(client: pg.Client, name: string): Promise<void> {
    if ((await this.indexValidity(client, name)) === false) {
      this.opts.logger.warn({ index: name }, 'dropping INVALID index left by a failed concurrent build');
      await client.query(`DROP INDEX CONCURRENTLY IF EXISTS ${client.escapeIdentifier(name)}`);
    }
  }

  private async runStatement(client: pg.Client, f: MigrationFile, script: MigrationScript, direction: 'up' | 'down') {
    const stmt = script.statements[0]!;
    const build = concurrentIndexBuild(stmt);
    const maxInvalid = this.opts.indexBuildAttempts ?? 3;
    let invalidBuilds = 0;
    await client.query(`SELECT set_config('lock_timeout', $1, false)`, [this.opts.lockTimeout]);
    try {
      // A crashed earlier run may have left an INVALID index that IF NOT EXISTS would silently accept.
      if (build) await this.dropInvalid(client, build.name);
      for (let attempt = 0; ; attempt++) {
        const started = Date.now();
        try {
          await client.query(stmt);
        } catch (err) {
          if (build) await this.dropInvalid(client, build.name);
          const code = (err as { code?: string }).code;
          if (code && RETRIABLE.has(code) && attempt < this.opts.lockRetries) {
            await this.backoff(script.file, attempt, err);
            continue;
          }
          throw stepError(script.file, err, attempt);
        }
        if (build && (await this.indexValidity(client, build.name)) !== true) {
          await this.dropInvalid(client, build.name);
          if (++invalidBuilds >= maxInvalid) {
            throw new MigrationError(
              'MIGRATION_INDEX_INVALID',
              `${script.file}: index ${build.name} was INVALID after ${invalidBuilds} build(s); ` +
                'dropped it. Nothing recorded.',
            );
          }
          await this.backoff(script.file, attempt, new Error(`index ${build.name} INVALID after build`));
          continue;
        }
        await this.record(client, f, direction, Date.now() - started);
        return;
      }
    } finally {
      await client.query('RESET lock_timeout').catch(() => undefined);
    }
  }
}
