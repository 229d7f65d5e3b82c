/**
 * All SQL about legacy imports (migration 0022): the import runs, their items, and the legacy key —
 * the unique index uq_legacy_import_items_key over (user, source, legacy id, sha256) of 'imported' items,
 * which decides who makes the recording when two tabs, a CLI and a browser, or a re-run try at once.
 */
import { type Kysely, type Selectable, sql } from 'kysely';
import type {
  DB,
  LegacyImportItemsTable,
  LegacyImportOrigin,
  LegacyImportsTable,
  LegacyItemOutcome,
  LegacySourceColumn,
} from '../db/schema.js';

export type ImportRow = Selectable<LegacyImportsTable>;
export type ImportItemRow = Selectable<LegacyImportItemsTable>;
export type OutcomeCounts = Record<LegacyItemOutcome, number>;

/** An item's identity: the legacy key. */
export interface KeyOf {
  legacySource: LegacySourceColumn;
  legacyId: string;
  sha256: string;
}

/** An item as written to legacy_import_items. */
export interface NewItem {
  importId: string;
  userId: string;
  legacySource: LegacySourceColumn;
  legacyId: string | null;
  sha256: string | null;
  size: number | null;
  title: string | null;
  outcome: LegacyItemOutcome;
  reason?: string | null;
  message?: string | null;
  recordingId?: string | null;
}

/** An item known by its whole key, whose outcome the method writing it decides. */
export type KeyedItem = Omit<NewItem, 'outcome' | 'legacyId' | 'sha256'> & KeyOf;

/** The 'imported' item that holds a key: the recording it made (null: deleted since) and its size. */
export interface ClaimedKey extends KeyOf {
  importId: string;
  recordingId: string | null;
  size: number | null;
}

const NO_COUNTS: OutcomeCounts = { imported: 0, already: 0, skipped: 0, failed: 0 };

const valuesOf = (item: NewItem) => ({
  import_id: item.importId,
  user_id: item.userId,
  legacy_source: item.legacySource,
  legacy_id: item.legacyId,
  sha256: item.sha256,
  size: item.size,
  title: item.title,
  outcome: item.outcome,
  reason: item.reason ?? null,
  message: item.message ?? null,
  recording_id: item.recordingId ?? null,
});

export class ImportsRepository {
  constructor(private readonly db: Kysely<DB>) {}

  async create(v: {
    userId: string;
    origin: LegacyImportOrigin;
    itemCount: number;
    byteCount: number;
    client: string | null;
  }): Promise<ImportRow> {
    return this.db
      .insertInto('legacy_imports')
      .values({
        user_id: v.userId,
        origin: v.origin,
        item_count: v.itemCount,
        byte_count: v.byteCount,
        client: v.client,
      })
      .returningAll()
      .executeTakeFirstOrThrow();
  }

  get(id: string): Promise<ImportRow | undefined> {
    return this.db.selectFrom('legacy_imports').selectAll().where('id', '=', id).executeTakeFirst();
  }

  /** A user's imports, newest first. */
  listForUser(userId: string, limit: number): Promise<ImportRow[]> {
    return this.db
      .selectFrom('legacy_imports')
      .selectAll()
      .where('user_id', '=', userId)
      .orderBy('started_at', 'desc')
      .orderBy('id', 'desc')
      .limit(limit)
      .execute();
  }

  /** How many items of each outcome each of these imports has. */
  async counts(importIds: string[]): Promise<Map<string, OutcomeCounts>> {
    const counts = new Map<string, OutcomeCounts>(importIds.map((id) => [id, { ...NO_COUNTS }]));
    if (!importIds.length) return counts;
    const rows = await this.db
      .selectFrom('legacy_import_items')
      .select(['import_id', 'outcome', sql<number>`count(*)::int`.as('n')])
      .where('import_id', 'in', importIds)
      .groupBy(['import_id', 'outcome'])
      .execute();
    for (const r of rows) counts.get(r.import_id)![r.outcome] = r.n;
    return counts;
  }

  items(importId: string): Promise<ImportItemRow[]> {
    return this.db
      .selectFrom('legacy_import_items')
      .selectAll()
      .where('import_id', '=', importId)
      .orderBy('id')
      .execute();
  }

  /** Something happened in the import: it is not interrupted (updated_at, by the trigger). */
  async touch(importId: string): Promise<void> {
    await this.db.updateTable('legacy_imports').set({ updated_at: new Date() }).where('id', '=', importId).execute();
  }

  /** Completed now; a second finish leaves the first finish's time. */
  async finish(importId: string, itemCount?: number): Promise<ImportRow> {
    await this.db
      .updateTable('legacy_imports')
      .set({
        status: 'completed',
        finished_at: sql<Date>`now()`,
        ...(itemCount === undefined ? {} : { item_count: itemCount }),
      })
      .where('id', '=', importId)
      .where('status', '=', 'running')
      .execute();
    return (await this.get(importId))!;
  }

  /** Of these keys, those some import of the user already imported (the 'imported' row holding each). */
  async claimed(userId: string, keys: KeyOf[]): Promise<ClaimedKey[]> {
    if (!keys.length) return [];
    const rows = await this.db
      .selectFrom('legacy_import_items')
      .select(['import_id', 'legacy_source', 'legacy_id', 'sha256', 'recording_id', 'size'])
      .where('user_id', '=', userId)
      .where('outcome', '=', 'imported')
      .where((eb) =>
        eb(
          eb.refTuple('legacy_source', 'legacy_id', 'sha256'),
          'in',
          keys.map((k) => eb.tuple(k.legacySource, k.legacyId, k.sha256)),
        ),
      )
      .execute();
    return rows.map((r) => ({
      importId: r.import_id,
      legacySource: r.legacy_source,
      legacyId: r.legacy_id!,
      sha256: r.sha256!,
      recordingId: r.recording_id,
      size: r.size === null ? null : Number(r.size),
    }));
  }

  /**
   * Claims the key for a recording about to be inserted in the same transaction: the item's id, or
   * undefined when another transaction holds the key (it waits for that one to commit or roll back).
   */
  async claim(item: KeyedItem): Promise<string | undefined> {
    const row = await this.db
      .insertInto('legacy_import_items')
      .values(valuesOf({ ...item, outcome: 'imported', recordingId: null }))
      .onConflict((oc) =>
        oc.columns(['user_id', 'legacy_source', 'legacy_id', 'sha256']).where('outcome', '=', 'imported').doNothing(),
      )
      .returning('id')
      .executeTakeFirst();
    return row?.id;
  }

  async setRecording(itemId: string, recordingId: string): Promise<void> {
    await this.db
      .updateTable('legacy_import_items')
      .set({ recording_id: recordingId })
      .where('id', '=', itemId)
      .execute();
  }

  /**
   * 'already' items, at most one per import and key (uq_legacy_import_items_already). Callers leave out
   * keys the same import imported: they are counted once, as 'imported'.
   */
  async recordAlready(items: KeyedItem[]): Promise<void> {
    if (!items.length) return;
    await this.db
      .insertInto('legacy_import_items')
      .values(items.map((i) => valuesOf({ ...i, outcome: 'already' })))
      .onConflict((oc) =>
        oc.columns(['import_id', 'legacy_source', 'legacy_id', 'sha256']).where('outcome', '=', 'already').doNothing(),
      )
      .execute();
  }

  async insertItems(items: NewItem[]): Promise<void> {
    if (!items.length) return;
    await this.db.insertInto('legacy_import_items').values(items.map(valuesOf)).execute();
  }
}
