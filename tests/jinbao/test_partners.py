"""The partner list is data (`dags/feeds/partners.yaml`, jinbao/partners.py): a partner added there alone
is one to feeds, agreements, keys and the DAG owner; a declaration naming any other is refused with its
file and key."""
from __future__ import annotations

import shutil
import sys

import pytest

from jinbao import keys
from jinbao.agreements import AgreementError, load_agreements
from jinbao.declarations import FeedError, load_feeds
from jinbao.partners import PartnerError, load_partners, partner_ids
from jinbao.settings import Settings, shipped_feeds_dir
from tests.conftest import REPO

EDUCATION = """  education:
    zh: 教育局
    en: education bureau
    owner: 教育 education
    certificate: edu_bureau
"""


def _declarations(tmp_path, partner_entry: str = EDUCATION):
    """The shipped declarations, copied, with a new partner added to partners.yaml (YAML only) and
    a feed and an agreement of that partner (copies of police's, renamed)."""
    folder = tmp_path / "feeds"
    shutil.copytree(shipped_feeds_dir(), folder, ignore=shutil.ignore_patterns("__*"))
    with (folder / "partners.yaml").open("a", encoding="utf-8") as fh:
        fh.write(partner_entry)
    feed = (folder / "police.death.yaml").read_text(encoding="utf-8")
    assert "feed: police.death\n" in feed and "partner: police\n" in feed
    (folder / "education.deaths.yaml").write_text(
        feed.replace("feed: police.death\n", "feed: education.deaths\n").replace("partner: police\n",
                                                                               "partner: education\n"),
        encoding="utf-8")
    agreement = folder / "agreements" / "police.insured_status.yaml"
    text = agreement.read_text(encoding="utf-8")
    assert "partner: police\n" in text
    (agreement.parent / "education.insured_status.yaml").write_text(
        text.replace("agreement: police.insured_status\n", "agreement: education.insured_status\n")
            .replace("partner: police\n", "partner: education\n"), encoding="utf-8")
    return folder


def test_the_shipped_partner_list_names_every_partner_once():
    partners = load_partners(shipped_feeds_dir())
    assert tuple(partners) == ("police", "civil_affairs", "health", "finance", "central_bank", "hrss")
    assert partners["police"].owner == "公安 police" and partners["police"].zh == "公安局"
    assert {p.certificate for p in partners.values()} == set(partners)      # as `jinbao keys init` always named them
    feeds = load_feeds(Settings(home="/nonexistent", feeds_dir=shipped_feeds_dir()))
    assert {s.partner for s in feeds.values()} == set(partners)


def test_a_partner_added_by_yaml_alone_has_feeds_agreements_keys_and_its_dag_owner(tmp_path, monkeypatch):
    folder = _declarations(tmp_path)
    assert load_partners(folder)["education"].en == "education bureau"
    feed = load_feeds(Settings(home=tmp_path, feeds_dir=folder))["education.deaths"]
    assert feed.partner == "education"
    assert load_agreements(folder)["education.insured_status"].partner == "education"

    monkeypatch.setenv("JINBAO_FEEDS_DIR", str(folder))
    assert "education" in partner_ids()
    home = tmp_path / "home"
    done = keys.init_keys(home)
    assert done["education"] == "created" and set(done) == {"hub", *partner_ids()}
    assert keys.cert_path(home, "edu_bureau").is_file()                   # its declared certificate name
    assert (keys.partner_cert(home, "education").public_key().public_numbers()
            == keys.partner_key(home, "education").public_key().public_numbers())
    assert "education" in keys.partner_certs(home)

    sys.path.insert(0, str(REPO + "/dags"))
    try:
        import dag_factory                  # dags/ is the DAG folder, not a package: as the DAG processor loads it
    finally:
        sys.path.remove(str(REPO + "/dags"))
    dag = dag_factory.build_inbound(feed)
    assert dag.owner == "教育 education"
    assert "教育局 education bureau" in dag.doc_md


@pytest.mark.parametrize("where", ["feed", "agreement"])
def test_a_declaration_naming_an_undeclared_partner_is_refused_with_file_and_key(tmp_path, where):
    folder = _declarations(tmp_path, partner_entry="")                  # education is not in partners.yaml
    if where == "feed":
        (folder / "agreements" / "education.insured_status.yaml").unlink()
        with pytest.raises(FeedError) as exc:
            load_feeds(Settings(home=tmp_path, feeds_dir=folder))
        path = folder / "education.deaths.yaml"
    else:
        with pytest.raises(AgreementError) as exc:
            load_agreements(folder)
        path = folder / "agreements" / "education.insured_status.yaml"
    message = str(exc.value)
    assert message.startswith(f"{path}: partner 'education' is not a declared partner"), message
    assert f"a new partner is an entry in {folder / 'partners.yaml'}" in message


@pytest.mark.parametrize("entry, says", [
    ("  education:\n    zh: 教育局\n    en: e\n    owner: o\n", "partners.education lacks partners.education.certificate"),
    ("  Education:\n    zh: 教育局\n    en: e\n    owner: o\n    certificate: e\n", "partner id 'Education'"),
    ("  education:\n    zh: 教育局\n    en: e\n    owner: ''\n    certificate: e\n",
     "partners.education.owner must be a non-empty text"),
    ("  education:\n    zh: 教育局\n    en: e\n    owner: o\n    certificate: police\n",
     "partners.education.certificate 'police' is already partner police's"),
])
def test_a_malformed_partner_entry_is_refused_naming_file_and_key(tmp_path, entry, says):
    folder = _declarations(tmp_path, partner_entry=entry)
    with pytest.raises(PartnerError) as exc:
        load_partners(folder)
    assert str(exc.value).startswith(f"{folder / 'partners.yaml'}: ") and says in str(exc.value), str(exc.value)
    with pytest.raises(FeedError, match="partners.yaml"):                 # and no feed loads without a list
        load_feeds(Settings(home=tmp_path, feeds_dir=folder))
