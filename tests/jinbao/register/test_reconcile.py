"""The register's rules, each case with its exact expected register, history and conflicts."""
from __future__ import annotations

import datetime as dt

from tests.jinbao.register.conftest import death, person

ID, ASSIST, DEATH, HEALTH, CREMATION = ("police.identity", "civil_affairs.assistance", "police.death",
                                        "health.death_certificate", "civil_affairs.cremation")


def _name(hub, pid):
    return hub.rows(f"select aac003, aac003_source, aac003_line from register where aac002 = '{pid}'")[0]


def _conflicts(hub):
    return hub.rows("select field, offered_source, value_offered, value_held, held_source, "
                    "case when resolved_at is null then 'open' else 'resolved' end from conflict order by 1, 2")


def test_new_people_get_every_offered_field_with_its_source_batch_and_line(hub):
    o = hub.publish(ID, [person(1, AAC005="01"), person(2)])
    p = person(1)["AAC002"]
    row = dict(zip(["aac003", "src", "batch", "line", "aac005", "aab301", "status"], hub.rows(
        f"select aac003, aac003_source, aac003_batch, aac003_line, aac005, aab301, life_status "
        f"from register where aac002 = '{p}'")[0]))
    assert row == {"aac003": "王芳", "src": ID, "batch": o.batch_id, "line": 2, "aac005": "01", "aab301": "110105",
                   "status": "alive"}
    assert hub.last.new == 2 and hub.rows("select count(*) from register_history") == [(0,)]


def test_lower_source_never_overwrites_and_its_disagreement_is_a_conflict(hub):
    hub.publish(ID, [person(1, AAC003="张叁")])
    hub.publish(ASSIST, [person(1, AAC003="张三", AAB301="310115")])
    p = person(1)["AAC002"]
    assert _name(hub, p)[:2] == ("张叁", ID)
    assert hub.rows(f"select aab301, aab301_source from register where aac002 = '{p}'") == [("110105", ID)]
    assert _conflicts(hub) == [("aab301", ASSIST, "310115", "110105", ID, "open"),
                               ("aac003", ASSIST, "张三", "张叁", ID, "open")]


def test_higher_source_overwrites_and_the_replaced_value_stays_in_conflict_and_history(hub):
    first = hub.publish(ASSIST, [person(1, AAC003="张三")])
    hub.publish(ID, [person(1, AAC003="张叁")])
    p = person(1)["AAC002"]
    assert _name(hub, p)[:2] == ("张叁", ID)
    assert _conflicts(hub) == [("aac003", ASSIST, "张三", "张叁", ID, "open")]
    assert hub.rows("select field, value, source_feed, batch_id, line_no from register_history") == [
        ("aac003", "张三", ASSIST, first.batch_id, 2)]


def test_an_outranked_feeds_word_is_kept_only_while_a_more_trusted_feed_holds_the_field(hub):
    """A death feed's new people: the register says what it offered, source_value holds nothing more.  Once
    the police identity takes the fields, what the death feed had said moves to source_value (from its
    batch and line), and its disagreement on the name is a conflict, exactly as had the identity come first."""
    p = person(1)["AAC002"]
    first = hub.publish(DEATH, [death(2, "2026-11-01"), death(1, "2026-11-02", AAC003="王方", dereg_reason="1")])
    assert hub.rows("select count(*) from source_value") == [(0,)]
    hub.publish(ID, [person(1, AAC003="王芳")])
    assert hub.rows(f"select field, source_feed, value, batch_id, line_no from source_value where aac002 = '{p}' "
                    "order by field") == [("aaa002", DEATH, "2", first.batch_id, 3),
                                          ("aab301", DEATH, "110105", first.batch_id, 3),
                                          ("aac003", DEATH, "王方", first.batch_id, 3)]
    assert _conflicts(hub) == [("aac003", DEATH, "王方", "王芳", ID, "open")]
    # still outranked, the death feed's next word goes to source_value and agrees: resolved
    hub.publish(DEATH, [death(1, "2026-11-02", AAC003="王芳", dereg_reason="1")])
    assert _conflicts(hub) == [("aac003", DEATH, "王方", "王芳", ID, "resolved")]
    assert hub.rows(f"select value from source_value where aac002 = '{p}' and field = 'aac003'") == [("王芳",)]


