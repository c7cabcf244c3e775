"""The cron daemon that runs decides which crontabs count (issue 13 item 5), against a real busybox
crond: the audit runs in a process table of its own (unshare) where busybox crond is the host's only
cron daemon, with a private /var/spool/cron/crontabs (tmpfs) — the host's Debian cron and spool
stay untouched."""

from __future__ import annotations

import pytest

from lab import cron as host_cron

pytestmark = pytest.mark.lab
SPOOL = "/var/spool/cron/crontabs"
# In the new namespaces: a private spool holding $ROOT_CRONTAB (if any), a private pid file (busybox
# crond writes /var/run/crond.pid, the host cron's), busybox crond, then the audit.
UNDER_BUSYBOX = ("unshare", "--mount", "--pid", "--fork", "--mount-proc", "sh", "-ec",
                 f'mount -t tmpfs wa-lab-spool {SPOOL}\n'
                 '[ -e /run/crond.pid ] || : > /run/crond.pid\n'
                 f'pid={SPOOL}/.crond.pid; : > "$pid"; mount --bind "$pid" /run/crond.pid\n'
                 f'[ -z "$ROOT_CRONTAB" ] || {{ printf "%s" "$ROOT_CRONTAB" > {SPOOL}/root; chmod 600 {SPOOL}/root; }}\n'
                 f'busybox crond -f -c {SPOOL} &\n'
                 'exec "$@"', "sh")


def test_busybox_crond_never_reads_cron_d_but_reads_roots_crontab(lab_biz, audit):
    ignored = audit("--host=lab", "-m", "cron", prefix=UNDER_BUSYBOX, env={"ROOT_CRONTAB": ""})
    daemon, = ignored.of("lab", "CRON-001")
    assert daemon["outcome"] == "pass" and daemon["message"].startswith("busybox crond (pid "), daemon
    containers = {name for names in lab_biz.container_names().values() for name in names}
    for result in ignored.of("lab", "CRON-002"):
        assert result["outcome"] == "fail", result
        assert f"({lab_biz.cron_file}:" in result["message"], result
        assert (" would, but cron ignores that file: busybox crond reads only the crontabs of users in its crontab "
                f"directory ({SPOOL}), never /etc/cron.d/)") in result["message"], result
    assert {r["subject"] for r in ignored.of("lab", "CRON-002")} == containers

    # the same lines as root's crontab (no user field), where busybox crond reads them
    lines = [line.replace(" root ", " ", 1) for line in lab_biz.cron_file.read_text().splitlines()
             if line[:1].isdigit()]
    read = audit("--host=lab", "-m", "cron", prefix=UNDER_BUSYBOX, env={"ROOT_CRONTAB": "\n".join(lines) + "\n"})
    assert {r["outcome"] for r in read.of("lab", "CRON-002")} == {"pass"}, read.of("lab", "CRON-002")
    assert all(f"{SPOOL}/root:" in r["message"] for r in read.of("lab", "CRON-002"))
    assert host_cron.daemon_pid() is not None          # the host's own cron (and its pid file) untouched
