-- squawk-ignore-file require-lock-timeout, require-statement-timeout
-- Why: the engine sets lock_timeout for every file (MIGRATION_LOCK_TIMEOUT) and retries on timeout; a
-- statement_timeout would cut legitimate long work such as index builds.
-- squawk-ignore-file prefer-bigint-over-int
-- Why: position counts one recording's edits (a person's clicks: 10,000 is a lot), far below 2^31;
-- integer reads as a JS number.
-- The editor's history (issue 12; src/server/edits/, docs/editor.md). recording_edits becomes a stack:
--  created_by  who made the edit (a deleted account leaves the edit, without its author)
--  position    1.. per recording, the order of the stack (unique: 0031)
--  undone_at   set by undo, cleared by redo: the edit is out of the fold while set
--  dropped_at  a new edit made after undos drops the redo branch: those rows stay as history (undone_at
--              and dropped_at both set) and are never redone
-- recordings.edit_revision counts every change of the history (edit, undo, redo): a client sends the
-- revision it saw as If-Match, and a stale one is refused (409) instead of corrupting the stack.
-- recording_edits is empty in every deployment (nothing wrote it before issue 12), but both tables are
-- treated as holding rows: nullable columns and a constant default are catalog-only changes; the
-- constraints are added NOT VALID (no scan under this lock), old rows numbered and validated in 0030.
ALTER TABLE recording_edits
  ADD COLUMN created_by text,
  ADD COLUMN position integer,
  ADD COLUMN undone_at timestamptz,
  ADD COLUMN dropped_at timestamptz;

ALTER TABLE recordings ADD COLUMN edit_revision bigint NOT NULL DEFAULT 0;

ALTER TABLE recording_edits
  ADD CONSTRAINT fk_edits_created_by FOREIGN KEY (created_by) REFERENCES users (id) ON DELETE SET NULL NOT VALID;
-- Every row has a place in its stack (old rows get theirs in 0030 before this is validated).
ALTER TABLE recording_edits ADD CONSTRAINT chk_edit_position CHECK (position IS NOT NULL AND position >= 1) NOT VALID;
-- Only an undone edit can be dropped (a redo branch is made of undone edits).
ALTER TABLE recording_edits
  ADD CONSTRAINT chk_edit_dropped_undone CHECK (dropped_at IS NULL OR undone_at IS NOT NULL) NOT VALID;
ALTER TABLE recordings ADD CONSTRAINT chk_recording_edit_revision CHECK (edit_revision >= 0) NOT VALID;
