"""The keys.certificate_expiry DAG in a real `airflow dags test`: red with the partner, its certificate, the
date and what to do in the task's log while a certificate is within the warning window; green once the
renewed certificate is installed (dags/keys_sentinel.py, jinbao/keys_expiry.py)."""
from __future__ import annotations

import datetime as dt

from jinbao import keys
from jinbao.keys_rotation import install_partner_cert
from tests.airflow_env import airflow, migrated
from tests.dags.test_expected_dag import task_states
from tests.jinbao.certificates import T0, pair, write_pem

DAY = dt.timedelta(days=1)


def test_the_sentinel_is_red_for_a_certificate_about_to_expire_and_green_after_renewal(sqlite_home, tmp_path):
    home = sqlite_home
    keys.init_keys(home.home)
    key, soon = pair("jinbao-police-expiring", T0 - 300 * DAY, T0 + 12 * DAY)
    _, cf = write_pem(tmp_path / "police-side", "expiring", key, soon)
    install_partner_cert(home.home, "police", cf, now=T0)
    migrated(home)
    run = airflow(home, "dags", "test", "keys.certificate_expiry", f"{T0:%Y-%m-%d}")
    log = run.stdout + run.stderr
    assert task_states(log)["certificates"] == "failed" and run.returncode != 0, log[-3000:]
    for part in ("partner police's certificate", keys.serial_hex(soon), f"expires on {T0 + 12 * DAY:%Y-%m-%d}",
                 "jinbao keys install police FILE"):
        assert part in log, part
    assert "partner health" not in log                       # only what needs a person

    _, renewed = pair("jinbao-police-renewed", T0 - DAY, T0 + 400 * DAY)
    _, rf = write_pem(tmp_path / "police-side", "renewed", key, renewed)
    install_partner_cert(home.home, "police", rf, now=T0)
    again = airflow(home, "dags", "test", "keys.certificate_expiry", f"{(T0 + DAY):%Y-%m-%d}")
    assert task_states(again.stdout + again.stderr)["certificates"] == "success" and again.returncode == 0, \
        (again.stdout + again.stderr)[-3000:]
