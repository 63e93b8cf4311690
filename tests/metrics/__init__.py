"""Tests of lake.metrics: hand-written cases and cross-checks against iglu_python."""
