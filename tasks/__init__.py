"""Luigi tasks: `luigi --module tasks BuildGold` (thin wiring around lake.*)."""
