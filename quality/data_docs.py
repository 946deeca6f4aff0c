"""A batch's quality results as one page a person can open: `JINBAO_HOME/reports/quality/<feed>/<batch>/index.html`.

The page is built from the Great Expectations validation of the delivery as the
hub received it (quality/ge_check.py), but it is not GE's own Data Docs site:
that one loads Bootstrap, jQuery and fonts from CDNs (blank on an intranet),
prints sample values raw (citizen IDs, names, mojibake) and names columns as
the GE frame does (`hub__AAA002_12`).  This page is one file: inline CSS, no
script, no image, no font or stylesheet to fetch, and a Content-Security-Policy
of `default-src 'none'` so that a browser would refuse any fetch even if one
slipped in.  Every value it shows passes `shown()`: IDs masked
(110105********002X), names reduced to their first character (张*), garbled
text replaced by "(garbled text)", control characters made visible.  Fields
are named as a person reads them: "XB 性别 gender (hub AAA002)".

GE is slow, so judging never builds this page: `jinbao quality docs FEED
--batch N` does, and the judge's task log points there (`hint`); an Airflow
run builds it for a held batch only (its `finish` task), since a person will
open it, and the run's note links it (jinbao/report_links.py).  This
module imports neither GE nor pandas at import time; `data_docs_path` and
`hint` are cheap.
"""
from __future__ import annotations

import datetime as dt
import functools
import html
import json
import math
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from jinbao import ledger
from jinbao.display import visible_controls
from jinbao.files import write_atomically
from jinbao.formats.encoding import mojibake_pattern
from jinbao.privacy import mask_id, mask_name, mask_text
from jinbao.quality import rules
from jinbao.quality.columns import BIRTH, GENDER, ID, ID_BIRTH, ID_GENDER, STATED_GENDER, ge_column
from jinbao.quality.cross import declared_message
from jinbao.quality.judging import gate_for, open_delivery_csv
from jinbao.quality.reasons import REASONS
from jinbao.quality.suites import suite_specs
from jinbao.quality.value_rules import bound_text
from jinbao.schemas.dictionary import hub_dictionary

#: At most this many failing lines are listed per check (all of them are counted).
EXAMPLES = 10
#: Longest value shown; anything longer is cut with an ellipsis.
VALUE_MAX = 40

EMPTY = "(empty 空)"
GARBLED = "(garbled text 乱码)"
HIDDEN = "(not shown 不显示)"


def data_docs_path(cfg, feed: str, batch_id: int) -> Path:
    """Where `jinbao quality docs FEED --batch N` writes the batch's page (it may not exist yet)."""
    return Path(cfg.reports) / "quality" / feed / str(batch_id) / "index.html"


def hint(cfg, feed: str, batch_id: int) -> str:
    """The line a run's task log prints so that a person can reach the page: the command that writes it
    (nothing is written during judging; a held batch's page is written when its run finishes)."""
    return (f"quality results: jinbao quality docs {feed} --batch {batch_id} writes them to "
            f"{data_docs_path(cfg, feed, batch_id)}")


class NoDelivery(LookupError):
    """The batch's delivery is no longer in staging: there is nothing to validate."""


def build(cfg, spec, row: dict) -> Path:
    """Validate batch `row` (a ledger row of feed `spec`) with GE and write its page; return the page's path."""
    # pandas and GE (ge_check) load when a page is built: importing this module must stay cheap (docstring)
    import pandas as pd
    from jinbao.quality import ge_check

    staging = Path(row["staging_dir"] or "")
    data = staging / (row["data_file"] or row["file_name"])
    if not row["staging_dir"] or not data.is_file():
        raise NoDelivery(f"batch {row['id']}: the delivery is no longer in staging ({data})")
    gate = gate_for(spec, row["business_date"], staging,
                    not_after=ledger.latest_business_date(cfg.clock_allowance, row["received_at"]))
    stream = open_delivery_csv(data, ledger.encoding_of(row, spec.format.encoding), gate)   # as the manifest declared
    frames = [ge_check.ge_frame(b, lines, gate) for b, lines in stream.blocks()]
    frame = pd.concat(frames, ignore_index=True) if frames else None
    if frame is None:
        raise NoDelivery(f"batch {row['id']}: the delivery holds no records")
    run_name = f"{spec.name}_batch{row['id']}"
    result, lines = ge_check.run(frame, gate, "COMPLETE", name=run_name)
    page = render(spec, row, gate, result, lines, run_name)
    index = data_docs_path(cfg, spec.name, row["id"])
    index.parent.mkdir(parents=True, exist_ok=True)
    _write(index, page)
    suite = suite_json(gate)
    _write(index.parent / "suite.json", suite)
    _write(index.parent.parent / "suite.json", suite)     # the feed's suite, as of the last page built
    return index


