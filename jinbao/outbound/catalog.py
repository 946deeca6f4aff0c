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

#: Where each field of a query comes from in the store ("table.column"), for lineage (docs/lineage.md): the
#: columns its value is computed from, not those it is only filtered, joined or ordered by.  Every field of
#: QUERIES has an entry, and every column exists (tests/jinbao/outbound/test_catalog_sources.py).
SOURCES: dict[str, dict[str, tuple[str, ...]]] = {
    "insured_status": {
        "AAC002": ("contribution.aac002",),
        "AAC003": ("register.aac003",),
        "AAA002": ("register.aaa002",),
        "insured_flag": ("contribution.month", "contribution.paid_flag"),
        "AAB998": ("contribution.aab998",),
        "last_contribution_month": ("contribution.month", "contribution.paid_flag"),
    },
    "contribution_status": {
        "AAB998": ("contribution.aab998",),
        "employer_name": ("employer_status.employer_name",),
        "insured_headcount": ("contribution.aac002",),
        "arrears_months": ("contribution.month", "contribution.paid_flag"),
        "AAC002": ("contribution.aac002",),
        "benefit_flag": ("pension_payment.month",),
    },
    "subsidy_claim": {
        "AAC002": ("subsidy_line.aac002",),
        "AAB301": ("subsidy_line.aab301",),
        "subsidy_level": ("subsidy_line.subsidy_level",),
        "subsidy_year": ("subsidy_line.subsidy_year",),
        "amount_due": ("subsidy_line.amount_due",),
    },
}

#: Store tables that are not published by a feed but made from tables that are: the subsidy lines come from
#: the enrolments, the assistance categories, the payments and the register (jinbao/subsidies).
MADE_FROM: dict[str, tuple[str, ...]] = {
    "subsidy_line": ("resident_enrollment", "assistance", "subsidy_payment", "register"),
}


def _published_tables(query: str) -> tuple[str, ...]:
    tables = dict.fromkeys(col.split(".")[0] for cols in SOURCES[query].values() for col in cols)
    return tuple(dict.fromkeys(t for table in tables for t in MADE_FROM.get(table, (table,))))


#: The store tables (and "register") each named query reads, derived from SOURCES: an outbound feed's DAG
#: runs when one of them was published into (dags/assets.py), besides its calendar schedule.
READS: dict[str, tuple[str, ...]] = {query: _published_tables(query) for query in SOURCES}
