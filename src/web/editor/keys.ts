/**
 * The editor's keyboard shortcuts: Ctrl/Cmd+Z undoes, Shift+Ctrl/Cmd+Z (and Ctrl+Y) redoes — except in a
 * text field, where the browser's own undo of the typing is what a person means.
 */
export type HistoryKey = 'undo' | 'redo' | null;

export interface KeyLike {
  key: string;
  ctrlKey: boolean;
  metaKey: boolean;
  shiftKey: boolean;
  altKey: boolean;
  target: EventTarget | null;
}

const TEXT_INPUTS = new Set(['text', 'search', 'email', 'url', 'password', 'number', 'tel']);

function inTextField(target: EventTarget | null): boolean {
  const el = target as { tagName?: string; type?: string; isContentEditable?: boolean } | null;
  if (!el?.tagName) return false;
  if (el.isContentEditable || el.tagName === 'TEXTAREA') return true;
  return el.tagName === 'INPUT' && TEXT_INPUTS.has(el.type ?? 'text');
}

export function historyKey(e: KeyLike): HistoryKey {
  if (!(e.ctrlKey || e.metaKey) || e.altKey || inTextField(e.target)) return null;
  const key = e.key.toLowerCase();
  if (key === 'z') return e.shiftKey ? 'redo' : 'undo';
  if (key === 'y' && e.ctrlKey && !e.shiftKey) return 'redo';
  return null;
}
