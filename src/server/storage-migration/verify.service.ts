/**
 * `recorder storage verify`: for every recording with media (or a random sample of them), its object
 * exists where the row says, with the row's size and sha256, and its thumbnail exists; so do its ready
 * versions' objects, with the size and sha256 their rows recorded. With `storage
 * sweep` (nothing stored that no row owns) it is the proof that nothing was lost and nothing leaked.
 */
import pLimit from 'p-limit';
import type { StorageMigrationFilters } from '../db/schema.js';
import type { StorageRegistry } from '../storage/registry.js';
import { NotFoundError } from '../storage/storage.js';
import { digestOf } from './mover.js';
import type { MovableRecording, StorageMigrationRepository } from './storage-migration.repository.js';

export interface VerifyOptions {
  filters?: StorageMigrationFilters;
  /** Share of recordings checked, 0 < P <= 100 (default 100). */
  samplePercent?: number;
  concurrency?: number;
  /** Called after each recording checked, with how many are checked and how many will be. */
  onProgress?: (checked: number, total: number) => void;
}

export interface VerifyProblem {
  recordingId: string;
  key: string;
  problem: string;
}

export interface VerifyReport {
  /** Recordings the filters select. */
  total: number;
  checked: number;
  problems: VerifyProblem[];
}

const PAGE = 500;

export class VerifyService {
  constructor(
    private readonly repo: StorageMigrationRepository,
    private readonly storages: StorageRegistry,
  ) {}

  async verify(opts: VerifyOptions = {}): Promise<VerifyReport> {
    const filters = opts.filters ?? {};
    const share = (opts.samplePercent ?? 100) / 100;
    const total = await this.repo.countVerifiable(filters);
    const expected = Math.round(total * share);
    const report: VerifyReport = { total, checked: 0, problems: [] };
    const limit = pLimit(opts.concurrency ?? 4);
    let afterId = '0';
    for (;;) {
      const page = await this.repo.verifiable(filters, afterId, PAGE);
      const sample = share >= 1 ? page : page.filter(() => Math.random() < share);
      await Promise.all(
        sample.map((row) =>
          limit(async () => {
            report.problems.push(...(await this.check(row)));
            report.checked++;
            opts.onProgress?.(report.checked, Math.max(expected, report.checked));
          }),
        ),
      );
      afterId = page.at(-1)?.id ?? afterId;
      if (page.length < PAGE) return report;
    }
  }

  /** What is wrong with this recording's objects (nothing: an empty list). */
  private async check(row: MovableRecording): Promise<VerifyProblem[]> {
    const at = `${row.storage_provider}${row.storage_bucket ? ` bucket ${row.storage_bucket}` : ''}`;
    const problem = (key: string, text: string) => ({ recordingId: row.id, key, problem: text });
    let storage: ReturnType<StorageRegistry['forLocation']>;
    try {
      storage = this.storages.forLocation({
        provider: row.storage_provider,
        bucket: row.storage_bucket,
        region: row.storage_region,
      });
    } catch (err) {
      return [problem(row.storage_key, (err as Error).message)];
    }
    const problems: VerifyProblem[] = [];
    try {
      const { size, sha256 } = await digestOf(storage, row.storage_key);
      if (row.file_size !== null && size !== Number(row.file_size)) {
        problems.push(problem(row.storage_key, `size ${size}, the row says ${row.file_size}`));
      }
      const rowSha = row.metadata?.sha256;
      if (rowSha && sha256 !== rowSha)
        problems.push(problem(row.storage_key, `sha256 ${sha256}, the row says ${rowSha}`));
    } catch (err) {
      if (!(err instanceof NotFoundError)) throw err;
      problems.push(problem(row.storage_key, `missing at ${at}`));
    }
    const thumbnail = row.metadata?.thumbnail_key;
    if (thumbnail && !(await storage.exists(thumbnail))) problems.push(problem(thumbnail, `missing at ${at}`));
    // its rendered versions (issue 12), each against the size and sha256 its row recorded when written
    for (const version of row.versions ?? []) {
      try {
        const { size, sha256 } = await digestOf(storage, version.key);
        if (size !== Number(version.size))
          problems.push(problem(version.key, `version ${version.id}: size ${size}, its row says ${version.size}`));
        if (sha256 !== version.sha256)
          problems.push(
            problem(version.key, `version ${version.id}: sha256 ${sha256}, its row says ${version.sha256}`),
          );
      } catch (err) {
        if (!(err instanceof NotFoundError)) throw err;
        problems.push(problem(version.key, `version ${version.id}: missing at ${at}`));
      }
      if (version.thumbnail && !(await storage.exists(version.thumbnail)))
        problems.push(problem(version.thumbnail, `version ${version.id}: missing at ${at}`));
    }
    return problems;
  }
}
