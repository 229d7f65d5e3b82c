/**
 * The editor's history (issue 12; docs/editor.md): a stack of edits per recording, on the server, without
 * a depth limit. The active edits are the stack's lower part, the undone ones above them (redo takes the
 * lowest, undo the highest active); a new edit made after undos drops those undone ones — they stay as
 * rows, shown as 'dropped', and are never redone. The state is the fold of the active edits (shared/edits.ts).
 * Every change names the revision it was based on (If-Match) and happens in one transaction holding the
 * recording's row lock, which checks that revision and bumps it: two tabs or two editors never interleave.
 */
import { type Relation, authorize, relationsOf } from '../access/access.js';
import type { MemberRole } from '../db/schema.js';
import { AppError } from '../errors.js';
import { isBigintId } from '../ids.js';
import { describeEdit, type UndoData, undoDataFor } from '../../shared/edit-words.js';
import { checkEdit, type Edit, type EditState, foldEdits, type MediaFacts } from '../../shared/edits.js';
import type { EditRow, EditsRepository, RecordingFacts } from './edits.repository.js';

export type EditStatus = 'active' | 'undone' | 'dropped';

export interface HistoryEdit {
  id: string;
  position: number;
  type: Edit['type'];
  parameters: Edit['parameters'];
  undoData: UndoData | null;
  description: string;
  state: EditStatus;
  /** The author's user id and display name; null once their account is deleted. */
  createdBy: string | null;
  createdByName: string | null;
  appliedAt: string;
}

export interface EditHistory {
  /** edit_revision as a decimal string (a bigint); the ETag and the If-Match of the next change. */
  revision: string;
  canUndo: boolean;
  canRedo: boolean;
  /** Oldest first; with `since`, only those after that position. */
  edits: HistoryEdit[];
  state: EditState;
  media: MediaFacts;
}

/** What the VERSIONS work renders: the state and the active edits at a revision. */
export interface CurrentEdits {
  revision: string;
  state: EditState;
  edits: (Edit & { id: string; position: number })[];
  media: MediaFacts;
}

type Change = { kind: 'edit'; edit: Edit } | { kind: 'undo' } | { kind: 'redo' };

const relationsFor = (userId: string, row: { user_id: string; role: MemberRole | null } | undefined): Relation[] =>
  row ? relationsOf(userId, { creatorId: row.user_id, role: row.role }) : [];
const statusOf = (row: EditRow): EditStatus => (row.dropped_at ? 'dropped' : row.undone_at ? 'undone' : 'active');
const asEdit = (row: EditRow) => ({ type: row.edit_type, parameters: row.parameters }) as Edit;

/** The facts the checks need: processing's probe (metadata) over the whole-second duration column. */
export function mediaFactsOf(recording: RecordingFacts): MediaFacts {
  const m = recording.metadata ?? {};
  const durationMs = typeof m.duration_ms === 'number' && m.duration_ms > 0 ? m.duration_ms : recording.duration * 1000;
  const width = typeof m.width === 'number' && m.width > 0 ? m.width : null;
  const height = typeof m.height === 'number' && m.height > 0 ? m.height : null;
  return { durationSeconds: durationMs / 1000, width: width && height ? width : null, height: width ? height : null };
}

/** A stack's facts from its rows (oldest first). */
function stackOf(rows: readonly EditRow[]) {
  const active = rows.filter((r) => statusOf(r) === 'active');
  return {
    active,
    lastActive: active.at(-1),
    firstUndone: rows.find((r) => statusOf(r) === 'undone'),
    nextPosition: (rows.at(-1)?.position ?? 0) + 1,
  };
}

/**
 * If-Match as sent: `"12"` (the ETag as given), also `W/"12"` or a bare 12 from hand-written clients.
 * Absent: 428. Anything else (a list, `*`): 400, since a change must name one revision.
 */
export function revisionFromIfMatch(header: string | undefined): string {
  if (header === undefined || header.trim() === '') throw new AppError('PRECONDITION_REQUIRED');
  const m = /^\s*(?:W\/)?"?(\d{1,19})"?\s*$/.exec(header);
  if (!m) throw new AppError('VALIDATION_FAILED', 'If-Match must be one revision as the ETag gave it, e.g. "12"');
  return BigInt(m[1]!).toString();
}

export class EditsService {
  constructor(private readonly repo: EditsRepository) {}

  /** The recording's history as the user may see it (404 for a recording they cannot see). */
  async history(recordingId: string, userId: string, since?: number): Promise<EditHistory> {
    const recording = await this.authorized(recordingId, userId, 'recording.read');
    return historyOf(recording, await this.repo.edits(recordingId), since);
  }

  apply(recordingId: string, userId: string, ifMatch: string | undefined, edit: Edit, since?: number) {
    return this.change(recordingId, userId, ifMatch, { kind: 'edit', edit }, since);
  }

