/**
 * The one way browser code talks to the Recorder API: same origin, cookie auth (credentials 'include'),
 * JSON in and out, and every failure as an ApiError carrying the server's machine-readable `code`.
 *
 * A request that never got an answer (offline, server down, connection reset) is status 0, code
 * 'NETWORK': callers that must not lose data (the take manager) treat it as "retry later", never as
 * "the server said no".
 */

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
    this.name = 'ApiError';
  }

  /** No answer at all, or an answer that says "try again later": the request may succeed if repeated. */
  get transient(): boolean {
    return this.status === 0 || this.status === 408 || this.status === 429 || this.status >= 500;
  }
}

export interface ApiClientOptions {
  /** '' (default) = the page's own origin. Node tests pass the test server's URL. */
  baseUrl?: string;
  /** Node tests pass a fetch that adds the session cookie and Origin headers. */
  fetchImpl?: typeof fetch;
}

export interface RequestOptions {
  /** Survives the page being unloaded (pagehide): the browser sends it even as the tab closes. */
  keepalive?: boolean;
  signal?: AbortSignal;
  headers?: Record<string, string>;
}

export class ApiClient {
  readonly baseUrl: string;
  private readonly fetchImpl: typeof fetch;

  constructor(o: ApiClientOptions = {}) {
    this.baseUrl = (o.baseUrl ?? '').replace(/\/+$/, '');
    // Bound: window.fetch called with another `this` throws "Illegal invocation".
    this.fetchImpl = o.fetchImpl ?? ((input, init) => globalThis.fetch(input, init));
  }

  /** An absolute URL for a path (tus-js-client resolves the upload's Location against it). */
  absolute(path: string): string {
    if (this.baseUrl) return this.baseUrl + path;
    const origin = typeof location !== 'undefined' ? location.origin : '';
    return origin + path;
  }

  async request<T>(method: string, path: string, body?: unknown, opts: RequestOptions = {}): Promise<T> {
    const init: RequestInit = {
      method,
      credentials: 'include',
      headers: {
        accept: 'application/json',
        ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
        ...opts.headers,
      },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      ...(opts.keepalive ? { keepalive: true } : {}),
      ...(opts.signal ? { signal: opts.signal } : {}),
    };
    let res: Response;
    try {
      res = await this.fetchImpl(this.baseUrl + path, init);
    } catch (err) {
      if ((err as Error)?.name === 'AbortError') throw err;
      throw new ApiError(0, 'NETWORK', `The server could not be reached (${(err as Error)?.message ?? String(err)})`);
    }
    const text = await res.text().catch(() => '');
    let json: unknown;
    if (text) {
      try {
        json = JSON.parse(text);
      } catch {
        json = undefined;
      }
    }
    if (!res.ok) {
      const b = (json ?? {}) as { code?: unknown; message?: unknown; details?: unknown; errors?: unknown };
      const code = typeof b.code === 'string' ? b.code : `HTTP_${res.status}`;
      const message = typeof b.message === 'string' ? b.message : `${method} ${path} failed with HTTP ${res.status}`;
      throw new ApiError(res.status, code, message, b.details ?? b.errors);
    }
    return json as T;
  }
}

let defaultClient = new ApiClient();

/** Points the module-level api() elsewhere (tests, or an app served under another origin). */
export function configureApi(o: ApiClientOptions): ApiClient {
  defaultClient = new ApiClient(o);
  return defaultClient;
}

export function apiClient(): ApiClient {
  return defaultClient;
}

export function api<T>(method: string, path: string, body?: unknown): Promise<T> {
  return defaultClient.request<T>(method, path, body);
}
