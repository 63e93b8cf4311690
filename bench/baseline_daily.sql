-- The plain-DuckDB baseline of bench.build_gold: gold.daily_glucose's contract columns from the raw
-- entries documents, in one hand-written statement. It applies the same rules as the project's
-- bronze, silver and gold layers (DESIGN; nightscout-api.md §6; R iglu's active_percent), so both
-- sides compute the same numbers: the bench compares them day by day after each run.
CREATE TABLE lake.gold.daily_glucose AS
WITH fields AS (
    -- one parse of each document: every field's text ('null' for a JSON null)
    SELECT subject_id, window_day, document,
           json_extract_string(document, ['$._id', '$.date', '$.sysTime', '$.dateString', '$.type', '$.sgv',
                                          '$.device', '$.utcOffset']) AS f
    FROM lake.raw.entries
), typed AS (
    SELECT subject_id, window_day,
           coalesce(nullif(f[1], 'null'), 'sha256:' || sha256(document)) AS doc_id,
           try_cast(nullif(f[2], 'null') AS DOUBLE) AS date_value,
           nullif(f[3], 'null') AS sys_time, nullif(f[4], 'null') AS date_string,
           nullif(f[5], 'null') AS entry_type, try_cast(nullif(f[6], 'null') AS DOUBLE) AS sgv,
           coalesce(nullif(f[7], 'null'), 'unknown') AS device,
           CAST(try_cast(nullif(f[8], 'null') AS DOUBLE) AS INTEGER) AS utc_offset_min,
           starts_with(ltrim(document), '{') AS is_object
    FROM fields
), timed AS (
    -- the trust order: a plausible epoch `date` (ms, or seconds), then sysTime, then dateString
    SELECT *, coalesce(
        CASE WHEN date_value >= 946684800000 AND date_value < 4102444800000 THEN epoch_ms(CAST(round(date_value) AS BIGINT))
             WHEN date_value >= 946684800 AND date_value < 4102444800 THEN epoch_ms(CAST(round(date_value * 1000) AS BIGINT)) END,
        timezone('UTC', try_cast(sys_time AS TIMESTAMPTZ)),
        timezone('UTC', try_cast(date_string AS TIMESTAMPTZ))) AS reading_ts
    FROM typed
), documents AS (
    -- one row per document; documents without an _id are keyed by their content
    SELECT DISTINCT ON (subject_id, doc_id) * FROM timed
    WHERE is_object AND reading_ts >= TIMESTAMP '2000-01-01'
), sensor AS (
    -- sensor glucose; below 39 are CGM error codes, not glucose
    SELECT subject_id, window_day, doc_id, device, sgv AS g, reading_ts, epoch(reading_ts) AS epoch_s,
           reading_ts + to_minutes(coalesce(utc_offset_min, 0)) AS local_ts
    FROM documents
    WHERE (entry_type = 'sgv' OR (entry_type IS NULL AND sgv IS NOT NULL)) AND sgv >= 39
), uploaded_once AS (
    -- a re-upload: the same device within 30 s of its previous reading
    SELECT * FROM sensor
    QUALIFY lag(epoch_s) OVER (PARTITION BY subject_id, device ORDER BY epoch_s, doc_id) IS NULL
         OR epoch_s - lag(epoch_s) OVER (PARTITION BY subject_id, device ORDER BY epoch_s, doc_id) > 30
), ranked AS (
    -- each UTC day's devices by number of readings (the primary first, ties by name), as one
    -- number: lower is better, comparable across days (then by name)
    SELECT subject_id, window_day, device,
           (row_number() OVER (PARTITION BY subject_id, window_day ORDER BY count(*) DESC, device) - 1)
           * 10000 + dense_rank() OVER (PARTITION BY subject_id ORDER BY device) AS priority
    FROM uploaded_once GROUP BY subject_id, window_day, device
), by_device AS (
    -- the primary's readings are kept without a look, except within 150 s of a UTC midnight
    SELECT u.*, r.priority, CAST(floor(epoch_s / 300) AS BIGINT) AS bucket,  -- (// divides a DOUBLE exactly)
           r.priority >= 10000 OR epoch_s % 86400 < 150 OR epoch_s % 86400 > 86250 AS contested
    FROM uploaded_once u JOIN ranked r USING (subject_id, window_day, device)
), readings AS (
    SELECT * EXCLUDE (priority, bucket, contested) FROM by_device WHERE NOT contested
    UNION ALL
    -- any other reading only where no better-ranked device has one within 150 s either side
    SELECT * EXCLUDE (priority, bucket, contested) FROM by_device o
    WHERE contested
      AND NOT EXISTS (SELECT 1 FROM by_device b WHERE b.subject_id = o.subject_id AND b.bucket = o.bucket - 1
                      AND b.device <> o.device AND b.priority < o.priority
                      AND abs(b.epoch_s - o.epoch_s) <= 150)
      AND NOT EXISTS (SELECT 1 FROM by_device b WHERE b.subject_id = o.subject_id AND b.bucket = o.bucket
                      AND b.device <> o.device AND b.priority < o.priority
                      AND abs(b.epoch_s - o.epoch_s) <= 150)
      AND NOT EXISTS (SELECT 1 FROM by_device b WHERE b.subject_id = o.subject_id AND b.bucket = o.bucket + 1
                      AND b.device <> o.device AND b.priority < o.priority
                      AND abs(b.epoch_s - o.epoch_s) <= 150)
), times AS (
    -- R iglu's active_percent on each local day's distinct reading times (round_even: R's round)
    SELECT DISTINCT subject_id, CAST(local_ts AS DATE) AS day, local_ts FROM readings
), gaps AS (
    SELECT subject_id, day, epoch_us(local_ts) AS us,
           (epoch_us(local_ts) - lag(epoch_us(local_ts)) OVER (PARTITION BY subject_id, day ORDER BY local_ts)) / 60e6 AS gap_min
    FROM times
), cadence AS (
    SELECT subject_id, day, count(*) AS n_times, round_even(median(gap_min), 0) AS dt0,
           (max(us) - min(us)) / 60e6 AS span_min
    FROM gaps GROUP BY ALL
), active AS (
    SELECT subject_id, day,
           CASE WHEN n_times >= 2 AND dt0 > 0 THEN 100 * (expected - missing) / expected END AS active_pct
    FROM (
        SELECT subject_id, day, n_times, dt0, round_even(round_even(span_min, 0) / dt0, 0) + 1 AS expected,
               round_even((coalesce(sum(gap_min) FILTER (round_even(gap_min, 0) > dt0), 0)
                           - count(*) FILTER (round_even(gap_min, 0) > dt0) * dt0) / dt0, 0) AS missing
        FROM cadence JOIN gaps USING (subject_id, day)
        GROUP BY subject_id, day, n_times, dt0, span_min)
), daily AS (
    SELECT subject_id, CAST(local_ts AS DATE) AS day, count(g) AS n_readings, avg(g) AS mean_mg_dl,
           stddev_samp(g) AS sd_mg_dl, 100 * stddev_samp(g) / avg(g) AS cv_pct, 3.31 + 0.02392 * avg(g) AS gmi_pct,
           100 * avg(CAST(g < 54 AS DOUBLE)) AS pct_below_54, 100 * avg(CAST(g < 70 AS DOUBLE)) AS pct_below_70,
           100 * avg(CAST(g BETWEEN 70 AND 180 AS DOUBLE)) AS pct_70_180,
           100 * avg(CAST(g > 180 AS DOUBLE)) AS pct_above_180, 100 * avg(CAST(g > 250 AS DOUBLE)) AS pct_above_250,
           min(g) AS min_mg_dl, max(g) AS max_mg_dl,
           22.77 * sum(CASE WHEN g < 112.5 THEN least(pow(ln(g), 1.084) - 5.381, 0) ^ 2 ELSE 0 END) / count(g) AS lbgi,
           22.77 * sum(CASE WHEN g >= 112.5 THEN greatest(pow(ln(g), 1.084) - 5.381, 0) ^ 2 ELSE 0 END) / count(g) AS hbgi
    FROM readings GROUP BY ALL
)
SELECT d.subject_id, d.day, n_readings, active_pct, mean_mg_dl, sd_mg_dl, cv_pct, gmi_pct, pct_below_54,
       pct_below_70, pct_70_180, pct_above_180, pct_above_250, min_mg_dl, max_mg_dl, lbgi, hbgi
FROM daily d LEFT JOIN active a USING (subject_id, day)
