"""A till joins HQ: a role of its own, [hq] in config.toml without the password, the password in a
0600 file; a till id is the box's that enrolled it."""

from __future__ import annotations

import json
import shutil
import stat

import pytest

from hq_cluster import enrol, till_dir
from tui_pos.config import load_config
from tui_pos.domain.errors import BadInput
from tui_pos.hq.connection import HqError, HqUnreachable, connect
from tui_pos.hq.enrol import join, secret_path, till_dsn, with_hq_section
from tui_pos.hq.stream import high_water

psycopg = pytest.importorskip("psycopg", reason="psycopg (3) is not installed: pip install -e .[test] (make venv)")


def test_joining_writes_hq_in_config_toml_and_the_password_apart(hq, tmp_path):
    data_dir = till_dir(tmp_path / "t1")
    before = (data_dir / "config.toml").read_text()
    result = join(load_config(data_dir), hq, "S1")
    assert (result["till"], result["shop"], result["rejoined"], result["high_water"]) == ("T1", "S1", False, 0)
    config = load_config(data_dir)
    assert config.hq.shop == "S1" and config.till_id == "T1"
    params = psycopg.conninfo.conninfo_to_dict(config.hq.dsn)
    assert "password" not in params and params["user"] == result["role"] and params["dbname"] in hq
    text = (data_dir / "config.toml").read_text()
    assert text.startswith(before.rstrip("\n")) and "password" not in text.lower()
    secret = secret_path(data_dir)
    assert stat.S_IMODE(secret.stat().st_mode) == 0o600 and stat.S_IMODE(secret.parent.stat().st_mode) == 0o700
    held = json.loads(secret.read_text())
    assert held["password"] and held["till"] == "T1" and held["box_id"]
    with connect(till_dsn(config)) as conn:  # the till's own login, checked by the server's scram
        assert conn.execute("SELECT session_user").fetchone() == (result["role"],)
        assert high_water(conn) == 0
    bad = psycopg.conninfo.make_conninfo(config.hq.dsn, password="wrong")
    with pytest.raises(HqUnreachable, match="password authentication failed"):
        connect(bad)


def test_the_same_box_may_join_again_and_keeps_its_password(hq, tmp_path):
    data_dir = till_dir(tmp_path / "t1")
    first = enrol(hq, data_dir)
    again = join(load_config(data_dir), hq, "S1")
    assert again["rejoined"] is True
    assert till_dsn(load_config(data_dir)) == first
    assert (data_dir / "config.toml").read_text().count("[hq]") == 1
    with connect(first) as conn:
        assert high_water(conn) == 0


def test_another_box_claiming_an_enrolled_till_id_is_refused(hq, tmp_path):
    first = till_dir(tmp_path / "box1")
    enrol(hq, first)
    second = till_dir(tmp_path / "box2")  # another box, configured with the same till id
    with pytest.raises(HqError, match=r"till T1 is already enrolled at HQ by another box \(shop S1, since .*\): "
                                      r"this box cannot join as till T1"):
        join(load_config(second), hq, "S1")
    copied = tmp_path / "copy"  # a copy of the first box's config without its secret is another box too
    shutil.copytree(first, copied, ignore=shutil.ignore_patterns("hq"))
    with pytest.raises(HqError, match="already enrolled at HQ by another box"):
        join(load_config(copied), hq, "S2")
    lower = till_dir(tmp_path / "box3", "t1")  # t1 would share T1's role: the same id to HQ
    with pytest.raises(HqError, match="till T1 is already enrolled at HQ by another box"):
        join(load_config(lower), hq, "S1")
    assert load_config(second).hq.dsn == ""  # nothing of a refused join in its config.toml
    with connect(hq) as admin:
        assert admin.execute("SELECT shop_id, till_id FROM hq.till").fetchall() == [("S1", "T1")]


def test_joining_another_shop_an_unknown_shop_or_another_id_is_refused_with_what_to_do(hq, tmp_path):
    data_dir = till_dir(tmp_path / "t1")
    with pytest.raises(HqError, match=r"shop S9 is not at HQ: add it first \(tui-pos hq shop add S9\)"):
        join(load_config(data_dir), hq, "S9")
    enrol(hq, data_dir)
    with pytest.raises(HqError, match="till T1 is enrolled in shop S1 at HQ, not S2: join with --shop S1"):
        join(load_config(data_dir), hq, "S2")
    with pytest.raises(BadInput, match=r"this till's id is T1 .*set id = \"T7\" there first, or leave out --till"):
        join(load_config(data_dir), hq, "S1", till="T7")
    with pytest.raises(BadInput, match="is not a shop id"):
        join(load_config(data_dir), hq, "S 1")


def test_the_hq_section_replaces_an_older_one_and_keeps_everything_else():
    text = '[till]\nid = "T1"\n\n[hq]\ndsn = "old"\nshop = "S0"\n\n[shop]\nname = "x"\n'
    assert with_hq_section(text, 'host=h user=u dbname="a b"', "S1") == (
        '[till]\nid = "T1"\n\n[shop]\nname = "x"\n\n[hq]                            # written by tui-pos hq join\n'
        'dsn = "host=h user=u dbname=\\"a b\\""\nshop = "S1"\n')


def test_a_till_that_has_not_joined_has_no_hq_dsn(tmp_path):
    assert till_dsn(load_config(till_dir(tmp_path / "t1"))) == ""


def test_a_config_that_cannot_take_hq_is_refused_whole_in_the_shops_language(tmp_path):
    """config.toml already bad: [hq] is not added, and the refusal says the file's problem in the
    shop's language within its own sentence (not its English glued in)."""
    from tui_pos import i18n
    from tui_pos.hq.enrol import write_hq_section

    (tmp_path / "config.toml").write_text('[till]\npin_attempts = 0\n', encoding="utf-8")
    with pytest.raises(HqError) as refused:
        write_hq_section(tmp_path, "host=hq dbname=pos user=till_s1", "S1")
    assert "[till] pin_attempts must be a whole number" in str(refused.value)
    i18n.use_language("zh_CN")
    try:
        said = i18n.message(refused.value)
    finally:
        i18n.use_language("en")
    assert "[till] pin_attempts" in said and "must" not in said and "whole number" not in said, said
    assert "[hq]" not in (tmp_path / "config.toml").read_text(encoding="utf-8")
