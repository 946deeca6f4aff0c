"""The Required Action of a held batch: the `review` task after `finish`, one per delivery.

A published batch skips it; a refused one makes it red, with the reason and what to do (the run
of a refused delivery is never green; finish only tells the partner).  A held one waits (Airflow's
human-in-the-loop: the task's "Required Action" in the UI, or the HITL endpoints of the REST API) for
a person to choose Release, Refuse (with a reason for the partner) or Re-judge, and the answer is
carried out by jinbao/release.py, as `jinbao batches release|refuse|rejudge` would, with the
responding Airflow user as the one who answered in the exchange log.

What the run shows afterwards: released, or judged again and published, is green; refused is red (the
delivery is refused, as a partner's bad delivery is); judged again and held again is red too, with the
new counts in the log, and the batch stays held: clearing `review` asks again with the new counts (one
answer per question, so every answer and its verdict stand in the log one after the other).

Imports inside functions: the engine and what it needs load when the task runs, never at parse time
(dags/dag_factory.py).
"""
from __future__ import annotations

from typing import Any

from airflow.providers.standard.operators.hitl import HITLOperator
from airflow.sdk import Param
from airflow.sdk.exceptions import AirflowFailException, AirflowSkipException

#: The reviewer's choices as they read in the Required Action (jinbao/held_question.py OPTIONS, kept equal
#: by tests/dags/test_review.py: this module must not import the engine side at parse time).
OPTIONS = ["Release", "Refuse", "Re-judge"]
REASON = "reason"


class HeldBatchReview(HITLOperator):
    """Ask a person about a held batch; skipped for any other.  `outcome`: what `finish` returned."""

    def __init__(self, *, outcome: dict | None = None, **kwargs) -> None:
        kwargs.setdefault("subject", "Held batch")
        super().__init__(options=OPTIONS, params={REASON: Param(
            "", type="string", title="Reason (for Refuse)",
            description="Why the delivery is refused: the partner reads it on the receipt (no paths, commands "
                        "or IDs)")}, **kwargs)
        self.outcome = outcome

    def _batch(self, context) -> tuple[Any, dict]:
        from jinbao import ledger, privacy
        from jinbao.settings import load_settings
        from jinbao.store.database import upgrade

        privacy.install()            # no unmasked ID reaches the task log, whatever a library prints
        cfg = load_settings()
        with upgrade(cfg.store_url).begin() as conn:
            row = ledger.get(conn, int(self.outcome["batch_id"]))
        context["delivery"] = row["file_name"]          # the mapped task is named after its delivery
        return cfg, row

    def execute(self, context):
        from jinbao.held_question import question, refusal

        cfg, row = self._batch(context)
        if row["status"] == "refused":    # the run stays red: a person must still act (next step), not answer
            raise AirflowFailException(refusal(row, cfg))
        if row["status"] != "held":       # the ledger, not finish's XCom: a cleared review sees what is now
            raise AirflowSkipException(f"batch {row['id']} ({row['file_name']}) is {row['status']}: nothing "
                                       "to review")
        self.subject, self.body = question(cfg, row["id"])
        self.log.info("batch %s (%s) is held: waiting for a person to answer its Required Action (Release, "
                      "Refuse, Re-judge)", row["id"], row["file_name"])
        return super().execute(context)

    def execute_complete(self, context, event: dict[str, Any]) -> dict:
        from jinbao.held_question import OPTIONS as ANSWERS
        from jinbao.release import REFUSE, answer

        response = super().execute_complete(context, event)
        cfg, row = self._batch(context)
        if row["status"] != "held":      # answered meanwhile elsewhere (`jinbao batches ...`, the release DAG)
            raise AirflowSkipException(f"batch {row['id']} ({row['file_name']}) is already {row['status']}: it was "
                                       "answered elsewhere (exchange log, direction review); this answer changes "
                                       "nothing")
        user = response["responded_by_user"] or {}
        who = user.get("name") or user.get("id") or "Airflow (no user: the response timed out)"
        choice = ANSWERS[response["chosen_options"][0]]
        reason = (response["params_input"] or {}).get(REASON) or None
        if choice == REFUSE and not reason:
            raise AirflowFailException(f"{who} chose Refuse for batch {row['id']} ({row['file_name']}) without a "
                                       "reason; the batch is still held: clear `review` and answer again with the "
                                       "reason the partner should read")
        done = answer(row["id"], choice, who, reason, cfg)
        self.log.info("%s", done.said)
        result = {"batch_id": row["id"], "answer": choice, "who": who, "status": done.outcome.status,
                  "received": done.outcome.received, "accepted": done.outcome.accepted,
                  "rejected": done.outcome.rejected, "published": done.outcome.published}
        if done.outcome.status == "refused":
            raise AirflowFailException(done.said)          # refused: red, as a refused delivery's run is
        if done.still_held:
            raise AirflowFailException(done.said + ": clear `review` to answer again, or answer with "
                                       f"`jinbao batches release|refuse|rejudge {row['id']}`")
        for asset in self.outlets:     # published now: what the Assets view shows of the update, as publish's
            context["outlet_events"][asset].extra = {"feed": row["feed"], "batch_id": row["id"],
                                                     "status": str(done.outcome.status),
                                                     "published": done.outcome.published or 0}
        return result
