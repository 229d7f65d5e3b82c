/**
 * The SQL of the editor's history (issue 12): recording_edits rows as a stack per recording, and the
 * recording's edit_revision. The service runs every change inside `inTransaction`, which first locks the
 * recording row: edits, undos and redos of one recording happen one at a time, whatever the server count.
 */
import { type Kysely, sql, type Transaction } from 'kysely';
import type { DB, MemberRole } from '../db/schema.js';
import type { RecordingMetadata } from '../recordings/metadata.js';

/** What the history needs of the recording: who may see it, what it is, and the revision. */
export interface RecordingFacts {
  id: string;
  user_id: string;
  status: string;
  duration: number;
  metadata: RecordingMetadata | null;
  edit_revision: string;
}

export interface EditRow {
  id: string;
  position: number;
  edit_type: string;
  parameters: unknown;
  undo_data: unknown;
  applied_at: Date;
  undone_at: Date | null;
  dropped_at: Date | null;
  created_by: string | null;
  created_by_name: string | null;
}

export interface NewEditRow {
  recordingId: string;
  position: number;
  type: string;
  parameters: unknown;
  undoData: unknown;
  createdBy: string;
}

const FACTS = ['r.id', 'r.user_id', 'r.status', 'r.duration', 'r.metadata', 'r.edit_revision'] as const;

export class EditsRepository {
  constructor(private readonly db: Kysely<DB> | Transaction<DB>) {}

  /** The recording with userId's role in its project (null: not a member, or no project). */
  withRole(
    recordingId: string,
    userId: string,
    lock = false,
  ): Promise<(RecordingFacts & { role: MemberRole | null }) | undefined> {
    const query = this.db
      .selectFrom('recordings as r')
      .leftJoin('project_members as m', (j) =>
        j.onRef('m.project_id', '=', 'r.project_id').on('m.user_id', '=', userId),
      )
      .select(FACTS)
      .select('m.role')
      .where('r.id', '=', recordingId);
    return (lock ? query.forUpdate('r') : query).executeTakeFirst();
  }

  facts(recordingId: string): Promise<RecordingFacts | undefined> {
    return this.db.selectFrom('recordings as r').select(FACTS).where('r.id', '=', recordingId).executeTakeFirst();
  }

  /**
   * Runs fn in one transaction holding the recording row's lock (FOR UPDATE OF the recording only), with
   * the row and userId's role as they are under that lock; undefined to fn when there is no such recording.
   */
  inTransaction<T>(
    recordingId: string,
    userId: string,
    fn: (repo: EditsRepository, recording: (RecordingFacts & { role: MemberRole | null }) | undefined) => Promise<T>,
  ): Promise<T> {
    return this.db.transaction().execute(async (tx) => {
      const recording = await new EditsRepository(tx).withRole(recordingId, userId, true);
      return fn(new EditsRepository(tx), recording);
    });
  }

  /** Every edit of the recording in stack order, dropped and undone ones included. */
  edits(recordingId: string): Promise<EditRow[]> {
    return this.db
      .selectFrom('recording_edits as e')
      .leftJoin('users as u', 'u.id', 'e.created_by')
      .select([
        'e.id',
        'e.position',
        'e.edit_type',
        'e.parameters',
        'e.undo_data',
        'e.applied_at',
        'e.undone_at',
        'e.dropped_at',
        'e.created_by',
        'u.display_name as created_by_name',
      ])
      .where('e.recording_id', '=', recordingId)
      .orderBy('e.position')
      .execute();
  }

  /** The new row, as edits() reads it. */
  async insert(edit: NewEditRow): Promise<EditRow> {
    const row = await this.db
      .insertInto('recording_edits')
      .values({
        recording_id: edit.recordingId,
        position: edit.position,
        edit_type: edit.type as DB['recording_edits']['edit_type'],
        parameters: JSON.stringify(edit.parameters),
        undo_data: JSON.stringify(edit.undoData),
        created_by: edit.createdBy,
      })
      .returning(['id', 'applied_at'])
      .executeTakeFirstOrThrow();
    const author = await this.db
      .selectFrom('users')
      .select('display_name')
      .where('id', '=', edit.createdBy)
      .executeTakeFirst();
    return {
      ...row,
      position: edit.position,
      edit_type: edit.type,
      parameters: edit.parameters,
      undo_data: edit.undoData,
      undone_at: null,
      dropped_at: null,
      created_by: edit.createdBy,
      created_by_name: author?.display_name ?? null,
    };
  }

  /** The redo branch (undone, not yet dropped) becomes history: a new edit was made on top of it. */
  async dropUndone(recordingId: string, at: Date): Promise<void> {
    await this.db
      .updateTable('recording_edits')
      .set({ dropped_at: at })
      .where('recording_id', '=', recordingId)
      .where('undone_at', 'is not', null)
      .where('dropped_at', 'is', null)
      .execute();
  }

  /** Undo (a time) or redo (null). */
  async setUndone(editId: string, at: Date | null): Promise<void> {
    await this.db.updateTable('recording_edits').set({ undone_at: at }).where('id', '=', editId).execute();
  }

  /** One more change of the history: the revision clients must name in If-Match from now on. */
  async bumpRevision(recordingId: string): Promise<string> {
    const row = await this.db
      .updateTable('recordings')
      .set({ edit_revision: sql`edit_revision + 1` })
      .where('id', '=', recordingId)
      .returning('edit_revision')
      .executeTakeFirstOrThrow();
    return row.edit_revision;
  }
}
