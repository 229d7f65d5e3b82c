/**
 * sha256 of a legacy item's bytes, the way the rest of the app hashes takes (@noble/hashes, incremental):
 * a Blob is read a slice at a time, so a take of gigabytes never sits in one ArrayBuffer.
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { toHex } from './live-take.ts';
import type { TakeStore } from './take-store.ts';

const SLICE = 4 * 1024 * 1024;

export function sha256Hex(bytes: Uint8Array): string {
  return toHex(sha256(bytes));
}

/** Hashes a Blob slice by slice; `onBytes` reports how far it got (for the "checking" progress). */
export async function sha256OfBlob(blob: Blob, onBytes?: (done: number) => void): Promise<string> {
  const h = sha256.create();
  for (let at = 0; at < blob.size; at += SLICE) {
    const part = new Uint8Array(await blob.slice(at, Math.min(blob.size, at + SLICE)).arrayBuffer());
    h.update(part);
    onBytes?.(at + part.byteLength);
  }
  return toHex(h.digest());
}

/** A take's bytes hashed chunk by chunk from IndexedDB (live-take.ts's digest, without a live take). */
export async function sha256OfTake(store: TakeStore, takeId: string): Promise<string> {
  const h = sha256.create();
  await store.forEachChunk(takeId, (b) => h.update(b));
  return toHex(h.digest());
}
