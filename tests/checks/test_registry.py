"""The check registry: names follow `check_<schema>_<table>_<rule>` and point at real tables."""

from __future__ import annotations

import importlib.util
from types import ModuleType

import pytest

from lake.checks import CHECKS, _load_all, bronze, gold, silver

TABLES = ["bronze.entries", "bronze.treatments", "bronze.devicestatus", "bronze.quarantine",
          "silver.glucose_readings", "silver.sensor_errors", "silver.insulin_boluses",
          "silver.carb_intakes", "silver.device_status", "gold.daily_glucose", "gold.daily_treatments",
          "gold.glucose_summary", "gold.agp", "gold.glucose_episodes"]


def registered() -> list:
    _load_all()
    return [c for checks in CHECKS.values() for c in checks]


def test_every_registered_check_is_named_after_a_table_whose_transform_module_exists():
    for c in registered():
        schema, name = c.table.split(".")
        assert c.name.startswith(f"check_{schema}_{name}_"), c.name
        assert c.severity in ("hard", "soft"), c.name
        assert importlib.util.find_spec(f"lake.transforms.{schema}.{name}") is not None, c.table


def test_every_table_has_hard_key_not_null_and_key_unique_checks():
    by_name = {c.name: c for c in registered()}
    for table in TABLES:
        prefix = "check_" + table.replace(".", "_")
        for rule in ("key_not_null", "key_unique"):
            assert by_name[f"{prefix}_{rule}"].severity == "hard", table


@pytest.mark.parametrize("module", [bronze, silver, gold], ids=lambda m: m.__name__)
def test_every_check_function_in_a_module_is_registered(module: ModuleType):
    names = {c.name for c in registered()}
    defined = {name for name in vars(module) if name.startswith("check_")}
    assert defined and defined <= names
