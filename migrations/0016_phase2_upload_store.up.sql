-- squawk-ignore-file require-lock-timeout, require-statement-timeout
-- Why: the engine sets lock_timeout for every file (MIGRATION_LOCK_TIMEOUT) and retries on timeout; a
-- statement_timeout would cut legitimate long work such as index builds.
-- Uploads stream straight into the storage that will hold the recording (issue 8), and any app server
-- can continue an upload another one started, so everything about an unfinished upload lives here:
--  storage_provider/bucket/region/key  where its bytes go; the key is final (the recording's own), so
--                      finishing is a rename or a CompleteMultipartUpload, never a copy
--  reserved_recording_id  the recording id the key is made from, reserved when the upload is created
--  media_type          the sniffed type once enough bytes arrived (NULL: not decided yet)
--  hash_state          SHA-256 state after upload_offset bytes (hash-wasm's saved state), so the
--                      object's digest is known at the end without reading the bytes again; NULL after a
--                      request hashed natively (local provider, from the first byte): see sha256
--  sha256              the digest of the whole upload, once its last byte is committed
--  multipart_id        the S3 UploadId (s3 only, created with the first part)
--  lock_token/lock_expires_at/release_requested_at  a lease: one request at a time per upload across
--                      servers; a killed server's lease expires, a waiting request asks the holder to let go
--  error               why the upload was refused (a 415), said again to a client that asks later
-- uploads may hold rows: nullable columns without defaults are catalog-only changes.
ALTER TABLE uploads
  ADD COLUMN storage_provider text,
  ADD COLUMN storage_bucket text,
  ADD COLUMN storage_region text,
  ADD COLUMN storage_key text,
  ADD COLUMN reserved_recording_id bigint,
  ADD COLUMN media_type text,
  ADD COLUMN hash_state bytea,
  ADD COLUMN sha256 text,
  ADD COLUMN multipart_id text,
  ADD COLUMN lock_token uuid,
  ADD COLUMN lock_expires_at timestamptz,
  ADD COLUMN release_requested_at timestamptz,
  ADD COLUMN error text;

-- The S3 parts an upload has stored, in order; CompleteMultipartUpload lists them from here (s3rver and
-- several S3 clones have no ListParts, and a list from S3 cannot tell a part we committed from one a
-- crash left half-recorded).
CREATE TABLE upload_parts (
  upload_id text NOT NULL,
  part_number bigint NOT NULL,
  etag text NOT NULL,
  size bigint NOT NULL,
  CONSTRAINT pk_upload_parts PRIMARY KEY (upload_id, part_number),
  CONSTRAINT fk_upload_parts_upload FOREIGN KEY (upload_id) REFERENCES uploads (id) ON DELETE CASCADE,
  CONSTRAINT chk_upload_part_number CHECK (part_number BETWEEN 1 AND 10000),
  CONSTRAINT chk_upload_part_size CHECK (size > 0)
);

-- Bytes received but not yet in a part: S3 takes parts of at least 5 MiB, and a live recording sends
-- slices of a few KB. They wait here, acknowledged and durable, until they fill a part or end the upload.
CREATE TABLE upload_chunks (
  upload_id text NOT NULL,
  start_offset bigint NOT NULL,
  bytes bytea NOT NULL,
  CONSTRAINT pk_upload_chunks PRIMARY KEY (upload_id, start_offset),
  CONSTRAINT fk_upload_chunks_upload FOREIGN KEY (upload_id) REFERENCES uploads (id) ON DELETE CASCADE,
  CONSTRAINT chk_upload_chunk_offset CHECK (start_offset >= 0)
);
