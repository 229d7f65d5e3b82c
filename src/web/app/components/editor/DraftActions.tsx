import type { Edit } from '../../../../shared/edits.ts';

/** A draft's two buttons: make it an edit (the draft goes once the server took it) or drop it. */
export function DraftActions(p: {
  label: string;
  disabled: boolean;
  edit(): Edit;
  onEdit(edit: Edit): Promise<boolean>;
  /** Called with null: the draft is gone. */
  onDraft(cleared: null): void;
}) {
  return (
    <div className="actions">
      <button
        type="button"
        className="primary"
        disabled={p.disabled}
        onClick={() => {
          void p.onEdit(p.edit()).then((made) => made && p.onDraft(null));
        }}
      >
        {p.label}
      </button>
      <button type="button" onClick={() => p.onDraft(null)}>
        Cancel
      </button>
    </div>
  );
}
