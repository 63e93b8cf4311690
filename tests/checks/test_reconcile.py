"""Reconciliation across tables: raw -> bronze or quarantine, bronze.entries -> silver readings."""

from __future__ import annotations

import hashlib
from datetime import date

import ibis
import polars as pl
import pyarrow as pa
import pytest
from polars.testing import assert_frame_equal

from lake import catalog, checks
from lake.checks.reconcile import (
    check_bronze_quarantine_every_raw_document_in_bronze_or_quarantine,
    check_raw_in_bronze_or_quarantine,
    check_silver_readings_from_bronze,
    document_keys,
    raw_and_bronze_keys,
)
from tests.checks.helpers import assert_flags_rows, assert_passes

UNKEYED = '{"sgv":120,"date":1709251500000}'


def keys(*pairs: tuple[str, str]) -> pl.DataFrame:
    return pl.DataFrame(pairs, schema=["subject_id", "doc_id"], orient="row")


def test_document_keys_are_the_id_or_the_same_sha256_digest_the_bronze_transform_computes():
    raw = pl.DataFrame({"subject_id": ["s1", "s1"], "doc_id": ["65e1a2b3", None],
                        "document": ['{"_id":"65e1a2b3"}', UNKEYED]})
    # The digest as bronze computes it: the Ibis expression of lake.transforms.bronze._typed on DuckDB.
    bronze_digest = ibis.duckdb.connect().execute(ibis.literal(UNKEYED).hexdigest("sha256"))
    assert bronze_digest == hashlib.sha256(UNKEYED.encode()).hexdigest()
    assert_frame_equal(document_keys(raw), keys(("s1", "65e1a2b3"), ("s1", "sha256:" + bronze_digest)))


def test_raw_reconciliation_passes_when_each_document_is_in_bronze_or_quarantine_once():
    raw = keys(("s1", "a"), ("s1", "a"), ("s1", "b"), ("s2", "a"))  # s1's "a" fetched twice
    offending = check_raw_in_bronze_or_quarantine(raw, keys(("s1", "a"), ("s2", "a")), keys(("s1", "b")))
    assert offending.is_empty(), offending


def test_raw_reconciliation_flags_documents_in_both_in_neither_or_not_in_raw():
    raw = keys(("s1", "a"), ("s1", "b"), ("s1", "c"))
    bronze = keys(("s1", "a"), ("s1", "b"), ("s1", "d"))
    quarantine = keys(("s1", "b"))
    expected = pl.DataFrame({"subject_id": ["s1", "s1", "s1"], "doc_id": ["b", "c", "d"],
                             "in_raw": [True, True, False], "in_bronze": [True, False, True],
                             "in_quarantine": [True, False, False]})
    assert_frame_equal(check_raw_in_bronze_or_quarantine(raw, bronze, quarantine), expected)


def test_silver_reconciliation_flags_readings_without_a_bronze_entry():
    # ("s1", "a") twice: a repeated bronze key neither hides nor doubles a reading
    bronze_entries = keys(("s1", "a"), ("s1", "a"), ("s1", "b"), ("s1", "c"))

    def check_fn(silver: pl.DataFrame) -> pl.DataFrame:
        return check_silver_readings_from_bronze(silver, bronze_entries)

    silver = pl.DataFrame({"subject_id": ["s1", "s1"], "doc_id": ["a", "b"], "glucose_mg_dl": [120.0, 130.0]})
    assert_passes(check_fn, silver)
    orphans = pl.DataFrame({"subject_id": ["s1", "s2", "s1"], "doc_id": ["a", "a", None],
                            "glucose_mg_dl": [120.0, 130.0, 140.0]})
    assert_flags_rows(check_fn, orphans, [1, 2])


def test_the_quarantine_tasks_check_reconciles_each_resource_on_its_own():
    # the same doc_id in two resources is two documents: typed as an entry, lost as a treatment
    def of(resource: str, *pairs: tuple[str, str]) -> pl.DataFrame:
        return keys(*pairs).with_columns(resource=pl.lit(resource))

    raw = pl.concat([of("entries", ("s1", "a"), ("s1", "b")), of("treatments", ("s1", "a"))])
    bronze = of("entries", ("s1", "a"))
    quarantine = of("entries", ("s1", "b"))
    bad = check_bronze_quarantine_every_raw_document_in_bronze_or_quarantine(raw, bronze, quarantine)
    assert bad.to_dicts() == [{"resource": "treatments", "subject_id": "s1", "doc_id": "a", "in_raw": True,
                               "in_bronze": False, "in_quarantine": False}]
    assert bad.columns[0] == "resource"


DAY = date(2024, 3, 1)


