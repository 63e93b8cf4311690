"""Silver: cleaned and conformed tables, read only from bronze.

Local time comes from each record's `utc_offset_min` (the uploader's offset at that moment);
a missing offset is taken as 0 (local = UTC) and flagged by `utc_offset_missing`.
"""
