"""What each step of an inbound feed's run does, shown on its task in the Airflow UI (`doc_md`).

One text per step, so that a person looking at a pink, red or orange square learns from the
task itself what that colour means for a delivery and what to do next.  Listed in
dags/.airflowignore: a module of dag_factory, not a DAG file.
"""
from __future__ import annotations

RECEIVE = """\
### receive

Takes the deliveries waiting in the partner's `inbound/` whose business date is not after the run's day
(China Standard Time), checks their names, manifests and sequences, and stages them.  A delivery that
cannot be taken (duplicate, replayed sequence, future business date, unreadable envelope) is recorded as
refused here; its receipt goes out in `finish`.

- **green**: deliveries were taken; the mapped tasks after it are named after their files.
- **skipped** (pink): nothing was delivered; the run's note says *nothing delivered*.
- **red**: the hub itself failed (the exchange zone or the store unreachable after the retries); the run's
  note says *hub failure*.  Fix the cause and clear the task.
"""

JUDGE = """\
### judge

Checks every record of one delivery (its file is the task's name) against the partner schema, the mapping
in force on its business date and the feed's rules, and counts received, accepted and rejected records.

- **green**: judged; `publish` follows.  Too many rejections **hold** the batch: `review` asks a person.
- **skipped**: the whole delivery was refused (the log says why, e.g. `COUNT_MISMATCH`); `finish` sends
  the partner its receipt and `review` turns red.
- **red**: the hub failed (store down after the retries); clear the task once it is back.

The log names the page of quality results (`jinbao quality docs`); the run's note links it when it exists.
"""

PUBLISH = """\
### publish

Writes the accepted records of one judged delivery into the store in one transaction, with its rejections
and the consumers' registers.  A second run publishes nothing twice.

- **green**: published.
- **skipped**: nothing to publish, because the batch is held for review or was refused (the log says
  which); `review` asks a person about a held batch and is red for a refused one.
- **red**: the hub failed (store down after the retries): the batch stays judged and the next run or a
  cleared task publishes it.
"""

FINISH = """\
### finish

Tells the partner: the receipt (a readable copy is linked from the run's note), the exchange-log entry, the
acknowledgement; a refused delivery goes to quarantine.

- **green**: the partner has its answer, whatever it was: published, held (then `review` asks a person:
  release, refuse or re-judge) or refused (then `review` is red with the reason, and the partner is
  expected to send a corrected delivery).  A held batch's quality page is written here, for the person.
- **red**: the hub failed (store or drop zone unreachable after the retries); clear it once it is back.
"""
