import { useEffect, useMemo, useState, type RefObject } from 'react';
import { type CommentsClient, POLL_MS } from '../../comments-client.ts';
import { type CommentThread, threadComments } from '../../comments-model.ts';
import { errorText } from '../../hooks/util.ts';

/**
 * The threads of a client, loaded once and then polled every 2.5 s through the changes cursor. A hidden tab
 * does not poll; it asks at once when it is shown again, so a laptop that slept catches up on wake.
 */
export function useComments(client: CommentsClient | null): { threads: CommentThread[]; error: string | null } {
  const [comments, setComments] = useState(client?.comments ?? new Map());
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    if (!client) return;
    let stopped = false;
    const unsubscribe = client.subscribe((next) => setComments(next));
    const ask = () => {
      if (stopped || document.hidden) return;
      client.poll().then(
        () => !stopped && setError(null),
        (err: unknown) => !stopped && setError(errorText(err)),
      );
    };
    ask();
    const timer = setInterval(ask, POLL_MS);
    document.addEventListener('visibilitychange', ask);
    return () => {
      stopped = true;
      unsubscribe();
      clearInterval(timer);
      document.removeEventListener('visibilitychange', ask);
    };
  }, [client]);

  const threads = useMemo(() => threadComments(comments.values()), [comments]);
  return { threads, error };
}

/** The media element's current time in ms, following timeupdate and seeks. */
export function useMediaTimeMs(media: RefObject<HTMLMediaElement | null>): number {
  const [ms, setMs] = useState(0);
  useEffect(() => {
    let element: HTMLMediaElement | null = null;
    const update = () => setMs(Math.round((element?.currentTime ?? 0) * 1000));
    // The element mounts with the page's data, after this effect may have run: look for it until it is there.
    const attach = () => {
      if (element || !media.current) return;
      clearInterval(timer);
      element = media.current;
      element.addEventListener('timeupdate', update);
      element.addEventListener('seeked', update);
      update();
    };
    const timer = setInterval(attach, 250);
    attach();
    return () => {
      clearInterval(timer);
      element?.removeEventListener('timeupdate', update);
      element?.removeEventListener('seeked', update);
    };
  }, [media]);
  return ms;
}
