"""The hub fields each named outbound query produces, kept apart from the queries themselves.

Feed declarations are checked against their agreements when they load, which happens
every time the DAG processor parses the DAG folder; this module imports nothing, so
that check costs nothing.  jinbao/outbound/queries.py must produce exactly these
columns (tested, and checked again on every run before anything is written).
"""
from __future__ import annotations

QUERIES: dict[str, tuple[str, ...]] = {
    # police.insured_status: one row per person with a contribution in the last twelve months
    "insured_status": ("AAC002", "AAC003", "AAA002", "insured_flag", "AAB998", "last_contribution_month"),
    # central_bank.contribution_status: employers in arrears, then their staff whose contributions are owed
    "contribution_status": ("AAB998", "employer_name", "insured_headcount", "arrears_months", "AAC002",
                            "benefit_flag"),
    # finance.subsidy_claim: subsidy lines still in arrears, one per person, year and level
    "subsidy_claim": ("AAC002", "AAB301", "subsidy_level", "subsidy_year", "amount_due"),
}

#: The store tables (and "register") each named query reads: an outbound feed's DAG runs when one of
#: them was published into (dags/assets.py), besides its calendar schedule.  subsidy_claim reads the
#: subsidy lines, which the enrolments, assistance and payments published into these tables make.
READS: dict[str, tuple[str, ...]] = {
    "insured_status": ("contribution", "register"),
    "contribution_status": ("contribution", "employer_status", "pension_payment"),
    "subsidy_claim": ("resident_enrollment", "assistance", "subsidy_payment", "register"),
}
