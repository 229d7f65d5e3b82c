-- squawk-ignore-file require-lock-timeout, require-statement-timeout
-- Why: the backfill runner sets lock_timeout and statement_timeout for every batch (its own short
-- transaction), from the directives below.
-- backfill:batch-size 1000
-- backfill:pause-ms 100
-- backfill:lock-timeout 1s
--
-- Sessions created before 0033 have device_info and settings but no browser, os, device_kind, quality. New
-- sessions get them from bowser and settings.quality (src/server/sessions/device.ts); a backfill cannot
-- import app code, so this reads the same user agent (device_info->>'userAgent') with the patterns below,
-- written to give bowser's names for the browsers that record (test/schema.analytics.test.ts compares the
-- two on real user agents), and settings->>'quality' when it is high, medium or low:
--   browser  Edg/EdgA/EdgiOS -> Microsoft Edge, OPR/Opera -> Opera, Firefox/FxiOS -> Firefox,
--            Chromium/ -> Chromium, Chrome/CriOS -> Chrome, Version/..Safari/ -> Safari
--   os       Windows, iPhone/iPad/iPod -> iOS, Android, CrOS -> Chrome OS, Mac OS X -> macOS, Linux
--   device   iPad or Tablet, or Android without Mobile -> tablet; Mobi/iPhone/iPod -> mobile; a known
--            os otherwise -> desktop
-- A user agent none of these name is refused with its reason (reported, never guessed) unless its quality
-- was filled; a row with neither a user agent nor a quality needs no work: it stays unknown.

-- The count: rows with a user agent or a quality and nothing filled yet, and the last key among them.
SELECT count(*) AS total, max(id) AS end_key
  FROM recording_sessions
 WHERE browser IS NULL AND os IS NULL AND device_kind IS NULL AND quality IS NULL
   AND (device_info ? 'userAgent' OR settings ? 'quality');

-- The batch: the next $2 keys after $1, read through the primary key; rows another transaction holds are
-- skipped (SKIP LOCKED) and returned as locked, for the runner to retry after the scan.
WITH slice AS MATERIALIZED (
  SELECT id FROM recording_sessions WHERE id > $1 ORDER BY id LIMIT $2
), mine AS MATERIALIZED (
  SELECT s.id, left(s.device_info->>'userAgent', 1000) AS ua,
         CASE WHEN s.settings->>'quality' IN ('high', 'medium', 'low') THEN s.settings->>'quality' END AS quality
    FROM recording_sessions s
   WHERE s.id = ANY (ARRAY(SELECT id FROM slice))
     AND s.browser IS NULL AND s.os IS NULL AND s.device_kind IS NULL AND s.quality IS NULL
     AND (s.device_info ? 'userAgent' OR s.settings ? 'quality')
   FOR UPDATE SKIP LOCKED
), todo AS MATERIALIZED (
  SELECT s.id FROM recording_sessions s
   WHERE s.id = ANY (ARRAY(SELECT id FROM slice))
     AND s.browser IS NULL AND s.os IS NULL AND s.device_kind IS NULL AND s.quality IS NULL
     AND (s.device_info ? 'userAgent' OR s.settings ? 'quality')
), named AS (
  SELECT m.id,
         CASE
           WHEN m.ua ~ 'Edg(e|A|iOS)?/' THEN 'Microsoft Edge'
           WHEN m.ua ~ 'OPR/|Opera' THEN 'Opera'
           WHEN m.ua ~ 'Firefox/|FxiOS/' THEN 'Firefox'
           WHEN m.ua ~ 'Chromium/' THEN 'Chromium'
           WHEN m.ua ~ 'Chrome/|CriOS/' THEN 'Chrome'
           WHEN m.ua ~ 'Version/[0-9.]+.*Safari/' THEN 'Safari'
         END AS browser,
         CASE
           WHEN m.ua ~ 'Windows' THEN 'Windows'
           WHEN m.ua ~ 'iPhone|iPad|iPod' THEN 'iOS'
           WHEN m.ua ~ 'Android' THEN 'Android'
           WHEN m.ua ~ 'CrOS' THEN 'Chrome OS'
           WHEN m.ua ~ 'Mac OS X|Macintosh' THEN 'macOS'
           WHEN m.ua ~ 'Linux' THEN 'Linux'
         END AS os,
         m.ua, m.quality
    FROM mine m
), kinds AS (
  SELECT n.*,
         CASE
           WHEN n.ua ~ 'iPad|Tablet' OR (n.ua ~ 'Android' AND n.ua !~ 'Mobi') THEN 'tablet'
           WHEN n.ua ~ 'Mobi|iPhone|iPod' THEN 'mobile'
           WHEN n.os IS NOT NULL THEN 'desktop'
         END AS device_kind
    FROM named n
), filled AS (
  UPDATE recording_sessions s
     SET browser = k.browser, os = k.os, device_kind = k.device_kind, quality = k.quality
    FROM kinds k
   WHERE s.id = k.id AND (k.browser IS NOT NULL OR k.os IS NOT NULL OR k.quality IS NOT NULL)
  RETURNING s.id
)
SELECT (SELECT max(id) FROM slice) AS last_key,
       (SELECT count(*) FROM filled) AS filled,
       (SELECT coalesce(jsonb_agg(jsonb_build_object('key', id, 'reason', 'no browser or system in its user agent')
                         ORDER BY id), '[]')
          FROM kinds WHERE browser IS NULL AND os IS NULL AND quality IS NULL) AS rejected,
       (SELECT coalesce(array_agg(id ORDER BY id), '{}') FROM todo WHERE id NOT IN (SELECT id FROM mine)) AS locked;