def test_either_order_ends_in_the_same_register_and_conflicts(store_url, tmp_path):
    from tests.jinbao.register.conftest import Hub

    ends = []
    for n, order in enumerate([(ID, ASSIST), (ASSIST, ID)]):
        folder = tmp_path / str(n)
        folder.mkdir()
        url = store_url if n == 0 else (store_url.replace("store.db", "store2.db") if "sqlite" in store_url
                                         else None)
        if url is None:      # one PostgreSQL database per test: empty it for the second order
            hub = Hub(store_url, folder)
            with hub.db.begin() as conn:
                for t in ("conflict", "register_history", "life_status_history", "register", "assistance",
                          "person", "rejection", "batch"):
                    conn.exec_driver_sql(f"delete from {t}")
        else:
            hub = Hub(url, folder)
        offers = {ID: person(1, AAC003="张叁"), ASSIST: person(1, AAC003="张三", AAB301="310115")}
        for feed in order:
            hub.publish(feed, [offers[feed]])
        ends.append((hub.rows("select aac003, aac003_source, aab301, aab301_source, life_status from register"),
                     _conflicts(hub)))
    assert ends[0] == ends[1]


def test_a_source_that_comes_to_agree_resolves_its_conflict(hub):
    hub.publish(ID, [person(1, AAC003="张叁")])
    hub.publish(ASSIST, [person(1, AAC003="张三")])
    hub.publish(ASSIST, [person(1, AAC003="张叁")])
    assert _conflicts(hub) == [("aac003", ASSIST, "张三", "张叁", ID, "resolved")]


def test_the_authority_changing_its_value_moves_open_conflicts_to_the_new_value(hub):
    hub.publish(ID, [person(1, AAC003="张叁")])
    hub.publish(ASSIST, [person(1, AAC003="张三")])
    hub.publish(ID, [person(1, AAC003="张三")])          # police now agree with civil affairs
    assert _conflicts(hub) == [("aac003", ASSIST, "张三", "张叁", ID, "resolved")]   # what was in conflict
    p = person(1)["AAC002"]
    assert hub.rows(f"select field, value, source_feed from register_history where aac002 = '{p}'") == [
        ("aac003", "张叁", ID)]


def test_same_source_later_batch_replaces_older_never(hub):
    hub.publish(ID, [person(1, AAC003="张叁")], day="2026-11-23", seq=2)
    late = hub.publish(ID, [person(1, AAC003="张三")], day="2026-11-22", seq=1)   # older, published late
    p = person(1)["AAC002"]
    assert _name(hub, p)[:2] == ("张叁", ID)
    assert hub.rows("select count(*) from register_history") == [(0,)]
    assert late.batch_id > 1 and _conflicts(hub) == []


def test_every_batch_reconciled_twice_changes_nothing(hub):
    batches = [hub.publish(ASSIST, [person(1, AAC003="张三"), person(2)]),
               hub.publish(ID, [person(1, AAC003="张叁"), person(3)]),
               hub.publish(DEATH, [death(2, "2026-11-01", dereg_reason="1")]),
               hub.publish(HEALTH, [death(2, "2026-11-03")]),
               hub.publish(ASSIST, [person(1, AAC003="张三", AAB301="310115")])]
    before = hub.snapshot()
    for b in batches:
        again = hub.again(b)
        assert (again.new, again.taken, again.conflicts, again.lives) == (0, 0, 0, 0)
    assert hub.snapshot() == before


def test_police_death_reasons_set_their_own_status(hub):
    hub.publish(DEATH, [death(1, "2026-11-01", dereg_reason="1"),
                        death(2, "2026-11-02", dereg_reason="2", dereg_date=dt.date(2026, 11, 5)),
                        death(3, "2026-11-03", dereg_reason="3", dereg_date=dt.date(2026, 11, 6)),
                        death(4, "2026-11-04", dereg_reason="9")])
    ids = [person(i)["AAC002"] for i in range(1, 5)]
    assert [hub.status(p)[:2] for p in ids] == [("deceased", "2026-11-01"), ("emigrated", "2026-11-05"),
                                               ("duplicate", "2026-11-06"), ("deregistered", "2026-11-04")]


