"""`jinbao conflicts` and `jinbao lineage` on deliveries that went through the whole engine."""
from __future__ import annotations

import pytest

from jinbao.cli import main
from tests.deliveries import citizen_id, write_delivery

IDENTITY = ["GMSFHM", "XM", "XB", "CSRQ", "MZ", "HJDZ_XZQH", "BGRQ"]
ASSISTANCE = ["SFZH", "XM", "SEX", "JZLB", "XZQH", "KSRQ", "ZZRQ"]


def _identity(i: int, name: str, county: str = "110105") -> dict:
    return {"GMSFHM": citizen_id(i, male=True, birth="19450301"), "XM": name, "XB": "1", "CSRQ": "19450301",
            "MZ": "01", "HJDZ_XZQH": county, "BGRQ": "20261120"}


def _assistance(i: int, name: str, county: str = "110105") -> dict:
    return {"SFZH": citizen_id(i, male=True, birth="19450301"), "XM": name, "SEX": "2", "JZLB": "01",
            "XZQH": county, "KSRQ": "2026-01-01", "ZZRQ": ""}


def _run_day(cfg, day: str, seq: int, identity: list[dict], assistance: list[dict]) -> None:
    write_delivery(cfg.inbound("civil_affairs"), "civil_affairs.assistance", assistance, date=day, seq=seq,
                   encoding="UTF-8", columns=ASSISTANCE)
    write_delivery(cfg.inbound("police"), "police.identity", identity, date=day, seq=seq, columns=IDENTITY)
    assert main(["run", "civil_affairs.assistance"]) == 0
    assert main(["run", "police.identity"]) == 0


def test_conflicts_and_lineage_after_two_days(home, capsys):
    pid = citizen_id(1, male=True, birth="19450301")
    _run_day(home, "20261122", 1, [_identity(1, "张叁"), _identity(2, "李四")],
             [_assistance(1, "张三", "310115"), _assistance(2, "李四")])
    _run_day(home, "20261123", 2, [_identity(1, "张叄")], [_assistance(2, "李肆")])
    capsys.readouterr()

    assert main(["conflicts"]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert lines[0].split()[:3] == ["person", "field", "held"]
    body = sorted(" ".join(line.split()[1:7]) for line in lines[1:])
    assert body == ["AAB301 110105 police.identity (2) 310115 civil_affairs.assistance",
                    "AAC003 张叄 police.identity (4) 张三 civil_affairs.assistance",
                    "AAC003 李四 police.identity (2) 李肆 civil_affairs.assistance"]
    assert pid not in out and pid[:6] + "********" + pid[-4:] in out

    assert main(["conflicts", "--field", "AAB301"]) == 0
    assert len(capsys.readouterr().out.splitlines()) == 2
    with pytest.raises(SystemExit) as usage:
        main(["conflicts", "--field", "NAME"])
    assert usage.value.code == 2 and "no register field 'NAME'" in capsys.readouterr().err

    assert main(["lineage", pid, "AAC003"]) == 0
    out = capsys.readouterr().out
    assert pid not in out
    assert "AAC003 姓名 name = 张叄" in out
    assert "from    police.identity, batch 4, police.identity_20261123_000002.csv line 2" in out
    assert "passed  mapping police.identity@2024.1" in out and "rules 0.1.0+" in out
    replaced = [line for line in out.splitlines() if line.strip().startswith("replaced")]
    assert len(replaced) == 2
    assert "replaced 张三  (civil_affairs.assistance, batch 1, civil_affairs.assistance_20261122_000001.csv line 2;" \
        in replaced[0] and "by batch 2" in replaced[0]
    assert "replaced 张叁  (police.identity, batch 2, police.identity_20261122_000001.csv line 2;" in replaced[1] \
        and "by batch 4" in replaced[1]

    assert main(["lineage", pid]) == 0
    out = capsys.readouterr().out
    assert "LIFE_STATUS 生存状态 life status = alive" in out and "AAC005 民族 ethnicity = 01" in out

    assert main(["lineage", citizen_id(9)]) == 1
    err = capsys.readouterr().err
    assert "is not in the register" in err and citizen_id(9) not in err
