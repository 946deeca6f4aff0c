"""A delivery as the hub holds it in staging: read, sorted, or refused.

The partner's CSV read as blocks of records (reader.py), the Parquet files the
steps write beside it read back without read-ahead (parquet.py), a big staged
file rewritten in key order (key_order.py), and why a whole delivery is
refused (refused.py).  The quality gate, the store, the register and the
receipts all read staged files; none of them needs the partner protocol
(envelope, manifest, CMS: exchange_zone/) for it.
"""
