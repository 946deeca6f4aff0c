"""The reconciled register: one row per person across every source.

Each published batch of a feed listed in schemas/register.yaml is reconciled
into the store's `register` table inside the batch's publish transaction
(reconcile.py): per field, the most authoritative source's value is held with
the feed, batch, line and time that set it; replaced values go to
`register_history`; outranked sources that disagree become `conflict` rows.
The three death feeds also decide each person's life status (life.py), with
every change kept in `life_status_history`.  lineage.py answers "where did this
value come from" for operators and auditors.
"""
