"""Stable reason codes with the bilingual messages partners read in receipts.

Codes are part of the interface with the partners (they match on them), so a
code is never renamed; new ones are only added.
"""
from __future__ import annotations

REASONS: dict[str, tuple[str, str]] = {
    "REQUIRED": ("必填字段为空：{field}", "required field {field} is empty"),
    "UNMAPPED_CODE": ("代码值无对照：{field}={value}", "code {value} of {field} has no mapping"),
    "DATE_INVALID": ("日期不存在或格式错误：{field}={value}", "{field}={value} is not a valid date"),
    "DATE_IN_FUTURE": ("日期晚于业务日期：{field}={value}", "{field}={value} is in the future"),
    "MONTH_IN_FUTURE": ("月份晚于业务日期所在月份：{field}={value}", "{field}={value} is after the business month"),
    "DEATH_BEFORE_BIRTH": ("死亡日期早于出生日期：{field}={value}", "death date {field}={value} is before birth"),
    "CREMATION_BEFORE_DEATH": ("火化日期早于死亡日期：{field}={value}",
                               "cremation date {field}={value} is before death"),
    "BEFORE_START": ("终止日期早于开始日期：{field}={value}", "{field}={value} is before the start date"),
    "ID_FORMAT": ("身份号码格式错误：{field}", "{field} is not an 18-character citizen ID"),
    "ID_CHECKSUM": ("身份号码校验位错误：{field}", "{field} fails the GB 11643 check digit"),
    "ID_BIRTHDATE_INVALID": ("身份号码中的出生日期不存在：{field}", "the birth date inside {field} does not exist"),
    "ID_ADDRESS_UNKNOWN": ("身份号码地址码不是行政区划代码：{field}",
                           "the address code of {field} was never a GB/T 2260 code"),
    "ID_BIRTHDATE_MISMATCH": ("出生日期与身份号码不符：{field}={value}",
                              "{field}={value} differs from the birth date inside the ID"),
    "ID_GENDER_MISMATCH": ("性别与身份号码第17位不符：{field}={value}",
                           "{field}={value} contradicts the 17th digit of the ID"),
    "DIVISION_UNKNOWN": ("行政区划代码无效：{field}={value}",
                         "{field}={value} is not a GB/T 2260 division code on that date"),
    # A division code abolished before the business date (mappings/successions.py; the message ends with the
    # successor or the candidates).  DIVISION_TRANSLATED is a warning in the receipt, never a rejection.
    "DIVISION_TRANSLATED": ("行政区划代码已撤销，宽限期内按继任代码接收，请尽快改报：{field}={value}",
                            "{field}={value} was abolished; within the grace period it is taken as its successor, "
                            "please send the new code"),
    "DIVISION_ABOLISHED": ("行政区划代码已撤销且宽限期已过，请改报继任代码：{field}={value}",
                           "{field}={value} was abolished and its grace period is over; send the successor code"),
    "DIVISION_SPLIT": ("行政区划代码已撤销并拆分，无法确定继任代码，请按实际所在地改报：{field}={value}",
                       "{field}={value} was abolished and split; the hub cannot tell which successor applies, "
                       "send the code of the actual place"),
    "USCC_CHECKSUM": ("统一社会信用代码校验位错误：{field}={value}",
                      "{field}={value} fails the GB 32100 check character"),
    "AMOUNT_INVALID": ("金额须为非负且最多两位小数：{field}={value}",
                       "{field}={value} must be non-negative with at most 2 decimals"),
    "NAME_INVALID": ("姓名含数字或过长：{field}", "{field} holds digits or is too long"),
    "TEXT_TOO_LONG": ("字段过长：{field}", "{field} is too long"),
    "CONTROL_CHAR": ("含控制字符（如NUL）：{field}", "{field} holds a control character (e.g. NUL)"),
    "BAD_ENCODING": ("字符编码错误（乱码）：{field}", "{field} holds characters of a wrong encoding"),
    "FORMAT_INVALID": ("格式错误：{field}={value}", "{field}={value} has the wrong format"),
    "FIELD_COUNT": ("字段个数与表头不符：{value}", "the line does not match the header: {value}"),
    "QUOTE_INVALID": ("双引号位置不符合约定（RFC 4180）：{value}", "a double quote is out of place (RFC 4180): {value}"),
    "LINE_TOO_LONG": ("行过长，超过任何记录可能的长度，未读取：{value}",
                      "the line is longer than any record can be and was not read: {value}"),
    # finance.subsidy_payment against the hub's subsidy lines (jinbao/subsidies/payments.py)
    "SUBSIDY_NO_LINE": ("无对应补贴明细（该人该年度该级别未参保或无补贴）：{field}={value}",
                        "no subsidy line for this person, year and level: {field}={value}"),
    "SUBSIDY_WRONG_DIVISION": ("补贴责任行政区划不符：{field}={value}",
                               "{field}={value} is not the division that owes this subsidy line"),
    "SUBSIDY_WRONG_AMOUNT": ("补贴金额与应补金额不符：{field}={value}",
                             "{field}={value} differs from the amount due on the subsidy line"),
    "SUBSIDY_ALREADY_PAID": ("该补贴明细已到账，重复拨付：{field}={value}",
                             "this subsidy line was already paid: {field}={value}"),
    # the kinds of declared value rule (quality/value_rules.py), when a declaration names no code of its own;
    # their messages say what was expected (EXPECTED below), these are the words without it
    "OUT_OF_RANGE": ("超出约定范围：{field}={value}", "{field}={value} is outside the agreed range"),
    "LENGTH_INVALID": ("长度不符合约定：{field}={value}", "{field}={value} does not have the agreed length"),
    "NOT_DIGITS": ("须全部为数字：{field}={value}", "{field}={value} must hold digits only"),
    "PATTERN_MISMATCH": ("不符合约定格式：{field}={value}", "{field}={value} does not have the agreed form"),
    "DUPLICATE_KEY": ("同一批次内主键重复：{field}，{value}", "the same key {field} appears more than once in the "
                      "delivery: {value}"),
}

