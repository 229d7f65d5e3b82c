import { useState } from 'react';
import type { CommentThread } from '../../comments-model.ts';
import { type CommentActions, CommentItem } from './CommentItem.tsx';
import { CommentForm } from './CommentForm.tsx';

export interface PanelWriter {
  /** A new thread, at the given time (ms) or on the whole recording (null). */
  post(body: string, atMs: number | null): Promise<void>;
  reply(parentId: string, body: string): Promise<void>;
  /** The name field a link visitor comments under (absent for members). */
  guestName?: { value: string; onChange(name: string): void };
}

/** The comments beside a player: the form for a new one, then each thread with its replies. */
export function CommentsPanel(p: {
  threads: CommentThread[];
  error: string | null;
  currentMs: number;
  actions: CommentActions;
  writer: PanelWriter;
}) {
  const open = p.threads.filter((t) => !t.root.resolvedAt).length;
  return (
    <section className="comments" data-testid="comments" aria-labelledby="comments-h">
      <h2 id="comments-h">
        Comments <span className="muted">({open} open)</span>
      </h2>
      {p.actions.canWrite && (
        <CommentForm
          label="Add a comment"
          submitLabel="Comment"
          atMs={p.currentMs}
          guestName={p.writer.guestName}
          onSubmit={p.writer.post}
        />
      )}
      {p.error && (
        <p className="error-text" role="alert">
          Comments could not be updated: {p.error}
        </p>
      )}
      {p.threads.length === 0 ? (
        <p className="muted">No comments yet.</p>
      ) : (
        <ol className="comment-threads">
          {p.threads.map((t) => (
            <ThreadView key={t.root.id} thread={t} actions={p.actions} writer={p.writer} />
          ))}
        </ol>
      )}
    </section>
  );
}

function ThreadView({
  thread,
  actions,
  writer,
}: {
  thread: CommentThread;
  actions: CommentActions;
  writer: PanelWriter;
}) {
  const [replying, setReplying] = useState(false);
  const resolved = thread.root.resolvedAt != null;
  return (
    <li
      className={`comment-thread${resolved ? ' resolved' : ''}`}
      data-testid="comment-thread"
      data-id={thread.root.id}
      data-resolved={resolved}
    >
      {resolved && (
        <p className="muted small">Resolved{thread.root.resolvedBy ? ` by ${thread.root.resolvedBy.name}` : ''}</p>
      )}
      <CommentItem comment={thread.root} actions={actions} />
      {thread.replies.length > 0 && (
        <ol className="comment-replies">
          {thread.replies.map((r) => (
            <li key={r.id}>
              <CommentItem comment={r} actions={actions} />
            </li>
          ))}
        </ol>
      )}
      {actions.canWrite &&
        !thread.root.deletedAt &&
        (replying ? (
          <CommentForm
            label="Reply"
            submitLabel="Reply"
            onSubmit={async (body) => {
              await writer.reply(thread.root.id, body);
              setReplying(false);
            }}
            onCancel={() => setReplying(false)}
          />
        ) : (
          <button type="button" className="link-button" onClick={() => setReplying(true)}>
            Reply
          </button>
        ))}
    </li>
  );
}
