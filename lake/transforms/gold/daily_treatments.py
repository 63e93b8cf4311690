"""gold.daily_treatments: one row per (subject_id, day) with any bolus or carb entry (local day).

bolus_units: total bolus insulin in U; carbs_g: total carbohydrate in g; n_boluses and
n_carb_entries count the events of silver.insulin_boluses and silver.carb_intakes.
"""

from __future__ import annotations

import ibis
import ibis.expr.types as ir

COLUMNS = ["subject_id", "day", "bolus_units", "carbs_g", "n_boluses", "n_carb_entries"]


def daily_treatments(insulin_boluses: ir.Table, carb_intakes: ir.Table) -> ir.Table:
    """Daily insulin and carbohydrate totals per subject and local day."""
    insulin = insulin_boluses.group_by(["subject_id", ibis._.local_day.name("day")]).aggregate(
        bolus_units=ibis._.insulin_units.sum(), n_boluses=ibis._.count())
    carbs = carb_intakes.group_by(["subject_id", ibis._.local_day.name("day")]).aggregate(
        carbs_g=ibis._.carbs_g.sum(), n_carb_entries=ibis._.count())
    joined = insulin.outer_join(carbs, ["subject_id", "day"])
    return joined.select(
        subject_id=ibis.coalesce(joined.subject_id, joined.subject_id_right),
        day=ibis.coalesce(joined.day, joined.day_right),
        bolus_units=joined.bolus_units.fill_null(0.0),
        carbs_g=joined.carbs_g.fill_null(0.0),
        n_boluses=joined.n_boluses.fill_null(0),
        n_carb_entries=joined.n_carb_entries.fill_null(0),
    ).select(COLUMNS)
