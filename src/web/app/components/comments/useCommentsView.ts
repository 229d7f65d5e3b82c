import { useMemo, useState, type RefObject } from 'react';
import {
  CommentsClient,
  commentErrorText,
  memberComments,
  visitorComments,
  type Comment,
} from '../../comments-client.ts';
import type { CommentThread } from '../../comments-model.ts';
import type { GuestIdentity } from '../../guest-identity.ts';
import type { CommentActions } from './CommentItem.tsx';
import type { PanelWriter } from './CommentsPanel.tsx';
import { useComments, useMediaTimeMs } from './useComments.ts';

export interface CommentsView {
  threads: CommentThread[];
  error: string | null;
  currentMs: number;
  actions: CommentActions;
  writer: PanelWriter;
}

const seekTo = (media: RefObject<HTMLMediaElement | null>) => (atMs: number) => {
  const element = media.current;
  if (element) element.currentTime = atMs / 1000;
};

/** Errors become sentences the form shows (a rate limit says to wait). */
const worded =
  <A extends unknown[]>(f: (...args: A) => Promise<unknown>) =>
  async (...args: A): Promise<void> => {
    try {
      await f(...args);
    } catch (err) {
      throw new Error(commentErrorText(err));
    }
  };

/** A signed-in member's view of a recording's comments (the player page). */
export function useMemberComments(recordingId: string, media: RefObject<HTMLMediaElement | null>): CommentsView {
  const client = useMemo(() => new CommentsClient(memberComments(recordingId)), [recordingId]);
  const { threads, error } = useComments(client);
  const currentMs = useMediaTimeMs(media);
  const actions = useMemo<CommentActions>(
    () => ({
      canWrite: true,
      rights: (c) => ({ edit: c.canEdit, remove: c.canDelete }),
      edit: worded((c: Comment, body: string) => client.edit(c.id, body)),
      remove: worded((c: Comment) => client.remove(c.id)),
      setResolved: worded((c: Comment, resolved: boolean) => client.setResolved(c.id, resolved)),
      seek: seekTo(media),
    }),
    [client, media],
  );
  const writer = useMemo<PanelWriter>(
    () => ({
      post: worded((body: string, atMs: number | null) => client.create({ body, atMs })),
      reply: worded((parentId: string, body: string) => client.create({ body, parentId })),
    }),
    [client],
  );
  return { threads, error, currentMs, actions, writer };
}

/**
 * A link visitor's view (the share page): comments go under the name they type, each one's guest key kept
 * in this tab so they can edit or delete it; they never resolve.
 */
export function useGuestComments(
  token: string,
  identity: GuestIdentity,
  media: RefObject<HTMLMediaElement | null>,
  enabled: boolean,
): CommentsView {
  const client = useMemo(
    () => (enabled ? new CommentsClient(visitorComments(token, () => identity.access())) : null),
    [token, identity, enabled],
  );
  const { threads, error } = useComments(client);
  const currentMs = useMediaTimeMs(media);
  const [name, setName] = useState(() => identity.read().name);
  const keyed = (c: Comment) => identity.keyFor(c.id);

  const actions: CommentActions = {
    canWrite: client !== null,
    rights: (c) => ({ edit: keyed(c) !== undefined || c.canEdit, remove: keyed(c) !== undefined || c.canDelete }),
    edit: worded(async (c: Comment, body: string) => client?.edit(c.id, body, keyed(c))),
    remove: worded(async (c: Comment) => client?.remove(c.id, keyed(c))),
    setResolved: async () => undefined,
    seek: seekTo(media),
  };
  const create = async (body: string, atMs: number | null, parentId?: string) => {
    const guestName = name.trim();
    if (!guestName) throw new Error('Give a name to comment under (above the comment box).');
    const answer = await client?.create({ body, atMs, guestName, ...(parentId ? { parentId } : {}) });
    if (answer?.guestKey) identity.saveKey(answer.comment.id, answer.guestKey);
  };
  const writer: PanelWriter = {
    post: worded((body: string, atMs: number | null) => create(body, atMs)),
    reply: worded((parentId: string, body: string) => create(body, null, parentId)),
    guestName: {
      value: name,
      onChange: (value) => {
        setName(value);
        identity.saveName(value);
      },
    },
  };
  return { threads, error, currentMs, actions, writer };
}
