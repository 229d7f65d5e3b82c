import type { RefObject } from 'react';
import { type CommentThread, commentMarkers } from '../../comments-model.ts';

/**
 * A bar as long as the recording under the player, one marker per timed thread; a click seeks the player
 * there. Resolved threads' markers are dimmed.
 */
export function CommentMarkers({
  threads,
  durationMs,
  media,
}: {
  threads: CommentThread[];
  durationMs: number;
  media: RefObject<HTMLMediaElement | null>;
}) {
  const markers = commentMarkers(threads, durationMs);
  const seek = (atMs: number) => {
    const element = media.current;
    if (element) element.currentTime = atMs / 1000;
  };
  return (
    <nav className="comment-markers" data-testid="comment-markers" aria-label="Comments on the timeline">
      {markers.map((m) => (
        <button
          key={m.id}
          type="button"
          className={`comment-marker${m.resolved ? ' resolved' : ''}`}
          style={{ left: `${m.leftPercent}%` }}
          data-testid="comment-marker"
          data-id={m.id}
          data-at-ms={m.atMs}
          data-resolved={m.resolved}
          title={m.label}
          aria-label={`Go to comment: ${m.label}`}
          onClick={() => seek(m.atMs)}
        />
      ))}
    </nav>
  );
}
