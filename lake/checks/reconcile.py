"""Reconciliation checks across tables: no document lost or invented between layers.

The comparisons are plain Polars functions of the tables' keys that, like every check, return
the offending rows (empty: the tables reconcile). Two are registered, each with the task whose
table completes the picture, so they run inside its publishing transaction like any hard check:
  - bronze.quarantine (built after the other bronze tables of the same partitions): every
    committed raw document of the rebuilt partitions is in exactly one of its bronze table and
    the quarantine;
  - silver.glucose_readings: every reading comes from a bronze.entries document.
The silver check's `reads` fetches bronze keys for one group of subjects at a time. The quarantine
check reads once for every rebuilt subject, in two steps (`raw_and_bronze_keys`): a fingerprint of
each subject's keys per resource on both sides, then the keys themselves only of the subjects whose
fingerprints differ, which the Polars comparison then names key by key.
"""

from __future__ import annotations

import hashlib

import duckdb
import polars as pl

from lake import catalog
from lake.checks import Rebuilt, check
from lake.sources import WINDOWED

DOC_KEY = ["subject_id", "doc_id"]
COMMITTED = f"t.batch_id IN (SELECT batch_id FROM {catalog.qualified('meta.ingest_batches')})"


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
    # No unique() on the bronze keys: an anti join ignores repeats, and making 5 M keys distinct
    # took as long as the join itself.
    return silver.join(bronze_entries.select(DOC_KEY), on=DOC_KEY, how="anti", maintain_order="left")


# Per subject, the count, sum and XOR of the 64-bit hashes of its document keys (`keys`: a query of
# subject_id, h). A key dropped, doubled or invented changes the count or (short of a hash collision
# between the very keys involved) the sums. Raw keys are not made distinct first (that tripled the
# cost): a document landed twice makes its subject's fingerprints differ, and the key by key
# comparison then finds nothing wrong.
FINGERPRINT = """SELECT subject_id, count(*) AS n_keys, sum(h)::VARCHAR AS hash_sum, bit_xor(h) AS hash_xor
    FROM ({keys}) GROUP BY subject_id"""
# The unkeyed documents' keys are made as bronze makes them (its SHA-256); the filter on doc_id lets
# DuckDB skip the text of every row group where no document lacks an _id.
RAW_KEY_HASHES = """SELECT subject_id, hash(doc_id) AS h FROM {raw} t
    WHERE doc_id IS NOT NULL AND {committed} AND {where}
    UNION ALL
    SELECT subject_id, hash('sha256:' || sha256(document)) FROM {raw} t
    WHERE doc_id IS NULL AND {committed} AND {where}"""


def differing_subjects(raw: pl.DataFrame, typed: pl.DataFrame) -> list[str]:
    """Subjects whose raw and bronze-plus-quarantine key fingerprints (subject_id, n_keys, hash_sum,
    hash_xor) differ, or that only one side has."""
    joined = raw.join(typed, on="subject_id", how="full", coalesce=True, suffix="_typed")
    differ = pl.any_horizontal(pl.col(c).ne_missing(pl.col(f"{c}_typed")) for c in ("n_keys", "hash_sum", "hash_xor"))
    return sorted(joined.filter(differ)["subject_id"].to_list())