def _write(path: Path, text: str) -> None:
    write_atomically(path, text)


# ---------------------------------------------------------------------------------------------------
# Names a person reads


@dataclass(frozen=True)
class Field:
    """One column of the GE frame as the page names it, and how its values may be shown."""

    title: str              # "XB 性别 gender (hub AAA002)"
    form: str               # as sent / translated / derived from the ID
    kind: str | None        # hub type of the values (citizen_id, name, ...), None when unknown
    personal: bool
    short: str = ""         # "XB": beside a value when a check compares two columns


class Names:
    """GE frame column -> Field, from the partner schema, the pinned mapping and the hub dictionary."""

    def __init__(self, gate):
        self.dictionary = hub_dictionary()
        self.partner_label = {c.name: c.label for c in gate.schema.columns}
        self.hub_of = {r.partner: r.hub for r in gate.mapping.fields}
        self.partner_of = {r.hub: r.partner for r in gate.mapping.fields}
        self.fields: dict[str, Field] = {}
        for name in gate.schema.names:
            code = self.hub_of.get(name)
            self.fields[name] = self._field(name, code, "as sent 原值")
        for code in self.partner_of:
            self.fields[ge_column(code)] = self._field(self.partner_of[code], code, "translated 转换后")
        id_from = f" (from {self.partner_of[ID]})" if ID in self.partner_of else ""
        self.fields[ID_BIRTH] = Field(f"出生日期 birth date inside the ID{id_from}", "derived from the ID 由身份号码推得",
                                      "date", False, "ID birth")
        self.fields[ID_GENDER] = Field(f"性别 gender by the ID's 17th digit{id_from}",
                                       "derived from the ID 由身份号码推得", "code", False, "ID gender")
        stated = self.fields.get(ge_column(GENDER))
        self.fields[STATED_GENDER] = Field((stated.title if stated else self._hub_title(GENDER)),
                                           "translated, 1/2 only 转换后（仅1/2）", "code", False,
                                           stated.short if stated else GENDER)
        if ge_column(BIRTH) not in self.fields:
            self.fields[ge_column(BIRTH)] = self.fields[ID_BIRTH]

    def _hub_title(self, code: str) -> str:
        spec = self.dictionary.get(code)
        return f"{spec.label} {spec.en} (hub {code})" if spec else f"(hub {code})"

    def _field(self, partner: str, code: str | None, form: str) -> Field:
        spec = self.dictionary.get(code) if code else None
        if spec is not None:
            return Field(f"{partner} {spec.label} {spec.en} (hub {code})", form, spec.type, spec.personal, partner)
        label = self.partner_label.get(partner)
        return Field(f"{partner} {label}" if label and label != partner else partner, form, None, False, partner)

    def __getitem__(self, column: str) -> Field:
        if column not in self.fields:   # a column this module does not know: never show its values
            name = column.removeprefix("hub__").removeprefix("ge__")
            self.fields[column] = Field(name, "", None, True, name)
        return self.fields[column]

    def partner_title(self, partner: str) -> str:
        return self.fields[partner].title if partner in self.fields else partner


# ---------------------------------------------------------------------------------------------------
# Values a person may see


@functools.lru_cache(maxsize=1)
def _garbled():
    return re.compile(mojibake_pattern())


def shown(value, field: Field) -> str:
    """The form of `value` (of a column named by `field`) that the page may print."""
    if value is None or isinstance(value, float) and math.isnan(value):
        return EMPTY
    if isinstance(value, tuple):
        raise TypeError("pairs are shown per column")
    if hasattr(value, "isoformat") or type(value).__name__ == "datetime64":
        text = str(value)[:10]
        return EMPTY if text in ("NaT", "nat") else text
    text = str(value)
    if _garbled().search(text):
        return GARBLED
    if field.personal:
        if field.kind == "citizen_id":
            text = mask_id(text)
        elif field.kind == "name" and len(text) <= VALUE_MAX:
            text = mask_name(text)
        else:
            return HIDDEN
    text = visible_controls(mask_text(text))
    return text if len(text) <= VALUE_MAX else text[:VALUE_MAX - 1] + "…"


