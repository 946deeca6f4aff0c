"""The note an inbound feed's run ends with (Airflow's DagRun note, shown in the run list and grid).

Read from the batch ledger, not from task states: what became of each delivery the run took
(published, held for review, refused and why, unfinished), with its counts and links to its
receipt and quality page (jinbao/report_links.py).  The only thing task states add is a failure
of the hub itself (store down after the retries): a red task that no held or refused batch
explains.  The text is for the hub's operators: each outcome that needs a person says what to
do next; IDs never appear (ledger messages are masked when stored).  The auditors' monthly run
gets one too: links to its report (`report_note`).
"""
from __future__ import annotations

from pathlib import Path

from jinbao.display import visible_controls
from jinbao.ledger import Status
from jinbao.quality.reasons import NO_RECEIPT_WHILE_HELD
from jinbao.report_links import batch_links, url_for

#: Airflow keeps at most this many characters of a note (DagRunNote.content).
NOTE_MAX = 1000
NOTHING = "nothing delivered"
#: The task that asks a person about a held batch and is red for a refused one (dags/review.py); any other red
#: task but a late delivery's watch is the hub's.
REVIEW = "review"
#: The delivery watch (dags/expected.py): red for a late delivery, which is the partner's, not the hub's.
WATCH = "expected_delivery"
#: The XCom key under which a late watch leaves the business dates it found late (dags/expected.py pushes it;
#: the DAG file keeps its own copy of the literal, as parsing must not load the ledger).
LATE_KEY = "late"


def _text(value) -> str:
    """One line of Markdown from a stored value: no control character, no link or HTML made of it."""
    text = visible_controls(str(value or ""))
    for ch in "[]<>`*_|":
        text = text.replace(ch, "\\" + ch)
    return text


def outcome(row: dict) -> str:
    """What became of the batch, and what a person does next when it is theirs to act."""
    status = str(row["status"])
    if status == Status.PUBLISHED:
        return "published"
    if status == Status.HELD and row["reason_code"] in NO_RECEIPT_WHILE_HELD:
        return (f"held, no receipt sent: {_text(row['message'])} In Airflow: fix, then choose Re-judge in the run's "
                "Required Action (`review`)")
    if status == Status.HELD:
        return (f"held for review: {_text(row['message'])}. Next: answer the run's Required Action (`review`: "
                "release, refuse or re-judge) after reading the receipt and quality page")
    if status == Status.REFUSED:
        return f"refused: {_text(row['reason_code'])}: {_text(row['message'])} (the partner has its receipt)"
    return f"unfinished ({status}): the next run carries it on"


def batch_line(cfg, row: dict) -> str:
    counts = (f"{row['received'] or 0} received, {row['accepted'] or 0} accepted, "
              f"{row['rejected'] or 0} rejected, {row['published'] or 0} published")
    links = " · ".join(f"[{label}]({url})" for label, url in batch_links(cfg, row).items())
    return " · ".join(p for p in (f"**{_text(row['file_name'])}** (batch {row['id']})", outcome(row), counts, links)
                      if p)


def hub_failures(rows: list[dict], failed_tasks: list[str], late: bool = False) -> list[str]:
    """Red tasks the deliveries do not explain: a red `review` is a held or refused batch's own, a red
    delivery watch a late partner's."""
    person = any(str(r["status"]) in (Status.HELD, Status.REFUSED) for r in rows)
    return sorted({t for t in failed_tasks if not (t == REVIEW and person) and not (t == WATCH and late)})


def late_line(feed: str, business_dates: list[str]) -> str:
    return (f"**late**: {_text(feed)} for business date {', '.join(map(_text, business_dates))} did not arrive by "
            "its due time plus grace; the partner has a reminder (催报). Next: ask them to deliver it, then clear "
            f"{WATCH} (`jinbao deliveries missing` lists every late delivery)")


def run_note(cfg, rows: list[dict], failed_tasks: list[str] = (), feed: str = "",
             late: list[str] = ()) -> str:
    """The note of a finished run that took the batches `rows` (ledger rows), had `failed_tasks` red and
    found the deliveries of the business dates `late` late."""
    lines = [batch_line(cfg, r) for r in sorted(rows, key=lambda r: r["id"])]
    if late:
        lines.insert(0, late_line(feed, list(late)))
    failed = hub_failures(rows, list(failed_tasks), bool(late))
    if failed:
        lines.insert(0, f"**hub failure** at {', '.join(failed)} (not the partner's doing): read the task's log, "
                        "fix the cause, then clear the task to run it again")
    elif not rows:
        lines.append(NOTHING)
    note = ""
    for i, line in enumerate(lines):
        more = f"\n… and {len(lines) - i} more (jinbao batches list)"
        if len(note) + 1 + len(line) + len(more) > NOTE_MAX and i:
            return note + more
        note = f"{note}\n{line}" if note else line
    return note[:NOTE_MAX]


def report_note(cfg, files: dict[str, str]) -> str:
    """The note of the auditors' monthly run: links to the month's folder, the report's page and workbook,
    then each finding's CSV as long as the note has room (what its task returned: name -> path, in the
    month's folder); a file no longer there gets no link."""
    folder = Path(next(iter(files.values()))).parent if files else None
    month = _text(folder.name) if folder else "?"
    order = sorted(files, key=lambda name: (name not in ("page", "workbook"), name))
    links = [f"[{_text(name)}]({url})" for name in order if (url := url_for(cfg, Path(files[name])))]
    if not links:
        return f"death mismatch report {month}: no file to show"
    every = url_for(cfg, folder)
    note = f"death mismatch report {month}" + (f" ([every file]({every}))" if every else "") + ": "
    for link in links:
        if len(note) + len(link) + 3 > NOTE_MAX:
            break
        note += link if note.endswith(": ") else " · " + link
    return note
