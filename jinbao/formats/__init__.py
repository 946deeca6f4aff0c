"""Code arithmetic: what a value's characters say, before any mapping or rule reads it.

Citizen IDs (GB 11643), unified social credit codes (GB 32100), fixed-width
byte matrices and numeric dates, wrong-encoding text.  Both the mappings (the
15 -> 18 digit upgrade, dates, division codes) and the quality gate use them,
and so do the generator and the audit; this package imports nothing else of
the hub, so it can sit under all of them without a loop.
"""
