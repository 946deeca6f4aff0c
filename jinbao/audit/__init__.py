"""The auditors' death-mismatch report: who is paid after death, with the evidence.

findings.py says what each finding holds (Arrow schemas, one per kind);
deaths.py finds them in the store for a report month; typos.py links death
records the register cannot place to the pensioner they probably mean; render.py
writes what a person opens (CSV per finding, an Excel workbook, one
self-contained HTML page).  IDs are full inside the findings (the store is the
hub's own) and masked by every renderer, except the explicit full-ID export.
"""

#: The auditors' DAG: its id names the report in Airflow (who may run and read it), in the exchange log
#: (the feed of every full-ID export) and in what /jinbao/ serves (jinbao/report_links.py).
REPORT_DAG = "audit.death_mismatch"
