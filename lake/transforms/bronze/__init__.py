"""Bronze: typed, snake_case, one row per source document, deduplicated on (subject_id, doc_id).

Every bronze table reads the committed rows of its raw table; documents that cannot be typed go to
bronze.quarantine with the reason instead (bronze + quarantine = raw, checked by lake.checks).
"""
