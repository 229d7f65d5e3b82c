/**
 * Every storage this server can reach, found by the location a row records (storage_provider,
 * storage_bucket, storage_region). Reads, deletes, processing and the storage migration ask the registry
 * for the storage that holds a row's objects; only new uploads go to `primary` (STORAGE_PROVIDER).
 *
 * This file is the contract between the storage work of issue 10 (reads follow the row; the migration
 * job): the interface is fixed, the implementation lands with the multi-provider configuration.
 */
import type { Storage, StorageProviderName } from './storage.js';

/** Where a row says its objects are. bucket/region are null for local. */
export interface StorageLocation {
  provider: StorageProviderName;
  bucket: string | null;
  region: string | null;
}

/** A row names a provider or bucket this server has no settings for (503 STORAGE_NOT_CONFIGURED). */
export class StorageNotConfiguredError extends Error {
  constructor(readonly location: StorageLocation) {
    const where = location.bucket ? `${location.provider} bucket "${location.bucket}"` : location.provider;
    super(`no storage configured for ${where}`);
    this.name = 'StorageNotConfiguredError';
  }
}

export interface StorageRegistry {
  /** Where new uploads go: STORAGE_PROVIDER. */
  readonly primary: Storage;
  /** The configured storage of this provider (local always; s3 when its settings are given). */
  byProvider(provider: StorageProviderName): Storage | undefined;
  /**
   * The storage holding objects at this location. Throws StorageNotConfiguredError when the provider is
   * not configured, or the row's bucket is not the configured one (a recording left in an old bucket).
   */
  forLocation(location: StorageLocation): Storage;
  /** Every configured storage, primary first. */
  all(): Storage[];
}
