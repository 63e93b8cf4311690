"""lake: a CGM lakehouse on DuckLake (Nightscout -> raw -> bronze -> silver -> gold)."""
