"""The daily certificate-expiry sentinel: one task, red when a certificate needs a person.

Every morning `certificates` checks the hub's certificate and every installed partner certificate
against the declared warning window (`schemas/certificates.yaml` `warn_days`, jinbao/keys_expiry.py):
any within the window or expired turns the task red, its log (and the operator log, logger
`jinbao.keys`) naming the party, the certificate's subject, serial and fingerprint, the expiry date
and what to do.  Green otherwise.  The same as `jinbao keys check`.

Imports inside functions: the task imports the certificate check when it runs, never at parse time.
"""
from __future__ import annotations

from airflow.sdk import DAG, task
from airflow.sdk.exceptions import AirflowFailException

from jinbao.access import access_control
from jinbao.settings import load_settings
from schedules import described, timetable

KEYS_DAG = "keys.certificate_expiry"
KEYS_SCHEDULE = "0 7 * * *"


def build_certificate_expiry() -> DAG:
    """The certificate-expiry sentinel DAG (dags/dag_factory.py adds it beside the feeds)."""
    with DAG(
        dag_id=KEYS_DAG,
        dag_display_name=f"证书到期检查 Certificate expiry · {KEYS_DAG}",
        description=f"The hub's and partners' certificates against the warning window, {described(KEYS_SCHEDULE)}",
        doc_md=("### Certificate expiry\n\nEvery day at 07:00 (China Standard Time): the hub's certificate and every "
                "installed partner certificate (`JINBAO_HOME/keys/`) against the warning window declared in "
                "`schemas/certificates.yaml` (`warn_days`).  **Red** when any certificate expires within the window "
                "or has expired: the task's log names the party, the certificate (subject, serial, SHA-256 "
                "fingerprint), the expiry date and what to do — for a partner, install its renewed certificate "
                "with `jinbao keys install PARTNER FILE`; for the hub, `jinbao keys rotate` (docs/transport.md, "
                "\"Rotating the hub's key\").  An expired partner certificate is also refused at use: its "
                "deliveries get a receipt saying so and no data is sent to it.  The same as `jinbao keys check`."),
        schedule=timetable(KEYS_SCHEDULE),
        catchup=False,
        tags=["jinbao", "keys"],
        access_control=access_control("housekeeping"),
        default_args={"owner": "人社 hub operators", "retries": 0},
    ) as dag:
        @task(task_id="certificates")
        def certificates() -> dict:
            from jinbao.keys_expiry import check

            found = check(load_settings().home)            # each one in the operator log
            if found:
                raise AirflowFailException(f"{len(found)} certificate(s) need attention:\n" +
                                           "\n".join(f"- {f.text()}" for f in found))
            return {"checked": "every certificate is valid beyond the warning window"}

        certificates()
    return dag