#: Batch-level refusals (whole delivery), written to the receipt and the batch row.
BATCH_REASONS: dict[str, tuple[str, str]] = {
    "HEADER_MISMATCH": ("表头缺少约定字段", "the header lacks agreed columns"),
    "UNREADABLE": ("文件无法解析", "the file cannot be parsed"),
    "DUPLICATE_FILE": ("重复报送：与已接收文件内容相同", "duplicate: same content as an accepted delivery"),
    "SEQUENCE_REPLAYED": ("批次序号未递增", "sequence number not greater than the last accepted"),
    "NO_MAPPING": ("业务日期无生效的代码对照表", "no mapping version in force on the business date"),
    "HELD": ("拒绝比例超过阈值，整批暂停发布", "rejected share above the threshold: batch held"),
    # quality/suspect.py: a whole column failed one rule; held at the hub, whose detail is for its operators only
    "HUB_CONFIG_SUSPECTED": ("整批暂缓处理：本中心正在核查自身配置，核查后另行回执",
                             "held at the hub while it checks its own configuration; a receipt follows"),
    "BAD_SIGNATURE": ("清单签名验证失败", "the manifest signature does not verify"),
    "BAD_NAME": ("文件名不符合约定，未处理", "the file name does not follow the agreement; not read"),
    "NOT_A_FILE": ("不是普通文件（链接、设备或文件夹），未读取", "not a regular file (a link, a device or a folder); not read"),
    "NOT_SEALED": ("未加密签名的明文数据文件，未读取", "a plain data file where only signed, encrypted deliveries are "
                   "taken; not read"),
    "UNKNOWN_SIGNER": ("清单签名者不是报送单位", "the manifest is signed by someone other than the sender"),
    "MANIFEST_INVALID": ("清单缺项或与文件不符", "the manifest is incomplete or does not match the delivery"),
    "DECRYPT_FAILED": ("数据文件无法用本中心密钥解密", "the data file cannot be decrypted with the hub key"),
    "HASH_MISMATCH": ("数据摘要与清单不符", "the data's sha256 differs from the manifest"),
    "COUNT_MISMATCH": ("记录数与清单不符", "the record count differs from the manifest"),
    "ALREADY_TAKEN": ("该文件已接收处理，本次重复报送未再处理", "this exact delivery was already taken; nothing new"),
    "PROCESSING_FAILED": ("处理失败，整批拒收", "the delivery could not be processed and is refused whole"),
    "NO_CERTIFICATE": ("本中心未登记（或已撤销）报送单位的证书，报送不予受理",
                       "the hub holds no certificate of the sender (never installed or withdrawn): not accepted"),
    # certificates' validity and the hub's key rotation (jinbao/keys_expiry.py, jinbao/keys_rotation.py)
    "CERTIFICATE_EXPIRED": ("报送单位证书已过期，报送不予受理，请向本中心提供续期证书后重新报送",
                            "the sender's certificate has expired: not accepted; give the hub your renewed "
                            "certificate, then send again"),
    "CERTIFICATE_NOT_YET_VALID": ("报送单位证书尚未生效，报送不予受理", "the sender's certificate is not valid yet: "
                                  "not accepted"),
    "HUB_CERTIFICATE_RETIRED": ("数据文件加密所用的本中心证书已停用，请改用本中心现行证书加密后重新报送",
                                "the data file is encrypted to a hub certificate that is retired; encrypt it to the "
                                "hub's current certificate and send it again"),
    # a held delivery a person at the hub reviewed and refused (jinbao/release.py); the reviewer's reason follows
    "REFUSED_AFTER_REVIEW": ("经人工审核整批拒收，请更正后重新报送", "refused whole after review at the hub; please "
                             "correct it and send it again"),
    # agreements §5, what a delivery may contain
    "BUSINESS_DATE_IN_FUTURE": ("文件名中的业务日期晚于报送当日，整批拒收",
                                "the business date in the file name is after the day of delivery; refused whole"),
    "COLUMN_NOT_AGREED": ("表头含业务日期当日生效的交换协议未约定的字段，整批拒收",
                          "the header has a column the agreement in force on the business date does not have; "
                          "refused whole"),
}

