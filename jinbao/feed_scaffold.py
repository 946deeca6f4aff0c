"""`jinbao feeds new PARTNER FEED_NAME`: the three files of a new inbound feed, each key explained.

A newcomer copies a shipped feed and carries over what does not fit (its code tables, its rules, its
timetable); these files hold only what every feed needs, with placeholders in capitals that `jinbao
feeds check` refuses until they are filled: the declaration (dags/feeds/), the partner's file schema
(schemas/partners/) and the field map (mappings/feeds/).  Nothing is overwritten.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from jinbao.partners import partner_ids
from jinbao.mappings import tables as mapping_tables      # FEEDS_DIR read when used: tests point it elsewhere
from jinbao.schemas import dictionary                      # PARTNERS_DIR likewise
from jinbao.settings import Settings

#: A feed's name: partner.what, lower case (the delivery files are named <feed>_<YYYYMMDD>_<seq>.csv).
NAME = re.compile(r"[a-z_]+\.[a-z_]*[a-z]")
#: The placeholders to replace, each refused by `jinbao feeds check` while it is there.
PLACEHOLDERS = ("HUB_FIELD", "TARGET_TABLE")

DECLARATION = """\
# The declaration of {feed}: the DAG factory and `jinbao run` read only this (docs/architecture.md).
feed: {feed}                  # must equal the file name
partner: {partner}            # who delivers (partners.yaml beside this file): drop zone, owner team, key
direction: inbound
title: {feed}                 # the DAG list's name: write it in Chinese and English, e.g. 教育局在校学生 Enrolled students
description: |
  What the partner sends, how often, and what the hub does with it (shown in the DAG's docs).
schedule: "0 3 * * *"         # cron in China Standard Time: when the hub looks for deliveries
start_date: 2026-01-01
retries: 2                    # a failed task (store unreachable, ...) is tried again this often
retry_delay_minutes: 10
tags: [{partner}, inbound]
transport: {{kind: local}}      # the drop zone JINBAO_HOME/exchange_zone/{partner}/inbound; sftp, envelope: cms (docs/transport.md)
format: {{type: csv, encoding: UTF-8}}   # or GB18030, as the partner writes it
schema: {feed}                # schemas/partners/{feed}.yaml: the partner's columns
mapping: {feed}               # mappings/feeds/{feed}.yaml: partner column -> hub field
quality:
  max_reject_share: 0.20      # more records rejected than this share: the batch is held for a person
target:
  table: TARGET_TABLE         # the store table published into: schemas/tables/<table>.yaml (a new one: then `jinbao db revision`)
  set: {{source_feed: {feed}}}  # columns stamped on every row (only those the table has)
# expected: {{cadence: daily, business_date: day, due: "02:00", grace_hours: 2}}   # when deliveries are due (docs/expected.md)
"""

SCHEMA = """\
# The partner's file for {feed}: its columns in order, as the data-sharing agreement names them.
feed: {feed}
partner: {partner}
columns:
  # name: the header as the partner writes it; label: what it means; required: a delivery without it is refused
  - {{name: SFZH, label: 公民身份号码 citizen ID, required: true}}
  - {{name: XM, label: 姓名 name, required: true}}
"""

MAPPING = """\
# Field map for {feed}: partner column -> hub field (schemas/hub_dictionary.yaml), with the code table
# (mappings/codes/, `codes: TABLE`) or date layout (`date_format: "%Y%m%d"`) that turns the partner's
# value into the hub's.  Each hub field must be a column of the target table (`jinbao feeds check`).
feed: {feed}
versions:
  - version: "1"
    valid_from: 2026-01-01    # the agreement's first day; a later change is a new version from its day
    valid_to: null
    fields:
      SFZH: {{to: AAC002}}      # the citizen ID (GB 11643): the record's key in most tables
      XM: {{to: HUB_FIELD}}     # e.g. AAC003 (name)
"""


class ScaffoldError(ValueError):
    """The feed cannot be scaffolded (bad name, unknown partner, a file already there)."""


@dataclass(frozen=True)
class Scaffold:
    files: tuple[Path, ...]
    next_steps: str


def paths(feed: str, cfg: Settings) -> tuple[Path, Path, Path]:
    return (Path(cfg.feeds_dir) / f"{feed}.yaml", Path(dictionary.PARTNERS_DIR) / f"{feed}.yaml",
            Path(mapping_tables.FEEDS_DIR) / f"{feed}.yaml")


def scaffold(partner: str, name: str, cfg: Settings) -> Scaffold:
    """Write the feed's three files (FEED_NAME alone or partner.FEED_NAME); refuse to overwrite any."""
    feed = name if name.startswith(f"{partner}.") else f"{partner}.{name}"
    known = partner_ids(cfg.feeds_dir)
    if partner not in known:
        raise ScaffoldError(f"partner {partner!r} is not declared in {Path(cfg.feeds_dir) / 'partners.yaml'} "
                            f"({', '.join(known)}): add it there first")
    if not NAME.fullmatch(feed):
        raise ScaffoldError(f"feed name {feed!r} must be partner.what in lower-case letters and _ (e.g. "
                            f"{partner}.enrolled_students)")
    files = paths(feed, cfg)
    there = [str(p) for p in files if p.exists()]
    if there:
        raise ScaffoldError(f"not overwriting {', '.join(there)}: remove them or choose another name")
    for path, text in zip(files, (DECLARATION, SCHEMA, MAPPING)):
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "x", encoding="utf-8") as fh:
            fh.write(text.format(feed=feed, partner=partner))
    declaration, schema, mapping = files
    steps = (f"Next steps:\n"
             f"  1. edit {schema}: the partner's columns, in order\n"
             f"  2. edit {mapping}: each column's hub field (replace HUB_FIELD), code table or date format\n"
             f"  3. edit {declaration}: title, schedule, encoding, and target.table (replace TARGET_TABLE)\n"
             f"     a new table: declare it in schemas/tables/<table>.yaml (key and columns by hub field, as "
             f"schemas/tables/contribution.yaml),\n"
             f"     then `jinbao db revision -m \"<table> table\"`, review and commit the migration, `jinbao db upgrade`\n"
             f"  4. jinbao feeds check {feed}                      (every static check; exit 0 when all is well)\n"
             f"  5. jinbao feeds check {feed} --sample FILE.csv    (a partner's sample judged; nothing kept or sent)\n"
             f"  6. jinbao run {feed}                              (a delivery in the partner's inbound/ folder)")
    return Scaffold(files, steps)
