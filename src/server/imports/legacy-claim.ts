/**
 * Claim-or-already: the one step that decides, inside the transaction that would insert an imported
 * recording, whether this attempt makes it. Shared by the tus finish (uploads.service.ts) and the CLI's
 * importFile (imports.service.ts), so both paths give the same answer for the same key.
 *
 * The claim is an INSERT of the 'imported' item ON CONFLICT DO NOTHING on the legacy key's unique index:
 * a concurrent claimer waits for ours to commit (then finds the key taken) or to roll back (then takes
 * it), so exactly one recording per key exists whatever the interleaving, and a crash before the commit
 * leaves no claim behind.
 */
import type { Kysely } from 'kysely';
import type { DB } from '../db/schema.js';
import { ImportsRepository, type KeyedItem } from './imports.repository.js';

export const DELETED_SINCE = 'imported before, deleted since';

export type ClaimOutcome =
  | { outcome: 'imported'; recordingId: string }
  /** recordingId null: the key's recording was deleted since; it is not brought back. */
  | { outcome: 'already'; recordingId: string | null };

export type ClaimItem = Omit<KeyedItem, 'recordingId'>;

/**
 * In `tx`: claims the key and calls insertRecording (which inserts recording `recordingId`), or records
 * 'already' pointing at the recording that holds the key. The import is touched either way.
 */
export async function claimOrAlready(
  tx: Kysely<DB>,
  item: ClaimItem,
  recordingId: string,
  insertRecording: () => Promise<void>,
): Promise<ClaimOutcome> {
  const imports = new ImportsRepository(tx);
  await imports.touch(item.importId);
  const itemId = await imports.claim(item);
  if (itemId) {
    await insertRecording();
    await imports.setRecording(itemId, recordingId);
    return { outcome: 'imported', recordingId };
  }
  const [holder] = await imports.claimed(item.userId, [item]);
  const existing = holder?.recordingId ?? null;
  // the same item twice in one import (two tabs of it) counts once: as the 'imported' it already is
  if (holder?.importId !== item.importId) {
    await imports.recordAlready([{ ...item, recordingId: existing, message: existing ? null : DELETED_SINCE }]);
  }
  return { outcome: 'already', recordingId: existing };
}
