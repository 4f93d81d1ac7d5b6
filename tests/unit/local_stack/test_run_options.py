"""`make run`'s options: which database, where data is kept, how many edges on which addresses."""

from __future__ import annotations

from pathlib import Path

import pytest

from local_stack.__main__ import admin_key, edge_hosts, keeps_data, parse_args


def test_by_default_dynamodb_local_keeps_its_data_and_one_edge_listens_on_127_0_0_1() -> None:
    args = parse_args([])
    assert (args.dynamodb, args.edges, keeps_data(args)) == ("dynamodb-local", 1, True)
    assert edge_hosts(1) == ["127.0.0.1"]


def test_several_edges_get_their_own_loopback_addresses() -> None:
    assert edge_hosts(3) == ["127.0.0.11", "127.0.0.12", "127.0.0.13"]


@pytest.mark.parametrize(
    "argv", [["--in-memory"], ["--dynamodb", "moto"], ["--dynamodb-endpoint", "http://127.0.0.1:8000"]]
)
def test_nothing_is_kept_in_memory_with_moto_or_with_a_database_of_ones_own(argv: list[str]) -> None:
    assert not keeps_data(parse_args(argv))


def test_edges_beyond_the_loopback_plan_are_refused() -> None:
    with pytest.raises(SystemExit):
        parse_args(["--edges", "10"])


def test_the_admin_key_is_kept_with_the_data(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SWITCHBOARD_ADMIN_KEY", raising=False)
    args = parse_args(["--data", str(tmp_path)])
    first = admin_key(args)
    assert admin_key(args) == first
    assert (tmp_path / "admin-key").stat().st_mode & 0o077 == 0  # readable by its owner only
    assert admin_key(parse_args(["--data", str(tmp_path), "--in-memory"])) != first


def test_an_admin_key_from_the_environment_wins(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SWITCHBOARD_ADMIN_KEY", "sb_admin_given")
    assert admin_key(parse_args(["--data", str(tmp_path)])) == "sb_admin_given"
    assert not (tmp_path / "admin-key").exists()
