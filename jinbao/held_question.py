"""The question a held batch puts to a person (the Required Action of dags/review.py): what they need to
decide between release, refuse and re-judge without opening anything else first.

Operator text: hub paths and commands are fine here (never in a partner's receipt); IDs are not, and
none is quoted: the counts, the batch's message (masked when stored) and reason codes with field names.
"""
from __future__ import annotations

from pathlib import Path

from jinbao import ledger
from jinbao.declarations import get_feed
from jinbao.quality.cross import declared_message
from jinbao.quality.judging import top_reasons
from jinbao.quality.reasons import NO_RECEIPT_WHILE_HELD, REASONS, next_step
from jinbao.report_links import batch_links
from jinbao.settings import Settings
from jinbao.staged.layout import REJECTED
from jinbao.store.database import upgrade

#: How the reviewer's choices read in the Required Action, and the answer each one is (jinbao/release.py).
OPTIONS = {"Release": "release", "Refuse": "refuse", "Re-judge": "rejudge"}


def links(cfg: Settings, row: dict) -> dict[str, str]:
    """Where the reviewer reads the receipt and the quality page: links to the hub's read-only pages on the
    API server (jinbao/report_links.py, the same as the run's note), or what to do when one is not written."""
    found = batch_links(cfg, row)
    unsent = "not sent: held as a suspected hub configuration error, the partner hears nothing until you answer" \
        if row["reason_code"] in NO_RECEIPT_WHILE_HELD else "not written yet (`finish` sends it)"
    missing = {"receipt": unsent,
               "quality page": f"not written: `jinbao quality docs {row['feed']} --batch {row['id']}` writes it"}
    return {what: f"[{what}]({found[what]})" if what in found else why for what, why in missing.items()}


def reason_text(code: str, field: str, declared=()) -> str:
    """A rejection reason as the partner reads it in the receipt, the value left out; `declared`: the feed's
    rules, whose own cross-field codes carry their declared message."""
    own = declared_message(code, declared)
    if own is not None:
        return f"{field}: {own}"
    if code not in REASONS:
        return code
    zh, en = REASONS[code]
    return f"{en.format(field=field, value='…')} ({zh.format(field=field, value='…')})"


def refusal(row: dict, cfg: Settings) -> str:
    """The operator's account of a refused delivery: which, why, where it is kept, what to do next."""
    partner = get_feed(row["feed"], cfg).partner
    kept = f"kept in {row['staging_dir']}" if row["staging_dir"] else "set aside in the partner's inbound/rejected/"
    step = next_step(row["reason_code"], partner)
    return (f"batch {row['id']} ({row['file_name']}) refused: {row['reason_code']}: {row['message']} ({kept}; "
            f"{partner} has a receipt saying why)" + (f"; next: {step}" if step else ""))


def question(cfg: Settings, batch_id: int) -> tuple[str, str]:
    """(subject, body in Markdown) of the Required Action for held batch `batch_id`."""
    with upgrade(cfg.store_url).begin() as conn:
        row = ledger.get(conn, batch_id)
    spec = get_feed(row["feed"], cfg)
    subject = f"Held: {spec.name} {row['file_name']} (batch {batch_id}) — release, refuse or re-judge?"
    if row["reason_code"] in NO_RECEIPT_WHILE_HELD:
        subject = (f"Suspected hub configuration error: {spec.name} {row['file_name']} (batch {batch_id}) — fix the "
                   "mapping or code table, then re-judge")
    staging = Path(row["staging_dir"]) if row["staging_dir"] else None
    reasons = top_reasons(staging) if staging and (staging / REJECTED).exists() else []
    lines = [f"**{row['file_name']}** from {spec.partner} (batch {batch_id}, business date {row['business_date']}, "
             f"sequence {row['sequence']}, mapping {row['mapping_version']}) is **held**: {row['message']}.", "",
             "| received | accepted | rejected |", "|---:|---:|---:|",
             f"| {row['received']} | {row['accepted']} | {row['rejected']} |", ""]
    if reasons:
        lines += ["Most frequent reasons:", ""]
        lines += [f"- {n} × `{code}` on {field}: {reason_text(code, field, spec.quality.rules)}"
                  for code, field, n in reasons]
        lines.append("")
    lines += [f"- {what}: {where}" for what, where in links(cfg, row).items()]
    if row["reason_code"] in NO_RECEIPT_WHILE_HELD:
        lines += ["", "A whole column failed one rule: this is a **suspected hub configuration error**, so the "
                  "partner has had no receipt.  Fix what the message above names (the mapping's `date_format`, "
                  "the code table, the declared rule), then choose **Re-judge** (or run `jinbao batches rejudge "
                  f"{batch_id}`): the partner then gets one receipt.  Release or Refuse only if the partner "
                  "really sent this."]
    lines += ["", f"**Release** publishes the {row['accepted']} accepted records as judged (the rejected stay "
              "rejected) and sends the partner an updated receipt.  **Refuse** publishes nothing, keeps the "
              "delivery in quarantine and sends the partner a receipt with your *reason* (required) asking them "
              "to send it again.  **Re-judge** judges the same delivery again under the mapping now in force on "
              "its business date (after a mapping fix), then publishes it or holds it again."]
    return subject, "\n".join(lines)
