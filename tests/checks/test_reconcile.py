"""Reconciliation across tables: raw -> bronze or quarantine, bronze.entries -> silver readings."""

from __future__ import annotations

import hashlib

import ibis
import polars as pl
from polars.testing import assert_frame_equal

from lake.checks.reconcile import (
    check_bronze_quarantine_every_raw_document_in_bronze_or_quarantine,
    check_raw_in_bronze_or_quarantine,
    check_silver_readings_from_bronze,
    document_keys,
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
    bronze_entries = keys(("s1", "a"), ("s1", "b"), ("s1", "c"))

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