  undo(recordingId: string, userId: string, ifMatch: string | undefined, since?: number) {
    return this.change(recordingId, userId, ifMatch, { kind: 'undo' }, since);
  }

  redo(recordingId: string, userId: string, ifMatch: string | undefined, since?: number) {
    return this.change(recordingId, userId, ifMatch, { kind: 'redo' }, since);
  }

  /**
   * For the render (VERSIONS): the revision, state and active edits now. No permission check (the
   * caller has made its own); undefined for a recording that does not exist.
   */
  async currentState(recordingId: string): Promise<CurrentEdits | undefined> {
    if (!isBigintId(recordingId)) return undefined;
    const recording = await this.repo.facts(recordingId);
    if (!recording) return undefined;
    const media = mediaFactsOf(recording);
    const { active } = stackOf(await this.repo.edits(recordingId));
    const edits = active.map((r) => ({ ...asEdit(r), id: r.id, position: r.position }));
    return { revision: recording.edit_revision, state: foldEdits(media.durationSeconds, edits), edits, media };
  }

  private async authorized(recordingId: string, userId: string, action: 'recording.read' | 'edit.create') {
    const row = isBigintId(recordingId) ? await this.repo.withRole(recordingId, userId) : undefined;
    authorize(action, relationsFor(userId, row));
    return row!;
  }

  /**
   * One change, all or nothing, in one transaction holding the recording's row lock: the permission and
   * the revision are checked under that lock (409 with the history as it stands when stale), then the
   * change is made and the revision bumped.
   */
  private async change(
    recordingId: string,
    userId: string,
    ifMatch: string | undefined,
    change: Change,
    since?: number,
  ): Promise<EditHistory> {
    if (!isBigintId(recordingId)) throw new AppError('RECORDING_NOT_FOUND');
    return this.repo.inTransaction(recordingId, userId, async (repo, recording) => {
      authorize('edit.create', relationsFor(userId, recording));
      if (!recording) throw new AppError('RECORDING_NOT_FOUND');
      const basedOn = revisionFromIfMatch(ifMatch);
      if (recording.edit_revision !== basedOn) {
        const history = historyOf(recording, await repo.edits(recordingId));
        throw new AppError('EDIT_CONFLICT', undefined, { history });
      }
      if (recording.status === 'processing') throw new AppError('RECORDING_PROCESSING');
      const rows = await repo.edits(recordingId);
      const stack = stackOf(rows);
      const now = new Date();
      if (change.kind === 'undo') {
        if (!stack.lastActive) throw new AppError('NOTHING_TO_UNDO');
        await repo.setUndone(stack.lastActive.id, now);
        stack.lastActive.undone_at = now;
      } else if (change.kind === 'redo') {
        if (!stack.firstUndone) throw new AppError('NOTHING_TO_REDO');
        await repo.setUndone(stack.firstUndone.id, null);
        stack.firstUndone.undone_at = null;
      } else {
        const media = mediaFactsOf(recording);
        const state = foldEdits(media.durationSeconds, stack.active.map(asEdit));
        const refused = checkEdit(state, change.edit, media);
        if (refused) throw new AppError('EDIT_INVALID', refused);
        await repo.dropUndone(recordingId, now);
        for (const r of rows) if (statusOf(r) === 'undone') r.dropped_at = now;
        const edit = {
          recordingId,
          position: stack.nextPosition,
          type: change.edit.type,
          parameters: change.edit.parameters,
          undoData: undoDataFor(state, change.edit),
          createdBy: userId,
        };
        rows.push(await repo.insert(edit));
      }
      const revision = await repo.bumpRevision(recordingId);
      return historyOf({ ...recording, edit_revision: revision }, rows, since);
    });
  }
}

/** The history from the recording and all its edit rows (oldest first). */
function historyOf(recording: RecordingFacts, rows: readonly EditRow[], since?: number): EditHistory {
  const media = mediaFactsOf(recording);
  const stack = stackOf(rows);
  const shown = since === undefined ? rows : rows.filter((r) => r.position > since);
  return {
    revision: recording.edit_revision,
    canUndo: stack.lastActive !== undefined,
    canRedo: stack.firstUndone !== undefined,
    edits: shown.map((r) => ({
      id: r.id,
      position: r.position,
      type: r.edit_type as Edit['type'],
      parameters: r.parameters as Edit['parameters'],
      undoData: (r.undo_data as UndoData | null) ?? null,
      description: describeEdit(asEdit(r)),
      state: statusOf(r),
      createdBy: r.created_by,
      createdByName: r.created_by_name,
      appliedAt: r.applied_at.toISOString(),
    })),
    state: foldEdits(media.durationSeconds, stack.active.map(asEdit)),
    media,
  };
}
