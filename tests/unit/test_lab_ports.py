"""The lab's port reservations (lab/ports.py): two servers are never handed one port, a
deployment keeps its own, and a reservation whose owner folder is gone is reused."""

from __future__ import annotations

import multiprocessing
import os
import socket
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import pytest

from lab import ports


@pytest.fixture
def reservations(tmp_path, monkeypatch):
    monkeypatch.setattr(ports, "RESERVED", tmp_path / "ports")
    return tmp_path


def _reserve_many(folder: str, count: int) -> list[int]:
    """In a process of its own, pointed at the test's reservations (monkeypatch stays here)."""
    ports.RESERVED = Path(folder) / "ports"
    owners = [Path(folder) / f"owner-{os.getpid()}-{n}" for n in range(count)]
    for owner in owners:
        owner.mkdir()
    return [ports.reserve(owner) for owner in owners]


def test_concurrent_reservations_never_share_a_port(reservations):
    # spawn, not fork: the xdist worker running this has threads a fork would copy mid-step
    with ProcessPoolExecutor(4, mp_context=multiprocessing.get_context("spawn")) as pool:
        batches = list(pool.map(_reserve_many, [str(reservations)] * 4, [25] * 4))
    handed = [port for batch in batches for port in batch]
    assert len(handed) == 100 == len(set(handed))
    assert all(ports.FIRST <= port <= ports.LAST for port in handed)


def test_a_deployment_keeps_its_port_and_never_one_another_holds(reservations):
    mine, theirs = reservations / "mine", reservations / "theirs"
    mine.mkdir(), theirs.mkdir()
    port = ports.reserve(mine)
    assert ports.keep(port, mine) == port
    assert ports.keep(port, theirs) != port
    assert ports.reserved()[port] == mine


def test_a_reservation_whose_owner_is_gone_is_reused(reservations, monkeypatch):
    gone = reservations / "gone"
    gone.mkdir()
    port = ports.reserve(gone)
    gone.rmdir()
    other = reservations / "other"
    other.mkdir()
    assert ports.keep(port, other) == port


def test_a_port_something_listens_on_is_not_handed_out(reservations, monkeypatch):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        taken = busy.getsockname()[1]
        monkeypatch.setattr(ports, "FIRST", taken)
        monkeypatch.setattr(ports, "LAST", taken + 1)
        owner = reservations / "owner"
        owner.mkdir()
        assert ports.reserve(owner) == taken + 1


def test_release_gives_the_port_back_only_for_its_owner(reservations):
    owner, stranger = reservations / "owner", reservations / "stranger"
    owner.mkdir(), stranger.mkdir()
    port = ports.reserve(owner)
    ports.release(port, stranger)
    assert port in ports.reserved()
    ports.release(port, owner)
    assert port not in ports.reserved()