def test_death_date_is_the_most_trusted_sources_and_every_change_is_history(hub):
    p = person(1)["AAC002"]
    hub.publish(CREMATION, [death(1, "2026-11-04")])
    assert hub.status(p) == ("deceased", "2026-11-04", CREMATION)
    hub.publish(HEALTH, [death(1, "2026-11-03")])
    hub.publish(DEATH, [death(1, "2026-11-02", dereg_reason="1")])
    hub.publish(CREMATION, [death(1, "2026-11-05")])             # a lower source's correction: no change
    assert hub.status(p) == ("deceased", "2026-11-02", DEATH)
    assert hub.history(p) == [("alive", "deceased", "2026-11-04", CREMATION),
                              ("deceased", "deceased", "2026-11-03", HEALTH),
                              ("deceased", "deceased", "2026-11-02", DEATH)]
    assert hub.rows(f"select source_feed, aac060 from death_record where aac002 = '{p}' order by 1") == [
        (CREMATION, _d(hub, "2026-11-05")),
        (HEALTH, _d(hub, "2026-11-03")), (DEATH, _d(hub, "2026-11-02"))]


def _d(hub, text):
    """A date as this backend returns it (SQLite gives text through a raw query)."""
    return text if hub.db.dialect.name == "sqlite" else dt.date.fromisoformat(text)


def test_a_death_outranks_an_emigration_whatever_the_source(hub):
    p = person(1)["AAC002"]
    hub.publish(DEATH, [death(1, "2026-10-01", dereg_reason="2", dereg_date=dt.date(2026, 10, 2))])
    hub.publish(HEALTH, [death(1, "2026-11-03")])
    assert hub.status(p) == ("deceased", "2026-11-03", HEALTH)
    assert hub.history(p) == [("alive", "emigrated", "2026-10-02", DEATH),
                              ("emigrated", "deceased", "2026-11-03", HEALTH)]


def test_withdrawal_restores_the_earlier_status_when_no_source_still_reports(hub):
    p = person(1)["AAC002"]
    hub.publish(HEALTH, [death(1, "2026-11-03")], day="2026-12-01")
    hub.publish(HEALTH, [death(1, "2026-11-03", death_action="2")], day="2026-12-02")
    assert hub.status(p) == ("alive", None, HEALTH)
    assert hub.history(p) == [("alive", "deceased", "2026-11-03", HEALTH), ("deceased", "alive", None, HEALTH)]


def test_withdrawal_by_one_source_leaves_the_others_death(hub):
    p = person(1)["AAC002"]
    hub.publish(DEATH, [death(1, "2026-11-02", dereg_reason="1")], day="2026-12-01")
    hub.publish(HEALTH, [death(1, "2026-11-03")], day="2026-12-01")
    hub.publish(DEATH, [death(1, "2026-11-02", dereg_reason="1", death_action="2")], day="2026-12-02")
    assert hub.status(p) == ("deceased", "2026-11-03", HEALTH)
    assert hub.history(p) == [("alive", "deceased", "2026-11-02", DEATH),
                              ("deceased", "deceased", "2026-11-03", HEALTH)]
    hub.publish(DEATH, [death(1, "2026-11-02", dereg_reason="1", death_action="1")], day="2026-12-03")
    assert hub.status(p) == ("deceased", "2026-11-02", DEATH)        # reported again
    assert len(hub.history(p)) == 3


def test_emigrant_restored_after_a_withdrawn_death(hub):
    p = person(1)["AAC002"]
    hub.publish(DEATH, [death(1, "2026-10-01", dereg_reason="2", dereg_date=dt.date(2026, 10, 2))])
    hub.publish(HEALTH, [death(1, "2026-11-03")], day="2026-12-01")
    hub.publish(HEALTH, [death(1, "2026-11-03", death_action="2")], day="2026-12-02")
    assert hub.status(p) == ("emigrated", "2026-10-02", DEATH)


