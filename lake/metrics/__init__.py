"""CGM metric definitions shared by the gold tables, following R iglu 4.3.0 defaults.

* `readings`: aggregates over raw readings, as Ibis expressions (`reading_metrics`, `adrr`).
* `grid`: iglu's interpolated day-by-day grid, which the sequential metrics run on:
  `variability` (MODD, CONGA), `mage`, `episodes`, `agp`; `active` (active_percent) works on
  the reading times themselves.
* `subject`: all grid metrics of a Polars frame of readings, per subject.

Import from the submodules (`from lake.metrics.readings import reading_metrics`). The shared
reference `reference/cgm-metrics.md` has the definitions and where iglu_python differs from R.
"""
