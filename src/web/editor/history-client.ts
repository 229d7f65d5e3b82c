/**
 * The editor's view of a recording's edit history on the server (GET/POST /api/recordings/:id/edits,
 * .../undo, .../redo). Every change carries the revision it was based on (If-Match); when another tab or
 * device changed the history first, the server answers 409 EDIT_CONFLICT with its history, which this
 * client adopts and reports as a conflict, so the page always shows what the server holds. No React: the
 * page subscribes and renders.
 */
import type { Edit } from '../../shared/edits.ts';
import type { EditHistory, HistoryEdit } from '../../server/edits/edits.schemas.ts';
import { ApiError, apiClient, type ApiClient } from '../persist/api.ts';

export type { EditHistory, HistoryEdit };

export type HistoryEvent =
  | { kind: 'loaded'; history: EditHistory }
  | { kind: 'changed'; history: EditHistory }
  /** Someone else changed the history first: `history` is theirs, our change was not made. */
  | { kind: 'conflict'; history: EditHistory }
  | { kind: 'error'; error: ApiError };

export class HistoryClient {
  private current: EditHistory | null = null;
  private readonly listeners = new Set<(e: HistoryEvent) => void>();
  /** One change at a time: a second click waits for the first answer (and its new revision). */
  private queue: Promise<unknown> = Promise.resolve();

  constructor(
    readonly recordingId: string,
    private readonly client: ApiClient = apiClient(),
  ) {}

  get history(): EditHistory | null {
    return this.current;
  }

  subscribe(fn: (e: HistoryEvent) => void): () => void {
    this.listeners.add(fn);
    return () => void this.listeners.delete(fn);
  }

  private emit(e: HistoryEvent): void {
    for (const l of this.listeners) l(e);
  }

  private get base(): string {
    return `/api/recordings/${encodeURIComponent(this.recordingId)}/edits`;
  }

  async load(): Promise<EditHistory> {
    const history = await this.client.request<EditHistory>('GET', this.base);
    this.current = history;
    this.emit({ kind: 'loaded', history });
    return history;
  }

  apply(edit: Edit): Promise<EditHistory | null> {
    return this.change('', { type: edit.type, parameters: edit.parameters });
  }

  undo(): Promise<EditHistory | null> {
    return this.change('/undo');
  }

  redo(): Promise<EditHistory | null> {
    return this.change('/redo');
  }

  /** The new history, or null when the change was refused (a conflict or an error, both emitted). */
  private change(suffix: string, body?: unknown): Promise<EditHistory | null> {
    const run = async () => {
      if (!this.current) await this.load();
      try {
        const history = await this.client.request<EditHistory>('POST', this.base + suffix, body, {
          headers: { 'if-match': `"${this.current!.revision}"` },
        });
        this.current = history;
        this.emit({ kind: 'changed', history });
        return history;
      } catch (err) {
        if (!(err instanceof ApiError)) throw err;
        const theirs = conflictHistory(err);
        if (theirs) {
          this.current = theirs;
          this.emit({ kind: 'conflict', history: theirs });
        } else {
          this.emit({ kind: 'error', error: err });
        }
        return null;
      }
    };
    const next = this.queue.then(run, run);
    this.queue = next.catch(() => undefined);
    return next;
  }
}

/** The server's history carried by a 409 EDIT_CONFLICT, if that is what the error is. */
export function conflictHistory(err: ApiError): EditHistory | null {
  if (err.code !== 'EDIT_CONFLICT') return null;
  const details = err.details as { history?: EditHistory } | undefined;
  return details?.history && typeof details.history.revision === 'string' ? details.history : null;
}