def test_a_correction_from_the_same_source_replaces_its_date(hub):
    p = person(1)["AAC002"]
    hub.publish(DEATH, [death(1, "2026-11-02", dereg_reason="1")], day="2026-12-01")
    hub.publish(DEATH, [death(1, "2026-10-28", dereg_reason="1", death_action="1")], day="2026-12-02")
    assert hub.status(p) == ("deceased", "2026-10-28", DEATH)
    assert hub.history(p)[-1] == ("deceased", "deceased", "2026-10-28", DEATH)


def test_an_older_death_delivery_published_late_does_not_undo_a_withdrawal(hub):
    p = person(1)["AAC002"]
    hub.publish(HEALTH, [death(1, "2026-11-03", death_action="2")], day="2026-12-02", seq=5)
    hub.publish(HEALTH, [death(1, "2026-11-03")], day="2026-12-01", seq=4)      # released late
    assert hub.status(p) == ("alive", None, None)
    assert hub.history(p) == []


def test_withdrawing_a_death_never_reported_says_nothing(hub):
    p = person(1)["AAC002"]
    hub.publish(HEALTH, [death(1, "2026-11-03", death_action="2")], day="2026-12-02")
    assert hub.status(p) == ("alive", None, None) and hub.history(p) == []


def test_the_same_story_on_mariadb(mariadb_url, tmp_path):
    """MariaDB has no UPDATE ... FROM and keeps temporary tables past a rollback: the same set
    operations, the same outcome."""
    from tests.jinbao.register.conftest import Hub

    hub = Hub(mariadb_url, tmp_path)
    batches = [hub.publish(ASSIST, [person(1, AAC003="张三", AAB301="310115"), person(2)]),
               hub.publish(ID, [person(1, AAC003="张叁"), person(3)]),
               hub.publish(DEATH, [death(2, "2026-11-01", dereg_reason="1")], day="2026-12-01"),
               hub.publish(HEALTH, [death(2, "2026-11-03")], day="2026-12-01"),
               hub.publish(DEATH, [death(2, "2026-11-01", dereg_reason="1", death_action="2")], day="2026-12-02")]
    p1, p2 = person(1)["AAC002"], person(2)["AAC002"]
    assert _name(hub, p1)[:2] == ("张叁", ID)
    assert _conflicts(hub) == [("aab301", ASSIST, "310115", "110105", ID, "open"),
                               ("aac003", ASSIST, "张三", "张叁", ID, "open")]
    assert hub.status(p2) == ("deceased", "2026-11-03", HEALTH)
    before = hub.snapshot()
    for b in batches:
        hub.again(b)
    assert hub.snapshot() == before


def test_a_person_on_several_lines_offers_the_last_one(hub):
    """A roll lists a person once per month, civil affairs once per assistance period: the last line speaks."""
    hub.publish(ASSIST, [person(1, AAC003="张三", start_date=dt.date(2025, 1, 1)),
                         person(2),
                         person(1, AAC003="张叁", start_date=dt.date(2026, 1, 1))])
    p = person(1)["AAC002"]
    assert _name(hub, p) == ("张叁", ASSIST, 4)
    assert hub.last.people == 2 and hub.rows("select count(*) from register_history") == [(0,)]


def test_two_feeds_publishing_the_same_new_people_at_once(store_url, tmp_path):
    """One DAG per feed: police deaths and health certificates for the same new people publish at
    the same moment; neither may fail on the register's key, and both are reconciled."""
    import threading

    from tests.jinbao.register.conftest import Hub

    first = Hub(store_url, tmp_path)          # migrates the store once
    hubs = {DEATH: first, HEALTH: Hub(store_url, tmp_path)}
    rows = {DEATH: [death(i, "2026-11-02", dereg_reason="1") for i in range(200)],
            HEALTH: [death(i, "2026-11-03") for i in range(200)]}
    errors, start = [], threading.Barrier(2)

    def publish(feed):
        try:
            start.wait()
            hubs[feed].publish(feed, rows[feed], seq=1)
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=publish, args=(f,)) for f in rows]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert first.rows("select count(*), count(distinct aac002) from register") == [(200, 200)]
    assert first.rows("select life_status, life_status_date, life_status_source, count(*) from register "
                      "group by 1, 2, 3") in ([("deceased", "2026-11-02", DEATH, 200)],
                                              [("deceased", dt.date(2026, 11, 2), DEATH, 200)])