#: Batch reasons whose ledger message is for the hub's operators only (mapping files, commands): a receipt
#: gives the partner the reason's own words and nothing more.
HUB_ONLY_DETAIL = {"HUB_CONFIG_SUSPECTED"}
#: Held for these, a batch sends no receipt until a person has answered (exchange_zone/finish.py).
NO_RECEIPT_WHILE_HELD = {"HUB_CONFIG_SUSPECTED"}

#: What an operator does next about a refused delivery (log lines, never a partner's receipt); {partner}
#: is the sender.  A code without an entry needs nothing beyond the receipt the partner already has.
NEXT_STEPS: dict[str, str] = {
    "CERTIFICATE_EXPIRED": "nothing was read; obtain {partner}'s renewed certificate, check it out of band, install "
                           "it with `jinbao keys install {partner} FILE` and ask {partner} to send again "
                           "(`jinbao keys list` shows every certificate's expiry)",
    "CERTIFICATE_NOT_YET_VALID": "nothing was read; the certificate installed for {partner} is not valid yet: "
                                 "check the hub's clock, or install the certificate valid now with `jinbao keys "
                                 "install {partner} FILE`, and ask {partner} to send again",
    "HUB_CERTIFICATE_RETIRED": "nothing was read; {partner} still encrypts to the hub certificate retired at the end "
                               "of the last rotation's overlap: give {partner} the current keys/hub.crt again "
                               "(`jinbao keys list` shows both) and ask it to send again",
    "BUSINESS_DATE_IN_FUTURE": "nothing was published and its sequence stays free; ask {partner} to send it again "
                               "under the business date it covers, and if they insist the date is right, check the "
                               "hub's clock (JINBAO_CLOCK_ALLOWANCE is the leeway)",
    "COLUMN_NOT_AGREED": "nothing was published; ask {partner} to send it again with the agreed columns only (or, "
                         "for a column a later agreement adds, under a business date from that day); if the "
                         "agreement itself has changed, add a mapping version from its date (docs/mappings.md)",
}


def next_step(code: str | None, partner: str) -> str | None:
    """The operator's next step for a refusal `code`, or None."""
    step = NEXT_STEPS.get(code or "")
    return step.format(partner=partner) if step else None


#: Messages that state what was agreed, when the caller knows it ({expected}): the date layout of the
#: mapping (YYYYMMDD), the code table's values, a declared value rule's bound.  A partner told only that
#: "2008/01/01 is not a valid date" cannot tell whether the date or the agreement is wrong.
EXPECTED: dict[str, tuple[str, str]] = {
    "DATE_INVALID": ("日期不存在或不符合约定格式{expected}：{field}={value}",
                     "{field}={value} is not a date in the agreed format {expected}"),
    "UNMAPPED_CODE": ("代码值无对照：{field}={value}，约定代码值：{expected}",
                      "code {value} of {field} has no mapping; agreed values: {expected}"),
}
#: A declared value rule's message (quality/value_rules.py), whatever its code: the value, then what was
#: expected; without the value for a personal field.
DECLARED = ("{expected}：{field}={value}", "{field}={value}: {expected}")
DECLARED_UNSHOWN = ("{expected}：{field}", "{field}: {expected}")


def _templates(code: str, expected, shown: bool) -> tuple[str, str]:
    if expected is None:
        return REASONS.get(code, ("{field}={value}", "{field}={value}"))
    return EXPECTED.get(code) or (DECLARED if shown else DECLARED_UNSHOWN)


def message(code: str, field: str, value: str | None = None, expected: str | tuple[str, str] | None = None) -> str:
    """The partner's bilingual message; `expected`: what was agreed, one text or (Chinese, English)."""
    zh, en = _templates(code, expected, value is not None)
    shown = "" if value is None else value
    zh_expected, en_expected = (expected, expected) if isinstance(expected, str) or expected is None else expected
    return (f"{zh.format(field=field, value=shown, expected=zh_expected)} / "
            f"{en.format(field=field, value=shown, expected=en_expected)}")


def messages(code: str, field: str, values, expected: str | tuple[str, str] | None = None, shown: bool = True):
    """The same message for a whole column of failing values, without a per-row loop; `shown`: whether
    the values are the partner's (False: nulls standing for a personal field's, never echoed)."""
    # DAG parsing: declarations import REASONS from here; pyarrow only in tasks
    import pyarrow as pa
    import pyarrow.compute as pc

    template = message(code, field, "\x00" if shown else None, expected)
    if "\x00" not in template:
        return pa.array([template] * len(values), pa.string())
    parts = template.split("\x00")
    sent = pc.fill_null(values.cast(pa.string()), "")
    pieces = [pa.scalar(parts[0])]
    for part in parts[1:]:
        pieces += [sent, pa.scalar(part)]
    return pc.binary_join_element_wise(*pieces, "")
