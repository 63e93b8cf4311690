"""Gold: CGM metrics, read only from silver (and from metric results computed on silver).

Metric definitions live in lake.metrics and follow the R package iglu's defaults.
"""
