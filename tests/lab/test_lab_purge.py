"""`python -m lab purge` finds every piece of a deployment, also one whose folder was deleted
by hand, and its sweeps remove them. The whole purge runs at the start of CI (scripts/test
--from-scratch), which then fails if anything is left; here only this test's own deployment
is swept, so the shared lab stays up."""

from __future__ import annotations

import contextlib
import os
import shutil

import pytest

from lab import Lab, LabError, registry
from lab.purge import KINDS, leftovers

pytestmark = pytest.mark.lab


def test_the_sweeps_find_and_remove_a_deployment_whose_folder_is_gone(tmp_path_factory):
    lab = Lab(project=f"purge{os.getpid()}", root=tmp_path_factory.mktemp("wa-lab"))
    lab.up()
    api_pid = lab.api_server.pid()
    expected = {
        "deployments": [lab.dir.absolute()],
        "servers (API stand-ins, sshd)": [api_pid],
        "containers": [lab.container_name(service) for service in lab.services],
        "volumes": [lab.media_volume, f"{lab.project}_mysqlData"],
        "MariaDB databases and accounts": [f"database {lab.db_name}", f"account {lab.db_user}"],
        "cron files": [lab.cron_file],
    }
    shutil.rmtree(lab.dir)                    # deleted by hand: `down` can no longer find it
    try:
        for kind in KINDS:
            if kind.name in expected:
                mine = [piece for piece in kind.find() if piece in expected[kind.name]]
                assert sorted(mine, key=str) == sorted(expected[kind.name], key=str), kind.name
                kind.remove(mine)
        for kind in KINDS:
            if kind.name in expected:
                assert not set(kind.find()) & set(expected[kind.name]), kind.name
        assert lab.dir.absolute() not in registry.remembered()
        assert not any(lab.project in line for line in leftovers())
    finally:
        with contextlib.suppress(LabError, OSError):
            lab.down()                        # whatever a failed sweep left