def test_conflicts_do_not_depend_on_the_order_feeds_arrive(store_url, tmp_path):
    """Health agreed with the name civil affairs held; then police deaths (above both) said another: both
    lower feeds now disagree, whichever order the three came in (the planted-truth run found this)."""
    import itertools

    from tests.jinbao.register.conftest import Hub

    offers = {ASSIST: person(1, AAC003="王芳"), HEALTH: death(1, "2026-11-03"),
              DEATH: death(1, "2026-11-02", AAC003="王方", dereg_reason="1")}
    ends = set()
    for n, order in enumerate(itertools.permutations(offers)):
        folder = tmp_path / str(n)
        folder.mkdir()
        if "sqlite" in store_url:
            hub = Hub(f"sqlite:///{folder / 'store.db'}", folder)
        else:
            hub = Hub(store_url, folder)
            with hub.db.begin() as conn:
                for t in ("conflict", "source_value", "register_history", "life_status_history", "register",
                          "assistance", "death_record", "rejection", "batch"):
                    conn.exec_driver_sql(f"delete from {t}")
        for feed in order:
            hub.publish(feed, [offers[feed]])
        ends.add((tuple(hub.rows("select aac003, aac003_source, life_status, life_status_source from register")),
                  tuple(_conflicts(hub))))
    assert ends == {((("王方", DEATH, "deceased", DEATH),),
                     (("aac003", ASSIST, "王芳", "王方", DEATH, "open"),
                      ("aac003", HEALTH, "王芳", "王方", DEATH, "open")))}


def test_an_unspecified_gender_is_no_offer(hub):
    """Police gender 9 (unspecified) neither replaces a known gender nor disagrees with it."""
    p = person(1)["AAC002"]
    hub.publish(HEALTH, [death(1, "2026-11-03", AAA002="2")])
    hub.publish(DEATH, [death(1, "2026-11-02", AAA002="9", dereg_reason="1")])
    assert hub.rows(f"select aaa002, aaa002_source from register where aac002 = '{p}'") == [("2", HEALTH)]
    assert _conflicts(hub) == []


def test_a_large_batch_offers_through_the_store_in_chunks(hub, monkeypatch):
    """Above OFFERS_IN_MEMORY (PostgreSQL) the offers reach the store chunk by chunk and the store keeps each
    person's last line: the same register, history and conflicts as the in-memory path."""
    from jinbao.register import reconcile

    def story():
        hub.publish(ASSIST, [person(1, AAC003="张三"), person(2), person(1, AAC003="张叁"), person(3, AAA002="9")])
        hub.publish(ID, [person(3, AAC003="李四"), person(1, AAA002="9"), person(4)])
        hub.publish(ASSIST, [person(4, AAC003="王五"), person(3, AAC003="李肆"), person(4, AAC003="王伍")])
        return hub.last, hub.snapshot()

    in_memory = story()
    if hub.db.dialect.name != "postgresql":
        return
    hub.db.dispose()
    with hub.db.begin() as conn:
        for table in ("conflict", "source_value", "register_history", "life_status_history", "register"):
            conn.exec_driver_sql(f"DELETE FROM {table}")
    monkeypatch.setattr(reconcile, "OFFERS_IN_MEMORY", 0)
    monkeypatch.setattr(reconcile, "OFFER_CHUNK", 2)
    calls = []
    fill = reconcile._fill_in_chunks
    monkeypatch.setattr(reconcile, "_fill_in_chunks", lambda *a: calls.append(1) or fill(*a))
    chunked = story()
    assert len(calls) == 3
    strip = lambda snap: {t: [tuple(v for v in r if not isinstance(v, (int, dt.datetime)) or isinstance(v, bool))
                              for r in rows] for t, rows in snap.items()}  # noqa: E731 - batch ids and stamps differ
    assert chunked[0] == in_memory[0]
    assert strip(chunked[1]) == strip(in_memory[1]) and chunked[1]["conflict"]