# ---------------------------------------------------------------------------------------------------
# What each expectation checks, in words


def _describe(exp: dict, names: Names, gate) -> str:
    kw, t = exp["kwargs"], exp["type"]

    def col(key: str) -> str:
        return names[kw[key]].title

    if t == "expect_column_values_to_not_be_null":
        return "not empty 不得为空"
    if t == "expect_column_values_to_be_in_set":
        values = list(kw.get("value_set") or [])
        table = next((gate.mapping.code_tables[r.codes] for r in gate.mapping.fields
                      if r.partner == kw["column"] and r.codes and r.codes in gate.mapping.code_tables), None)
        listed = ", ".join(values) if len(values) <= 12 else f"{len(values):,} codes"
        if table is not None:
            return f"a code of table {table.label} 对照表代码 ({listed})"
        spec = names.dictionary.get(kw["column"].removeprefix("hub__"))
        if spec is not None and spec.type == "division":
            return f"a county-level GB/T 2260 code in force on {gate.business_date} 有效行政区划 ({listed})"
        if spec is not None and spec.type == "division_any":
            return (f"a province, city or county GB/T 2260 code in force on {gate.business_date} "
                    f"有效省、市、县行政区划 ({listed})")
        return f"one of the dictionary's codes 字典代码 ({listed})"
    if t == "expect_column_values_to_match_regex":
        return f"matches 符合 <code>{html.escape(kw['regex'])}</code>"
    if t == "expect_column_values_to_not_match_regex":
        words = {mojibake_pattern(): "no characters of a wrong decoding 无乱码",
                 rules.CONTROL_PATTERN: "no control characters (NUL, BEL, …) 无控制字符",
                 rules.NAME_FORBIDDEN: "no digits 不含数字"}
        return words.get(kw["regex"]) or f"does not match 不符合 <code>{html.escape(kw['regex'])}</code>"
    if t == "expect_column_values_to_match_strftime_format":
        return f"a real date written <code>{html.escape(kw['strftime_format'])}</code> 有效日期"
    if t == "expect_column_value_lengths_to_be_between":
        return f"at most {kw.get('max_value')} characters 长度上限"
    if t == "expect_column_values_to_be_between":
        low, limit = kw.get("min_value"), kw.get("max_value")
        business = {gate.latest.isoformat(), rules.month_end(gate.latest).isoformat()}
        if low is None and limit is not None and str(limit)[:10] in business:
            return f"not after {str(limit)[:10]} (business date) 不晚于业务日期"
        return _between(None if low is None else str(low)[:10], None if limit is None else str(limit)[:10])
    if t == "expect_column_values_to_be_number_between":
        return _between(bound_text(kw.get("lowest")), bound_text(kw.get("highest")))
    if t == "expect_column_value_lengths_to_equal":
        return f"exactly {kw.get('value')} characters 长度须为{kw.get('value')}"
    if t == "expect_column_values_to_pass_citizen_id_stage":
        return {"checksum": "GB 11643 check character right 校验位正确",
                "birth": f"birth date inside the ID exists, not after {kw.get('on')} 出生日期有效",
                "address": "address code was a GB/T 2260 county code 地址码有效"}.get(kw.get("stage"), kw.get("stage"))
    if t == "expect_column_values_to_be_valid_uscc":
        return "GB 32100 unified social credit code 统一社会信用代码校验"
    if t == "expect_column_pair_values_to_be_equal":
        return f"equals 等于 {html.escape(col('column_B'))}"
    if t == "expect_column_pair_values_a_to_be_greater_than_b":
        return f"on or after 不早于 {html.escape(col('column_B'))}"
    return html.escape(t)


def _between(low, high) -> str:
    """A declared range (quality/value_rules.py) in words."""
    if low is not None and high is not None:
        return f"from {low} to {high} 在{low}至{high}之间"
    return f"at least {low} 不小于{low}" if low is not None else f"at most {high} 不大于{high}"


def _reason_text(code: str, field: str, declared=()) -> tuple[str, str]:
    """The partners' bilingual message of a reason, without a value; `declared`: the feed's rules, whose
    own cross-field codes carry their declared message."""
    def clean(template: str) -> str:
        for gone in ("={value}", " {value}", "{value}"):
            template = template.replace(gone, "")
        return template.replace("{field}", field).rstrip("：: ")

    own = declared_message(code, declared)
    if own is not None:
        return own, own
    zh, en = REASONS.get(code, (code, code))
    return clean(zh), clean(en)


