"""What a batch's staging folder holds, named once.

Judge writes these files and every later step reads them (publish, the
consumers of its transaction, finish's receipt), so the names live below all
of them, not in quality/ where judge is: the store and the register then need
nothing of the gate to find a batch's records.
"""
#: The records the gate accepted, in the hub's columns (publish upserts them).
ACCEPTED = "accepted.parquet"
#: One row per failed field of a rejected record (line, field, reason): the receipt and the store's rejections.
REJECTED = "rejected.parquet"
#: The rejected records themselves (hub columns as far as they translated), for the auditors' typo search:
#: a death reported under a mistyped ID is still evidence.  Absent when none.
HELD_BACK = "rejected_records.parquet"
#: One row per warning about an accepted or rejected record (the REJECTED columns): a division code abolished
#: before the business date and taken as its successor within the grace period.  Absent when none.
WARNED = "warnings.parquet"
