/**
 * The upload sinks: one per configured storage, so bytes go where the recording will keep them. New
 * uploads are created in the primary storage (UploadsService); an upload begun before STORAGE_PROVIDER
 * changed still finishes in the storage its row names.
 */
import type { Logger } from '../logger.js';
import { asRegistry } from '../storage/factory.js';
import { LocalStorage } from '../storage/local.js';
import type { StorageRegistry } from '../storage/registry.js';
import { S3Storage } from '../storage/s3.js';
import type { Storage } from '../storage/storage.js';
import { LocalUploadSink } from './local-sink.js';
import { S3UploadSink } from './s3-sink.js';
import type { Sinks } from './upload-sink.js';
import type { UploadsRepository } from './uploads.repository.js';

export function createSinks(
  storages: StorageRegistry | Storage,
  repo: UploadsRepository,
  logger?: Logger,
  s3PartSize?: number,
): Sinks {
  const sinks: Sinks = {};
  for (const storage of asRegistry(storages).all()) {
    if (storage instanceof LocalStorage) sinks.local = new LocalUploadSink(storage, repo);
    else if (storage instanceof S3Storage) sinks.s3 = new S3UploadSink(storage, repo, s3PartSize, logger);
    else throw new Error(`no upload sink for storage provider ${storage.provider}`);
  }
  return sinks;
}
