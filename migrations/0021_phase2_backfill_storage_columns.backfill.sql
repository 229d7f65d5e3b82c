-- squawk-ignore-file require-lock-timeout, require-statement-timeout
-- Why: the backfill runner sets lock_timeout and statement_timeout for every batch (its own short
-- transaction), from the directives below.
-- backfill:batch-size 1000
-- backfill:pause-ms 100
-- backfill:lock-timeout 1s
--
-- Rows created before Phase 2 carry only storage_url; this fills storage_provider, storage_key,
-- storage_bucket and storage_region from it, for rows that have no storage_key yet. The URL shapes read
-- (anything else is refused and reported, never guessed):
--   local  file:///<any dir>/media/<key>, file://localhost/<...>/media/<key>, /<any dir>/media/<key>
--          (the key is what follows the last "/media/": DATA_DIR/media held the objects)
--   s3     s3://<bucket>/<key>                                      region unknown: left NULL
--          https://<bucket>.s3.<region>.amazonaws.com/<key>          (also s3-<region>)
--          https://<bucket>.s3.amazonaws.com/<key>                   region unknown: left NULL
--          https://s3.<region>.amazonaws.com/<bucket>/<key>          (also s3-<region>, http)
--          https://s3.amazonaws.com/<bucket>/<key>                   region unknown: left NULL
-- A key must be a key our storage accepts (src/server/storage/keys.ts: segments of A-Z a-z 0-9 _ - .,
-- none starting with ".", at most 1024 characters): a percent-encoded, query-carrying or climbing URL
-- is refused. A key another recording holds already (idx_recordings_storage_key is unique) is refused
-- too; of two old rows with the same URL, the lower id keeps it, whatever the batches.

-- The count: how many rows need work and the last key among them (the scan ends there: rows written
-- since Phase 2 carry their storage columns).
SELECT count(*) AS total, max(id) AS end_key
  FROM recordings
 WHERE storage_key IS NULL AND storage_url IS NOT NULL;

-- The batch: the next $2 keys (the batch size) after $1 (the cursor: the last key done), set-based.
-- Rows another transaction holds are skipped (SKIP LOCKED) and returned as locked: the runner retries
-- them after the scan, so the backfill never waits on a writer and no writer waits on more than one
-- batch's rows.
-- Every step reads recordings through its primary key (a range, then = ANY of the ids): a batch costs
-- the same on a table of a thousand rows or of a billion.
WITH slice AS MATERIALIZED (
  SELECT id, storage_key, storage_url FROM recordings WHERE id > $1 ORDER BY id LIMIT $2
), todo AS MATERIALIZED (
  SELECT id FROM slice WHERE storage_key IS NULL AND storage_url IS NOT NULL
), mine AS MATERIALIZED (
  SELECT r.id, r.storage_url FROM recordings r
   WHERE r.id = ANY (ARRAY(SELECT id FROM todo)) AND r.storage_key IS NULL AND r.storage_url IS NOT NULL
   FOR UPDATE SKIP LOCKED
), shapes AS (
  -- What follows the last "/media/" (split_part of the reversed string: no backtracking regex).
  SELECT m.id, 'local' AS provider, NULL::text AS bucket, NULL::text AS region,
         reverse(split_part(reverse(m.storage_url), '/aidem/', 1)) AS key
    FROM mine m
   WHERE m.storage_url ~ '^(file://(localhost)?)?/' AND strpos(m.storage_url, '/media/') > 0
  UNION ALL
  SELECT m.id, 's3', x[1], NULL::text, x[2]
    FROM (SELECT * FROM mine WHERE storage_url LIKE 's3://%') m,
         regexp_match(m.storage_url, '^s3://([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])/(.+)$') x
   WHERE x IS NOT NULL
  UNION ALL
  SELECT m.id, 's3', x[1], x[2], x[3]
    FROM (SELECT * FROM mine WHERE storage_url LIKE 'http%.amazonaws.com/%') m, regexp_match(
      m.storage_url,
      '^https?://([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])\.s3[.-]([a-z]{2}(?:-[a-z]+)+-[0-9]+)\.amazonaws\.com/(.+)$'
    ) x
   WHERE x IS NOT NULL
  UNION ALL
  SELECT m.id, 's3', x[1], NULL::text, x[2]
    FROM (SELECT * FROM mine WHERE storage_url LIKE 'http%.amazonaws.com/%') m,
         regexp_match(m.storage_url, '^https?://([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])\.s3\.amazonaws\.com/(.+)$') x
   WHERE x IS NOT NULL
  UNION ALL
  SELECT m.id, 's3', x[2], x[1], x[3]
    FROM (SELECT * FROM mine WHERE storage_url LIKE 'http%.amazonaws.com/%') m, regexp_match(
      m.storage_url,
      '^https?://s3[.-]([a-z]{2}(?:-[a-z]+)+-[0-9]+)\.amazonaws\.com/([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])/(.+)$'
    ) x
   WHERE x IS NOT NULL
  UNION ALL
  SELECT m.id, 's3', x[1], NULL::text, x[2]
    FROM (SELECT * FROM mine WHERE storage_url LIKE 'http%.amazonaws.com/%') m,
         regexp_match(m.storage_url, '^https?://s3\.amazonaws\.com/([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])/(.+)$') x
   WHERE x IS NOT NULL
), counted AS (
  SELECT s.*, count(*) OVER (PARTITION BY s.id) AS matches FROM shapes s
), parsed AS (
  -- Exactly one shape, and a key our storage accepts; anything else is refused.
  SELECT m.id, s.provider, s.bucket, s.region, s.key
    FROM mine m
    LEFT JOIN counted s ON s.id = m.id
     AND s.matches = 1
     AND s.key ~ '^[A-Za-z0-9_-][A-Za-z0-9._-]*(/[A-Za-z0-9_-][A-Za-z0-9._-]*)*$'
     AND length(s.key) <= 1024
), ranked AS (
  SELECT p.*,
         row_number() OVER (PARTITION BY p.key ORDER BY p.id) AS nth,
         (SELECT min(o.id) FROM recordings o WHERE o.storage_key = p.key) AS holder
    FROM parsed p
   WHERE p.key IS NOT NULL
), filled AS (
  UPDATE recordings r
     SET storage_provider = q.provider, storage_key = q.key, storage_bucket = q.bucket, storage_region = q.region
    FROM ranked q
   WHERE r.id = q.id AND q.nth = 1 AND q.holder IS NULL
  RETURNING r.id
), rejected AS (
  SELECT p.id, 'storage_url is not a local path or an s3 URL this backfill reads' AS reason
    FROM parsed p WHERE p.key IS NULL
  UNION ALL
  SELECT q.id, 'its key is held by recording ' || coalesce(q.holder, (
    SELECT min(o.id) FROM ranked o WHERE o.key = q.key
  )) AS reason
    FROM ranked q WHERE q.nth > 1 OR q.holder IS NOT NULL
)
SELECT (SELECT max(id) FROM slice) AS last_key,
       (SELECT count(*) FROM filled) AS filled,
       (SELECT coalesce(jsonb_agg(jsonb_build_object('key', id, 'reason', reason) ORDER BY id), '[]') FROM rejected)
         AS rejected,
       (SELECT coalesce(array_agg(id ORDER BY id), '{}') FROM todo WHERE id NOT IN (SELECT id FROM mine)) AS locked;