def raw_and_bronze_keys(con: duckdb.DuckDBPyConnection, quarantine: pl.DataFrame,
                        rows: Rebuilt) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """(raw, bronze, quarantine) keys with their resource, of the rebuilt partitions, for the
    subjects and resources whose key fingerprints differ (none when everything reconciles):
    comparing every key took a third of a full build, and reading them all at once gigabytes."""
    present = catalog.tables(con)
    raw, bronze, suspect = [], [], []
    quarantine_table = catalog.qualified("bronze.quarantine")
    for resource in WINDOWED:
        if f"raw.{resource}" not in present:
            continue
        has_bronze, bronze_table = f"bronze.{resource}" in present, catalog.qualified(f"bronze.{resource}")
        raw_keys = RAW_KEY_HASHES.format(raw=catalog.qualified(f"raw.{resource}"), committed=COMMITTED,
                                         where=rows.where)
        raw_prints = con.execute(FINGERPRINT.format(keys=raw_keys), [*rows.params, *rows.params]).pl()
        typed_keys = [f"SELECT subject_id, hash(doc_id) AS h FROM {quarantine_table} t "
                      f"WHERE t.resource = ? AND {rows.where}"]
        typed_params = [resource, *rows.params]
        if has_bronze:
            typed_keys.append(f"SELECT subject_id, hash(doc_id) FROM {bronze_table} t WHERE {rows.where}")
            typed_params += rows.params
        typed_prints = con.execute(FINGERPRINT.format(keys=" UNION ALL ".join(typed_keys)), typed_params).pl()
        subjects = differing_subjects(raw_prints, typed_prints)
        if subjects:
            some = Rebuilt(f"{rows.where} AND list_contains(?, t.subject_id)", [*rows.params, subjects])
            raw.append(_raw_keys(con, resource, some))
            if has_bronze:
                bronze.append(con.execute(f"SELECT subject_id, doc_id, '{resource}' AS resource "
                                          f"FROM {bronze_table} t WHERE {some.where}", some.params).pl())
            suspect.extend((subject, resource) for subject in subjects)
    empty = pl.DataFrame(schema={"subject_id": pl.String, "doc_id": pl.String, "resource": pl.String})
    suspects = pl.DataFrame(suspect, schema={"subject_id": pl.String, "resource": pl.String}, orient="row")
    in_quarantine = quarantine.join(suspects, on=["subject_id", "resource"], how="semi")
    return (pl.concat([empty, *raw], how="diagonal_relaxed"), pl.concat([empty, *bronze], how="diagonal_relaxed"),
            in_quarantine.select("subject_id", "doc_id", "resource"))


def _raw_keys(con: duckdb.DuckDBPyConnection, resource: str, rows: Rebuilt) -> pl.DataFrame:
    """Raw keys of one resource for `rows`, with a resource column. Raw documents are read without
    their text except the rare ones without _id."""
    raw = catalog.qualified(f"raw.{resource}")
    keyed = con.execute(f"SELECT subject_id, doc_id FROM {raw} t "
                        f"WHERE doc_id IS NOT NULL AND {COMMITTED} AND {rows.where}", rows.params).pl()
    unkeyed = con.execute(f"SELECT subject_id, doc_id, document FROM {raw} t "
                          f"WHERE doc_id IS NULL AND {COMMITTED} AND {rows.where}", rows.params).pl()
    return pl.concat([keyed, document_keys(unkeyed)]).with_columns(resource=pl.lit(resource))


@check("bronze.quarantine", "hard", reads=raw_and_bronze_keys, all_at_once=True)
def check_bronze_quarantine_every_raw_document_in_bronze_or_quarantine(
        raw_keys: pl.DataFrame, bronze_keys: pl.DataFrame, quarantine_keys: pl.DataFrame) -> pl.DataFrame:
    """`check_raw_in_bronze_or_quarantine` resource by resource (frames with a resource column)."""
    parts = [pl.DataFrame(schema={"resource": pl.String, "subject_id": pl.String, "doc_id": pl.String,
                                  "in_raw": pl.Boolean, "in_bronze": pl.Boolean, "in_quarantine": pl.Boolean})]
    resources = pl.concat([keys["resource"] for keys in (raw_keys, bronze_keys, quarantine_keys)]).unique()
    for resource in resources.sort().to_list():
        def of(keys: pl.DataFrame) -> pl.DataFrame:
            return keys.filter(pl.col("resource") == resource)

        bad = check_raw_in_bronze_or_quarantine(of(raw_keys), of(bronze_keys), of(quarantine_keys))
        parts.append(bad.select(pl.lit(resource).alias("resource"), pl.all()))
    return pl.concat(parts)


def bronze_entry_keys(con: duckdb.DuckDBPyConnection, readings: pl.DataFrame,
                      rows: Rebuilt) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(the rebuilt readings, bronze.entries keys of the same partitions: a reading keeps the
    window day of its document)."""
    bronze = con.execute(f"SELECT subject_id, doc_id FROM {catalog.qualified('bronze.entries')} t "
                         f"WHERE {rows.where}", rows.params).pl()
    return readings, bronze


@check("silver.glucose_readings", "hard", reads=bronze_entry_keys)
def check_silver_glucose_readings_come_from_bronze_entries(readings: pl.DataFrame,
                                                           bronze_entries: pl.DataFrame) -> pl.DataFrame:
    return check_silver_readings_from_bronze(readings, bronze_entries)
