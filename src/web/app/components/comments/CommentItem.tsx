import { useState } from 'react';
import type { Comment } from '../../comments-client.ts';
import { formatAt } from '../../comments-model.ts';
import { formatDateTime, relativeTime } from '../../format.ts';
import { ErrorText } from '../ErrorText.tsx';
import { CommentForm } from './CommentForm.tsx';

/** What the panel lets a viewer do with comments; the page decides (member or link visitor). */
export interface CommentActions {
  /** May this viewer write comments and replies here. */
  canWrite: boolean;
  rights(c: Comment): { edit: boolean; remove: boolean };
  edit(c: Comment, body: string): Promise<void>;
  remove(c: Comment): Promise<void>;
  setResolved(c: Comment, resolved: boolean): Promise<void>;
  seek(atMs: number): void;
}

/** One comment: who, when, where on the timeline, its text (a React text node: never HTML), its buttons. */
export function CommentItem({ comment, actions }: { comment: Comment; actions: CommentActions }) {
  const [editing, setEditing] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const rights = actions.rights(comment);
  const run = (f: () => Promise<void>) =>
    void f().then(
      () => setError(null),
      (e: Error) => setError(e.message),
    );

  if (comment.deletedAt) {
    return (
      <div className="comment deleted" data-testid="comment" data-id={comment.id}>
        <p className="muted">This comment was deleted.</p>
      </div>
    );
  }
  const isRoot = comment.parentId === null;
  return (
    <div className="comment" data-testid="comment" data-id={comment.id}>
      <p className="comment-head">
        <strong>{comment.author.name}</strong>
        {comment.author.kind === 'guest' && <span className="badge badge-guest">Guest</span>}
        {comment.atMs != null && (
          <button type="button" className="link-button comment-at" onClick={() => actions.seek(comment.atMs ?? 0)}>
            {formatAt(comment.atMs)}
          </button>
        )}
        <time dateTime={comment.createdAt} title={formatDateTime(comment.createdAt)} className="muted">
          {relativeTime(comment.createdAt)}
        </time>
        {comment.editedAt && <span className="muted">(edited)</span>}
      </p>
      {editing ? (
        <CommentForm
          label="Edit comment"
          submitLabel="Save"
          initial={comment.body}
          onSubmit={async (body) => {
            await actions.edit(comment, body);
            setEditing(false);
          }}
          onCancel={() => setEditing(false)}
        />
      ) : (
        <p className="comment-body" data-testid="comment-body">
          {comment.body}
        </p>
      )}
      <div className="comment-actions">
        {rights.edit && !editing && (
          <button type="button" className="link-button" onClick={() => setEditing(true)}>
            Edit
          </button>
        )}
        {rights.remove && (
          <button type="button" className="link-button danger-text" onClick={() => run(() => actions.remove(comment))}>
            Delete
          </button>
        )}
        {isRoot && comment.canResolve && (
          <button
            type="button"
            className="link-button"
            onClick={() => run(() => actions.setResolved(comment, comment.resolvedAt == null))}
          >
            {comment.resolvedAt ? 'Reopen' : 'Resolve'}
          </button>
        )}
      </div>
      <ErrorText error={error} />
    </div>
  );
}
