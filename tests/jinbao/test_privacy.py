"""jinbao/privacy.py: IDs masked in logs and errors; partner text without hub paths or commands."""
from __future__ import annotations

import logging

from jinbao.privacy import MaskingFilter, mask_text, partner_text


def test_ids_are_masked_wherever_they_stand():
    assert mask_text("id=11010519491231002X, old 110105491231002.") == "id=110105********002X, old 110105*****1002."
    assert mask_text("batch 20261122000001 and 1234567890123456789") == \
        "batch 20261122000001 and 1234567890123456789"               # 14 and 19 digits: not IDs


def test_partner_text_has_no_hub_paths_commands_or_ids():
    text = ("police.death_1.csv: judge failed: [Errno 2] No such file: /srv/jinbao/var/staging/police.death/1/x.csv;"
            " run `jinbao batches release 3`, person 11010519491231002X")
    out = partner_text(text)
    assert "/srv" not in out and "jinbao batches" not in out and "11010519491231002X" not in out
    assert "x.csv" in out and "110105********002X" in out


def test_the_filter_masks_messages_arguments_and_tracebacks(caplog):
    log = logging.getLogger("jinbao.test_privacy")
    handler = logging.StreamHandler(open("/dev/null", "w"))
    handler.addFilter(MaskingFilter())
    record = log.makeRecord(log.name, logging.ERROR, __file__, 1, "insert of %s failed", ("11010519491231002X",),
                            None)
    assert handler.filter(record) and record.getMessage() == "insert of 110105********002X failed"
    try:
        raise ValueError("bad 11010519491231002X")
    except ValueError:
        import sys
        record = log.makeRecord(log.name, logging.ERROR, __file__, 1, "boom", (), sys.exc_info())
    handler.filter(record)
    assert "11010519491231002X" not in record.exc_text and "110105********002X" in record.exc_text


def test_a_column_is_masked_with_the_same_definition():
    import pyarrow as pa

    from jinbao.privacy import mask_column
    values = pa.array(["XB=11010519491231002X", None, "1", "张11010519491231002x殡仪馆", "１１０１０５１９４９１２３１００２Ｘ"])
    assert mask_column(values).to_pylist() == [mask_text(v) if v else v for v in values.to_pylist()]
    assert mask_column(values).to_pylist()[3] == "张110105********002x殡仪馆"
    assert "１２３１００" not in mask_column(values).to_pylist()[4]


def test_partner_text_cuts_hub_paths_with_spaces():
    home = "/srv/jinbao hub/var"
    text = (f"judge failed: [Errno 13] cannot lock {home}/staging/police.death/3/x.lock: '{home}/staging/p q.csv'; "
            f"store sqlite:///{home}/store.db; elsewhere: '/opt/other place/y.csv'")
    out = partner_text(text, [home])
    assert "srv" not in out and "jinbao hub" not in out and "staging" not in out and "other place" not in out
    assert "x.lock" in out and "'p q.csv'" in out and "store.db" in out and "'y.csv'" in out
