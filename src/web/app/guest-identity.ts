/**
 * What a link visitor's tab remembers, in sessionStorage (gone with the tab, never a cookie): the grant of
 * a password link, the name they comment under, and the key of each comment they wrote (the server stores
 * only its hash; the key is what lets them edit or delete it). Keyed by the link's token.
 */

export interface GuestState {
  name: string;
  /** commentId -> guestKey */
  keys: Record<string, string>;
  access: { value: string; expiresAt: string } | null;
}

const EMPTY: GuestState = { name: '', keys: {}, access: null };
const keyOf = (token: string) => `recorder.share.${token}`;

export class GuestIdentity {
  constructor(
    private readonly token: string,
    private readonly storage: Pick<Storage, 'getItem' | 'setItem'> | null = safeSessionStorage(),
  ) {}

  read(): GuestState {
    try {
      const raw = this.storage?.getItem(keyOf(this.token));
      if (!raw) return { ...EMPTY, keys: {} };
      const parsed = JSON.parse(raw) as Partial<GuestState>;
      return {
        name: typeof parsed.name === 'string' ? parsed.name : '',
        keys: parsed.keys && typeof parsed.keys === 'object' ? { ...parsed.keys } : {},
        access: parsed.access?.value ? parsed.access : null,
      };
    } catch {
      return { ...EMPTY, keys: {} }; // unreadable: start afresh rather than break the page
    }
  }

  private write(change: (s: GuestState) => void): void {
    const state = this.read();
    change(state);
    try {
      this.storage?.setItem(keyOf(this.token), JSON.stringify(state));
    } catch {
      // storage full or disabled: the page still works for this visit
    }
  }

  /** The grant while it is valid (12 h from unlocking); null once expired. */
  access(now: number = Date.now()): string | null {
    const a = this.read().access;
    return a && Date.parse(a.expiresAt) > now ? a.value : null;
  }

  saveAccess(value: string, expiresAt: string): void {
    this.write((s) => {
      s.access = { value, expiresAt };
    });
  }

  forgetAccess(): void {
    this.write((s) => {
      s.access = null;
    });
  }

  saveName(name: string): void {
    this.write((s) => {
      s.name = name;
    });
  }

  keyFor(commentId: string): string | undefined {
    return this.read().keys[commentId];
  }

  saveKey(commentId: string, guestKey: string): void {
    this.write((s) => {
      s.keys[commentId] = guestKey;
    });
  }
}

function safeSessionStorage(): Storage | null {
  try {
    return typeof sessionStorage === 'undefined' ? null : sessionStorage;
  } catch {
    return null; // a sandboxed frame throws on access
  }
}
