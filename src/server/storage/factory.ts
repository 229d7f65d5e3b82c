/**
 * Every storage the configuration names, as a StorageRegistry (registry.ts): local always, s3 when
 * S3_BUCKET is set; the primary (STORAGE_PROVIDER) is where new uploads go. No I/O here: local creates
 * its directories on first write, and the S3 client connects on its first request.
 */
import type { Config, StorageProviderName } from '../config.js';
import type { Logger } from '../logger.js';
import { LocalStorage } from './local.js';
import { type StorageLocation, StorageNotConfiguredError, type StorageRegistry } from './registry.js';
import { S3Storage } from './s3.js';
import type { Storage } from './storage.js';

/**
 * A row's location names a storage by provider and, for s3, bucket. The region is not compared: a
 * bucket name identifies the bucket at its endpoint, and a corrected S3_REGION must not make every row
 * written under the old value unreadable. An s3 row without a bucket (written before the column was
 * filled) is taken to be in the configured bucket, the only one it can be read from.
 */
class ConfiguredStorages implements StorageRegistry {
  constructor(
    readonly primary: Storage,
    private readonly others: Storage[],
  ) {}

  byProvider(provider: StorageProviderName): Storage | undefined {
    return this.all().find((storage) => storage.provider === provider);
  }

  forLocation(location: StorageLocation): Storage {
    const storage = this.byProvider(location.provider);
    if (!storage) throw new StorageNotConfiguredError(location);
    if (storage.provider === 's3' && location.bucket !== null && location.bucket !== storage.bucket) {
      throw new StorageNotConfiguredError(location);
    }
    return storage;
  }

  all(): Storage[] {
    return [this.primary, ...this.others];
  }
}

/**
 * The registry of every configured storage. The CDN fronts the primary storage only, so only the
 * primary's publicUrl names it (media-urls.ts signs it before any client sees it).
 */
export function createStorageRegistry(config: Pick<Config, 'storage'>, logger?: Logger): StorageRegistry {
  const { primary, local, s3, cdn } = config.storage;
  const cdnFor = (provider: StorageProviderName) => (provider === primary ? cdn?.baseUrl : undefined);
  const localStorage = new LocalStorage({ dir: local.dir, cdnBaseUrl: cdnFor('local') });
  const s3Storage = s3 ? new S3Storage({ ...s3, cdnBaseUrl: cdnFor('s3'), logger }) : undefined;
  const chosen = primary === 's3' ? s3Storage : localStorage;
  // config.ts refuses STORAGE_PROVIDER=s3 without S3_BUCKET; this only guards a hand-built config
  if (!chosen) throw new Error(`STORAGE_PROVIDER=${primary}, but that storage has no settings`);
  const others = [localStorage, s3Storage].filter((storage) => storage !== undefined && storage !== chosen);
  return new ConfiguredStorages(chosen, others as Storage[]);
}

/**
 * A registry, as it is or made of one storage (tests and tools that hand in a single Storage): a row
 * elsewhere is then StorageNotConfiguredError, as on a server configured with that storage alone.
 */
export function asRegistry(storages: Storage | StorageRegistry): StorageRegistry {
  return 'forLocation' in storages ? storages : new ConfiguredStorages(storages, []);
}

/** The location a storage's rows record: what uploads write into storage_provider/_bucket/_region. */
export function locationOf(storage: Storage): StorageLocation {
  return { provider: storage.provider, bucket: storage.bucket ?? null, region: storage.region ?? null };
}
