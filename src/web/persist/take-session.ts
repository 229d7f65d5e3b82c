/**
 * Opening a take's server session (POST /api/sessions): retried with backoff until the server
 * answers, since recording never waits for it. A refusal (4xx) repeats forever with the same body,
 * so it is retried once without the optional fields that usually cause it, then thrown.
 */
import { ApiError } from './api.ts';
import { HEARTBEAT_MS, type NewSession, type ServerSession, type Sessions } from './sessions.ts';
import type { LocalTake } from './take-store.ts';

/** What a take's session is opened with (from begin, or from the stored take on recovery). */
export interface LinkInfo {
  mode: string;
  quality: string;
  projectId?: string | null;
  deviceInfo?: Record<string, unknown>;
  settings?: Record<string, unknown>;
}

/** A stored take's link info (adopting it after a reload). */
export function linkInfoOf(take: LocalTake): LinkInfo {
  return {
    mode: take.mode,
    quality: take.quality,
    projectId: take.projectId ?? null,
    ...(take.deviceInfo ? { deviceInfo: take.deviceInfo } : {}),
    ...(take.settings ? { settings: take.settings } : {}),
  };
}

export function sessionBody(take: LocalTake, info: LinkInfo): NewSession {
  return {
    recordingType: info.mode,
    projectId: info.projectId ?? null,
    ...(info.deviceInfo ? { deviceInfo: info.deviceInfo } : {}),
    settings: { ...(info.settings ?? {}), quality: info.quality, mimeType: take.mimeType, localTakeId: take.id },
    startedAt: take.startedAt,
  };
}

export interface OpenSessionOptions {
  sessions: Sessions;
  body: NewSession;
  /** The page stopped working on the take: give up (ABORTED). */
  closed(): boolean;
  /** The user discarded the take: a session created now is thrown away. */
  discarded(): boolean;
  /** A transient failure (no answer, 5xx): noted for the status before the next wait. */
  onTransientError(err: unknown): void;
  backoff(failures: number): Promise<void>;
}

const isRefusal = (err: unknown): err is ApiError =>
  err instanceof ApiError && err.status >= 400 && err.status < 500 && !err.transient;

/** Resolves with the new session, and whether the project had to be left out to open it. */
export async function openSession(o: OpenSessionOptions): Promise<{ session: ServerSession; projectDropped: boolean }> {
  let body = o.body;
  let retriedBare = false;
  let projectDropped = false;
  for (let failures = 0; ; failures++) {
    if (o.closed()) throw new ApiError(0, 'ABORTED', 'The take was closed');
    let session: ServerSession;
    try {
      session = await o.sessions.create(body);
    } catch (err) {
      if (!isRefusal(err)) {
        o.onTransientError(err);
        await o.backoff(failures);
        continue;
      }
      // The optional fields are the usual cause: a recovered take's startedAt more than a day old, a
      // project deleted or no longer writable. Without them the session opens; keep's PATCH sets the
      // project then.
      if (retriedBare || (body.startedAt === undefined && !body.projectId)) throw err;
      retriedBare = true;
      if (body.projectId) projectDropped = true;
      const { startedAt: _s, projectId: _p, ...rest } = body;
      body = rest;
      continue;
    }
    if (o.closed() && o.discarded()) {
      // Discarded while the create was on its way: nobody will ever keep this session.
      await o.sessions.discard(session.id).catch(() => undefined);
      throw new ApiError(0, 'ABORTED', 'The take was discarded');
    }
    return { session, projectDropped };
  }
}

/** Where the take stands, as the heartbeat reports it. */
export interface TakeProgress {
  sessionId: string | undefined;
  durationMs: number;
  bytes: number;
}

/**
 * The take's heartbeat every HEARTBEAT_MS while this page owns it: it tells the server the tab is
 * alive (a silent session is offered for recovery elsewhere) and re-activates an interrupted one.
 */
export class Heartbeat {
  private timer: ReturnType<typeof setInterval> | undefined;

  constructor(
    private readonly sessions: Sessions,
    private readonly progress: () => TakeProgress,
    /** Each beat's outcome: undefined when the server answered, else the error. */
    private readonly onBeat: (err?: unknown) => void,
  ) {}

  start(): void {
    if (this.timer) return;
    this.beat();
    this.timer = setInterval(() => this.beat(), HEARTBEAT_MS);
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  private beat(): void {
    const p = this.progress();
    if (!p.sessionId) return;
    this.sessions
      .heartbeat(p.sessionId, { durationMs: Math.round(p.durationMs), bytes: p.bytes })
      .then(() => this.onBeat(), this.onBeat);
  }

  /** A page restored from the back/forward cache: one beat re-activates the interrupted session. */
  beatOnce(): void {
    const p = this.progress();
    if (p.sessionId)
      void this.sessions
        .heartbeat(p.sessionId, { durationMs: Math.round(p.durationMs), bytes: p.bytes })
        .catch(() => undefined);
  }

  /** The page is going away mid-take: tell the server now (keepalive survives the unload). */
  interruptOnUnload(): void {
    const id = this.progress().sessionId;
    if (id)
      void this.sessions
        .interrupt(id, 'The page was closed during the take', { keepalive: true })
        .catch(() => undefined);
  }
}
