"""mappings/suggest.py (`jinbao mappings suggest`): a value map proposed from the store's register."""
from __future__ import annotations

from jinbao.cli import main
from tests.mappings.test_coverage import held_with_letter_codes


def test_suggest_for_a_changed_partner_code(home, capsys):
    held_with_letter_codes(home)
    capsys.readouterr()
    assert main(["mappings", "suggest", "police.death", "XB"]) == 0
    out = capsys.readouterr().out
    lines = {l.split(":")[0].strip().strip('"'): l for l in out.splitlines() if l.strip().startswith('"')}
    assert '"M": "1"' in lines["M"] and "support 19, agreement 100.0%" in lines["M"]
    assert '"F": "2"' in lines["F"] and "agreement 95.2%" in lines["F"]    # 20 of 21 (row 0 is a man sent as F)
