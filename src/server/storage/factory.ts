/** The Storage the configuration asks for. No I/O here: local creates its directories on first write. */
import type { Config } from '../config.js';
import type { Logger } from '../logger.js';
import { LocalStorage } from './local.js';
import { S3Storage } from './s3.js';
import type { Storage } from './storage.js';

export function createStorage(config: Pick<Config, 'storage'>, logger?: Logger): Storage {
  const c = config.storage;
  switch (c.provider) {
    case 'local':
      return new LocalStorage({ dir: c.dir, cdnBaseUrl: c.cdnBaseUrl });
    case 's3':
      return new S3Storage({ ...c, logger });
  }
}
