"""lake.transforms: pure Ibis functions, one output table per module, ir.Table in -> ir.Table out.

No connection, no I/O and no execution inside: the tasks read the inputs from the lake, call these,
and publish the result. Layers: bronze (typed raw), silver (cleaned, conformed), gold (metrics).
"""