# ---------------------------------------------------------------------------------------------------
# The page


_STATUS = {"held": ("暂停发布 held for review", "bad"), "published": ("已发布 published", "ok"),
           "judged": ("已校验 judged", "ok"), "received": ("已接收 received", "neutral"),
           "refused": ("整批拒收 refused", "bad")}

CSS = """
:root{--ink:#1d2733;--muted:#5b6b7b;--line:#d9e0e7;--bg:#f5f7fa;--ok:#1f7a4d;--okbg:#e3f4ea;--bad:#b3261e;
--badbg:#fbe7e5;--accent:#1b4f8a}
*{box-sizing:border-box}
body{margin:0;background:var(--bg);color:var(--ink);font:14px/1.5 "Noto Sans CJK SC","Source Han Sans SC",
"Microsoft YaHei","PingFang SC","Helvetica Neue",Arial,sans-serif}
header{background:var(--accent);color:#fff;padding:18px 28px 14px}
header h1{margin:0;font-size:22px;font-weight:600}
header .sub{opacity:.9;margin-top:4px}
main{padding:18px 28px 40px;max-width:1400px}
h2{font-size:17px;margin:26px 0 10px;border-bottom:2px solid var(--line);padding-bottom:4px}
h3{font-size:15px;margin:18px 0 6px}
.facts{display:grid;grid-template-columns:repeat(auto-fit,minmax(150px,1fr));gap:10px;margin:4px 0 8px}
.card{background:#fff;border:1px solid var(--line);border-radius:6px;padding:10px 14px}
.card .k{color:var(--muted);font-size:12px}.card .v{font-size:22px;font-weight:600}
.card.bad .v{color:var(--bad)}.card.ok .v{color:var(--ok)}
.badge{display:inline-block;border-radius:10px;padding:1px 9px;font-size:12px;font-weight:600}
.badge.ok{background:var(--okbg);color:var(--ok)}.badge.bad{background:var(--badbg);color:var(--bad)}
.badge.neutral{background:#e8edf3;color:var(--muted)}
header .badge{font-size:13px;margin-left:8px}
table{border-collapse:collapse;width:100%;background:#fff;border:1px solid var(--line)}
table.checks{table-layout:fixed}table.checks td{overflow-wrap:anywhere}
th,td{text-align:left;vertical-align:top;padding:6px 9px;border-bottom:1px solid var(--line)}
th{background:#eef2f6;font-weight:600;font-size:13px}
td.n{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
tr.fail td{background:#fff8f7}
code,.mono{font-family:"Noto Sans Mono CJK SC",Consolas,Menlo,monospace;font-size:12.5px}
.ge{color:var(--muted);font-size:12px}
.ex{margin:0;padding:0;list-style:none}
.ex .ln{color:var(--muted);display:inline-block;min-width:5.5em}
dl.meta{display:grid;grid-template-columns:max-content 1fr;gap:2px 14px;margin:0}
dl.meta dt{color:var(--muted)}dl.meta dd{margin:0}
.note{color:var(--muted);font-size:12.5px}
footer{color:var(--muted);font-size:12px;padding:0 28px 30px;max-width:1400px}
@media print{header{background:none;color:var(--ink)}body{background:#fff}}
"""


def _e(text) -> str:
    return html.escape(str(text), quote=True)


def _columns(kwargs: dict) -> list[str]:
    if "column" in kwargs:
        return [kwargs["column"]]
    return [kwargs[k] for k in ("column_A", "column_B") if k in kwargs]


def _examples(result: dict, columns: list[str], names: Names) -> str:
    rows = sorted(result.get("unexpected_index_list") or [], key=lambda r: int(r.get("line_no", 0)))
    items = []
    for r in rows[:EXAMPLES]:
        if len(columns) == 1:
            value = _e(shown(r.get(columns[0]), names[columns[0]]))
        else:
            value = " · ".join(f'<span class="ge">{_e(names[c].short)}</span> {_e(shown(r.get(c), names[c]))}'
                               for c in columns)
        items.append(f'<li><span class="ln">line {int(r["line_no"])}</span><span class="mono">{value}</span></li>')
    more = len(rows) - EXAMPLES
    if more > 0:
        items.append(f'<li class="note">… and {more:,} more lines 另有 {more:,} 行</li>')
    return f'<ul class="ex">{"".join(items)}</ul>' if items else ""


