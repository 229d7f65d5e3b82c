/** The upload sink for the configured storage: bytes go where the recording will keep them. */
import type { Logger } from '../logger.js';
import { LocalStorage } from '../storage/local.js';
import { S3Storage } from '../storage/s3.js';
import type { Storage } from '../storage/storage.js';
import { LocalUploadSink } from './local-sink.js';
import { S3UploadSink } from './s3-sink.js';
import type { Sinks } from './upload-sink.js';
import type { UploadsRepository } from './uploads.repository.js';

export function createSinks(storage: Storage, repo: UploadsRepository, logger?: Logger, s3PartSize?: number): Sinks {
  if (storage instanceof LocalStorage) return { local: new LocalUploadSink(storage, repo) };
  if (storage instanceof S3Storage) return { s3: new S3UploadSink(storage, repo, s3PartSize, logger) };
  throw new Error(`no upload sink for storage provider ${storage.provider}`);
}
