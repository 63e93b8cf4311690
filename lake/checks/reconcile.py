"""Reconciliation checks across tables: no document lost or invented between layers.

Unlike the per-table checks these need several tables at once, so they are plain functions (not
registered with `@check`) that take Polars frames and, like every check, return the offending
rows: an empty frame means the tables reconcile. The caller reads the tables (for instance one
subject and window at a time) and decides what a failure means.
"""

from __future__ import annotations

import hashlib

import polars as pl

DOC_KEY = ["subject_id", "doc_id"]


def document_keys(raw: pl.DataFrame) -> pl.DataFrame:
    """(subject_id, doc_id) of raw rows keyed as bronze keys them (lake.transforms.bronze._typed):
    the document's `_id`, else 'sha256:' + the hex SHA-256 of its JSON text.

    `raw` has subject_id, doc_id (nullable) and document. Only the rare documents without an
    `_id` are hashed, in Python, so millions of rows with ids cost nothing extra.
    """
    with_id = raw.filter(pl.col("doc_id").is_not_null()).select(DOC_KEY)
    without_id = raw.filter(pl.col("doc_id").is_null())
    digests = [hashlib.sha256(text.encode()).hexdigest() for text in without_id["document"]]
    hashed = without_id.select("subject_id", doc_id=pl.lit("sha256:") + pl.Series(digests, dtype=pl.String))
    return pl.concat([with_id, hashed])


def check_raw_in_bronze_or_quarantine(raw_keys: pl.DataFrame, bronze_keys: pl.DataFrame,
                                      quarantine_keys: pl.DataFrame) -> pl.DataFrame:
    """Documents that are not in exactly one of bronze and quarantine, or not in raw at all.

    Each frame holds (subject_id, doc_id) of ONE resource: `raw_keys` from the committed raw rows
    (see `document_keys`; a document fetched twice may appear twice), `bronze_keys` from its bronze
    table, `quarantine_keys` from bronze.quarantine filtered to that resource. Returns one row per
    offending key with in_raw, in_bronze and in_quarantine, sorted by key: a raw document that was
    dropped (in neither) or doubled (in both), or a bronze/quarantine row no committed raw
    document explains.
    """
    def flagged(keys: pl.DataFrame, name: str) -> pl.DataFrame:
        return keys.select(DOC_KEY).unique().with_columns(pl.lit(True).alias(name))

    joined = (flagged(raw_keys, "in_raw")
              .join(flagged(bronze_keys, "in_bronze"), on=DOC_KEY, how="full", coalesce=True)
              .join(flagged(quarantine_keys, "in_quarantine"), on=DOC_KEY, how="full", coalesce=True)
              .with_columns(pl.col("in_raw", "in_bronze", "in_quarantine").fill_null(False)))
    offending = ~pl.col("in_raw") | (pl.col("in_bronze") == pl.col("in_quarantine"))
    return joined.filter(offending).sort(DOC_KEY)


def check_silver_readings_from_bronze(silver: pl.DataFrame, bronze_entries: pl.DataFrame) -> pl.DataFrame:
    """Rows of silver.glucose_readings whose (subject_id, doc_id) is not in bronze.entries: a
    reading without a source document (a null doc_id never matches)."""
    return silver.join(bronze_entries.select(DOC_KEY).unique(), on=DOC_KEY, how="anti", maintain_order="left")