@pytest.fixture
def typed_lake(lake):
    """Raw entries of subjects s1 and s2 (one without an _id) and treatments of s1, all in one
    committed batch; bronze.entries and bronze.quarantine as a correct build leaves them."""
    con = catalog.raw_connection(lake)
    con.execute("CREATE TABLE lake.raw.entries (subject_id VARCHAR, window_day DATE, doc_id VARCHAR, "
                "document VARCHAR, batch_id VARCHAR)")
    con.execute("CREATE TABLE lake.raw.treatments AS SELECT * FROM lake.raw.entries LIMIT 0")
    con.execute("INSERT INTO lake.raw.entries VALUES (?, ?, 'e1', '{}', 'b'), (?, ?, 'e2', '{}', 'b'), "
                "(?, ?, NULL, ?, 'b'), (?, ?, 'e1', '{}', 'b')", ["s1", DAY, "s1", DAY, "s1", DAY, UNKEYED, "s2", DAY])
    con.execute("INSERT INTO lake.raw.treatments VALUES ('s1', ?, 't1', '{}', 'b')", [DAY])
    con.execute("INSERT INTO lake.meta.ingest_batches VALUES ('b', 's1', [?], 3, 1, 0, 0, now())", [DAY])
    con.execute("CREATE TABLE lake.bronze.entries (subject_id VARCHAR, window_day DATE, doc_id VARCHAR)")
    con.execute("INSERT INTO lake.bronze.entries VALUES ('s1', ?, 'e1'), ('s1', ?, ?), ('s2', ?, 'e1')",
                [DAY, DAY, "sha256:" + hashlib.sha256(UNKEYED.encode()).hexdigest(), DAY])
    con.execute("CREATE TABLE lake.bronze.quarantine (subject_id VARCHAR, resource VARCHAR, window_day DATE, "
                "doc_id VARCHAR)")
    con.execute("INSERT INTO lake.bronze.quarantine VALUES ('s1', 'entries', ?, 'e2'), ('s1', 'treatments', ?, 't1')",
                [DAY, DAY])
    return lake


def reconcile(lake) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(raw keys read, offending rows) of the quarantine check over both subjects' day."""
    con = catalog.raw_connection(lake)
    con.register("_partitions", pa.table({"subject_id": ["s1", "s2"], "window_day": [DAY, DAY]}))
    rows = checks.rebuilt_rows(con, ["subject_id", "window_day"], ["s1", "s2"])
    quarantine = con.execute(f"SELECT * FROM lake.bronze.quarantine t WHERE {rows.where}", rows.params).pl()
    raw, bronze, in_quarantine = raw_and_bronze_keys(con, quarantine, rows)
    return raw, check_bronze_quarantine_every_raw_document_in_bronze_or_quarantine(raw, bronze, in_quarantine)


def test_subjects_whose_key_fingerprints_agree_are_not_read_key_by_key(typed_lake):
    raw, bad = reconcile(typed_lake)
    assert raw.is_empty() and bad.is_empty()


@pytest.mark.parametrize(("change", "offending"), [
    ("DELETE FROM lake.bronze.entries WHERE doc_id = 'e1' AND subject_id = 's2'",  # lost
     {"subject_id": "s2", "doc_id": "e1", "in_raw": True, "in_bronze": False, "in_quarantine": False}),
    ("INSERT INTO lake.bronze.quarantine VALUES ('s1', 'entries', DATE '2024-03-01', 'e1')",  # doubled
     {"subject_id": "s1", "doc_id": "e1", "in_raw": True, "in_bronze": True, "in_quarantine": True}),
    ("UPDATE lake.bronze.entries SET doc_id = 'e9' WHERE subject_id = 's2'",  # swapped: same count
     {"subject_id": "s2", "doc_id": "e9", "in_raw": False, "in_bronze": True, "in_quarantine": False}),
    ("INSERT INTO lake.bronze.quarantine VALUES ('s2', 'treatments', DATE '2024-03-01', 't7')",  # invented
     {"subject_id": "s2", "doc_id": "t7", "in_raw": False, "in_bronze": False, "in_quarantine": True}),
])
def test_keys_of_subjects_whose_fingerprints_differ_are_compared_one_by_one(typed_lake, change, offending):
    catalog.raw_connection(typed_lake).execute(change)
    raw, bad = reconcile(typed_lake)
    assert set(raw["subject_id"]) <= {offending["subject_id"]}
    assert offending in bad.drop("resource").to_dicts()


def test_a_document_landed_twice_is_compared_key_by_key_and_passes(typed_lake):
    catalog.raw_connection(typed_lake).execute(
        "INSERT INTO lake.raw.entries VALUES ('s2', DATE '2024-03-01', 'e1', '{}', 'b')")
    raw, bad = reconcile(typed_lake)
    assert raw["doc_id"].to_list() == ["e1", "e1"]  # s2's keys were read: its fingerprints differ
    assert bad.is_empty()