def _frequent(result: dict, column: str, names: Names) -> str:
    """The most frequent failing values of a non-personal column (an unmapped code sent 500 times)."""
    field = names[column]
    if field.personal or not result.get("unexpected_list"):
        return ""
    counts = Counter(shown(v, field) for v in result["unexpected_list"] if not isinstance(v, tuple))
    top = [(v, n) for v, n in counts.most_common(3) if n > 1]
    if not top:
        return ""
    return '<div class="note">most frequent 最多: ' + ", ".join(f"{_e(v)} ×{n:,}" for v, n in top) + "</div>"


def render(spec, row: dict, gate, result, lines: dict, run_name: str) -> str:
    """The whole page as one HTML string (nothing else is written or fetched)."""
    import great_expectations as gx  # GE start-up is slow: only when a page is built

    names = Names(gate)
    checks = [(r.expectation_config.to_json_dict(), r.success, r.result or {}) for r in result.results]
    checked = max((res.get("element_count") or 0 for _, _, res in checks), default=0)
    failing_lines = set().union(*lines.values()) if lines else set()
    stats = result.statistics
    status, tone = _STATUS.get(str(row["status"]), (str(row["status"]), "neutral"))

    received = row.get("received")
    rejected = row.get("rejected")
    share = f"{rejected / received:.1%}" if received and rejected is not None else "–"
    cards = [("records checked 校验记录", f"{checked:,}", ""),
             ("checks 校验项", f"{stats['evaluated_expectations']}", ""),
             ("checks failed 未通过", f"{stats['unsuccessful_expectations']}",
              "bad" if stats["unsuccessful_expectations"] else "ok"),
             ("records failing a check 有问题记录", f"{len(failing_lines):,}", "bad" if failing_lines else "ok"),
             ("gate: received 接收", "–" if received is None else f"{received:,}", ""),
             ("gate: accepted 通过", "–" if row.get("accepted") is None else f"{row['accepted']:,}", "ok"),
             ("gate: rejected 拒收", "–" if rejected is None else f"{rejected:,} ({share})",
              "bad" if rejected else "")]
    cards_html = "".join(f'<div class="card {tone_}"><div class="k">{_e(k)}</div><div class="v">{_e(v)}</div></div>'
                         for k, v, tone_ in cards)

    # Rules that failed: one line per (reason, field), records counted once per rule.
    failed_rows = []
    for (reason, field), got in sorted(lines.items(), key=lambda kv: (-len(kv[1]), kv[0])):
        if not got:
            continue
        zh, en = _reason_text(reason, field, spec.quality.rules)
        failed_rows.append(
            f'<tr class="fail"><td><code>{_e(reason)}</code></td>'
            f'<td>{_e(zh)}<br><span class="note">{_e(en)}</span></td>'
            f"<td>{_e(names.partner_title(field))}</td><td class=n>{len(got):,}</td>"
            f"<td class=n>{len(got) / max(checked, 1):.1%}</td></tr>")
    if failed_rows:
        failed_html = ("<table><tr><th>reason 原因代码</th><th>rule 规则</th><th>field 字段</th>"
                       "<th>records 记录数</th><th>share 占比</th></tr>" + "".join(failed_rows) + "</table>")
    else:
        failed_html = '<p><span class="badge ok">✓</span> every check passed 全部通过</p>'

    # Every check, grouped by the partner field its failures are reported on.
    order = {name: i for i, name in enumerate(gate.schema.names)}
    groups: dict[str, list] = {}
    for exp, ok, res in checks:
        groups.setdefault(exp["meta"]["field"], []).append((exp, ok, res))
    sections = []
    for field in sorted(groups, key=lambda f: order.get(f, len(order))):
        body = []
        for exp, ok, res in groups[field]:
            cols = _columns(exp["kwargs"])
            on = names[cols[0]].form if cols else ""
            n = res.get("unexpected_count") or 0
            badge = '<span class="badge ok">✓ pass 通过</span>' if ok else \
                f'<span class="badge bad">✗ {n:,} failed 未通过</span>'
            body.append(
                f'<tr class="{"" if ok else "fail"}"><td><code>{_e(exp["meta"]["reason"])}</code></td>'
                f'<td>{_describe(exp, names, gate)}<div class="ge">{_e(on)} · <code>{_e(exp["type"])}</code></div></td>'
                f"<td>{badge}</td><td>{_examples(res, cols, names)}{_frequent(res, cols[0], names) if cols else ''}"
                "</td></tr>")
        sections.append(f"<h3>{_e(names.partner_title(field))}</h3><table class=checks><colgroup>"
                        '<col style="width:17%"><col style="width:43%"><col style="width:13%"><col></colgroup>'
                        "<tr><th>reason 原因代码</th>"
                        "<th>check 校验内容</th><th>result 结果</th><th>failing lines 问题行（已脱敏）</th></tr>"
                        + "".join(body) + "</table>")

    # The fields of the delivery and what the hub calls them.
    field_rows = []
    for c in gate.schema.columns:
        code = names.hub_of.get(c.name)
        hub = names.dictionary.get(code) if code else None
        field_rows.append(
            f"<tr><td><code>{_e(c.name)}</code></td><td>{_e(c.label)}</td>"
            f"<td>{_e(f'{hub.label} {hub.en} ({code})' if hub else (code or '–'))}</td>"
            f"<td>{'required 必填' if c.required else ''}</td>"
            f"<td>{'personal: masked 个人信息（已脱敏）' if hub and hub.personal else ''}</td></tr>")

    message = row.get("message")
    message_html = ""
    if message:
        text = mask_text(str(message))
        text = GARBLED if _garbled().search(text) else visible_controls(text)
        message_html = f"<dt>note 说明</dt><dd>{_e(text)}</dd>"
    release = (f'<dt>next 下一步</dt><dd>review, then <code>jinbao batches release {row["id"]}</code> '
               f"or ask {_e(spec.partner)} to resend 复核后放行或要求重报</dd>" if str(row["status"]) == "held" else "")
    received_at = row.get("received_at")
    generated = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")

    return f"""<!DOCTYPE html>
<html lang="zh-CN"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{_e(spec.name)} batch {row['id']} · 数据质量 quality results</title>
<style>{CSS}</style></head>
<body>
<header><h1>数据质量结果 Quality results · {_e(spec.title or spec.name)}</h1>
<div class="sub"><code>{_e(spec.name)}</code> · batch 批次 {row['id']} · {_e(row['file_name'])} ·
business date 业务日期 {_e(row['business_date'])}<span class="badge {tone}">{_e(status)}</span></div></header>
<main>
<div class="facts">{cards_html}</div>
<dl class="meta">
<dt>partner 报送单位</dt><dd>{_e(spec.partner)}</dd>
<dt>mapping 代码对照</dt><dd><code>{_e(row.get('mapping_version') or gate.mapping.label)}</code></dd>
<dt>received 接收时间</dt><dd>{_e(str(received_at)[:19] + ' UTC' if received_at else '–')}</dd>
{message_html}{release}
</dl>
<h2>Rules that failed 未通过的规则</h2>
{failed_html}
<p class="note">Great Expectations checked the delivery as it was received, with the mapping pinned at receipt.
The gate's counts above come from the hub's own checks (quality/verdict.py), which also reject what GE does not
see here: lines with the wrong number of fields, misplaced quotes and duplicate keys.
一条记录只要有一项未通过即整条拒收（一票否决）。</p>
<h2>Every check 全部校验</h2>
{"".join(sections)}
<h2>Fields 字段对照</h2>
<table><tr><th>partner field 报送字段</th><th>partner label 字段说明</th><th>hub field 中心字段</th>
<th></th><th></th></tr>{"".join(field_rows)}</table>
</main>
<footer>Great Expectations {_e(gx.__version__)} · validation <code>{_e(run_name)}</code> · page written {generated}
by <code>jinbao quality docs {_e(spec.name)} --batch {row['id']}</code>.
Citizen IDs are masked (110105********002X), names show their first character only, garbled text is not shown.
This page loads nothing from the network.</footer>
</body></html>
"""


def suite_json(gate) -> str:
    """The batch's expectation list in reading form (long code lists counted, not listed)."""
    suite = [{"type": s.type, "kwargs": {k: (v if not isinstance(v, list) or len(v) < 20 else f"{len(v)} codes")
                                          for k, v in s.kwargs.items()}, "reason": s.reason, "field": s.field}
             for s in suite_specs(gate)]
    return json.dumps(suite, ensure_ascii=False, indent=1, default=str)
