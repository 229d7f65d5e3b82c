/** Share links' services over one database, as server.ts and the tests build them. */
import type { Kysely } from 'kysely';
import { type Clock, systemClock } from '../clock.js';
import type { DB } from '../db/schema.js';
import { type SharedRecordings, ShareVisitsService } from './share-visits.service.js';
import { SharesRepository } from './shares.repository.js';
import { SharesService } from './shares.service.js';

export function createShares(db: Kysely<DB>, recordings: SharedRecordings, clock: Clock = systemClock) {
  const repo = new SharesRepository(db);
  const shares = new SharesService(repo, clock);
  return { shares, visits: new ShareVisitsService(shares, repo, recordings, clock) };
}
