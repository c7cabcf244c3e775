"""The lab's logs, logrotate and host cron (R-LOG, R-CRON), and their deviations, for real:
the Docker engine, the images' logrotate and the host's cron daemon (lab/install.sh).

One single-instance deployment of its own under a temporary root (its cron file goes to the
real /etc/cron.d, where the daemon reads it). cron.daemon_stopped stops the host's daemon for
a moment: every deployment on this host loses it meanwhile.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from tests.private_lab import private_lab

from lab import Lab
from lab import cron as host_cron
from lab.images import (ARCHIVE_DIR, COREAPP_LOG, LOG_DIR, LOGROTATE_CONF, LOGS,
                        WEBAPP_LOGROTATE, WEBAPP_LOGROTATE_PATH, image_tag)

pytestmark = pytest.mark.lab

CLEANUP = "/opt/whatsapp/bin/cleanup.sh"
QUIET = ">/dev/null 2>&1"
OVERSIZE = 100 * 1024 * 1024


def docker(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run(["docker", *args], capture_output=True, text=True, check=check,
                          timeout=60)


def inside(container: str, script: str) -> str:
    return docker("exec", container, "sh", "-c", script).stdout


def listing(container: str, folder: str) -> list[str]:
    return sorted(inside(container, f"ls -A {folder}").split())


def entries(text: str) -> list[str]:
    """The schedule lines of a cron file."""
    return [line for line in text.splitlines() if line[:1].isdigit()]


def all_ids() -> list[str]:
    return docker("ps", "-a", "-q", "--no-trunc").stdout.split()


def cron_processes() -> list[int]:
    """What a checker scanning /proc finds: processes named cron, zombies included."""
    found = []
    for comm in Path("/proc").glob("[0-9]*/comm"):
        try:
            if comm.read_text().strip() == "cron":
                found.append(int(comm.parent.name))
        except OSError:
            pass
    return found


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    yield from private_lab(tmp_path_factory, "labcron")


@pytest.fixture
def compliant(lab):
    """Checks, after the test, that the deployment is back to what `up` makes."""
    yield
    assert lab.active_deviations() == []
    assert_compliant(lab)


def assert_compliant(lab: Lab) -> None:
    web, core = lab.affected_webapp(), lab.affected_coreapp()
    assert inside(web, f"cat {WEBAPP_LOGROTATE_PATH}") == WEBAPP_LOGROTATE
    assert inside(web, f"stat -c '%s' {LOG_DIR}/web.log").strip() == str(
        len(LOGS["web"]["web.log"]))
    assert listing(core, ARCHIVE_DIR) == [f"{COREAPP_LOG}.{n}.gz" for n in (1, 2, 3)]
    assert inside(core, f"stat -c '%a' {CLEANUP}").strip() == "755"
    assert lab.cron_file.read_text() == lab.cron_text()
    assert lab.cron_file.stat().st_mode & 0o777 == 0o644
    assert lab.stale_container_id() is None
    assert host_cron.daemon_pid() is not None


# --- images: logs and logrotate ----------------------------------------------------------
def test_webapp_logrotate_runs_and_prints_the_policy(lab):
    web = lab.affected_webapp()
    result = docker("exec", web, "logrotate", "-d", "/etc/logrotate.conf", check=False)
    assert result.returncode == 0, result.stderr
    output = result.stdout + result.stderr
    assert "error:" not in output
    assert ("rotating pattern: /var/log/whatsapp/web.log /var/log/whatsapp/access.log "
            "/var/log/whatsapp/error.log  20971520 bytes (30 rotations)") in output
    assert "olddir is /var/log/whatsapp/archive" in output
    assert inside(web, "cat /etc/logrotate.conf") == LOGROTATE_CONF
    for path in ("/etc/logrotate.conf", WEBAPP_LOGROTATE_PATH):
        assert inside(web, f"stat -c '%a %u' {path}").split() == ["644", "0"]
    policy = inside(web, f"cat {WEBAPP_LOGROTATE_PATH}")
    for directive in ("rotate 30", "size 20M", "compress", "olddir /var/log/whatsapp/archive",
                      "missingok", "notifempty", "copytruncate"):
        assert f"\n    {directive}\n" in policy


def test_logrotate_really_rotates_and_compresses_into_the_archive(lab):
    script = (f"logrotate -f /etc/logrotate.conf && cd {LOG_DIR} && wc -c < web.log && "
              "ls archive && echo --- && zcat archive/web.log.1.gz")
    output = docker("run", "--rm", "--network", "none", image_tag("web", lab.version),
                    "sh", "-c", script).stdout
    listed, _, rotated = output.partition("---\n")
    size, *archived = listed.split()
    assert size == "0"                                  # copytruncate emptied the live log
    # The image's three rotations moved up one; the live logs became .1.gz, compressed.
    assert sorted(archived) == sorted(f"{log}.{n}.gz" for log in LOGS["web"] for n in (1, 2, 3, 4))
    assert rotated == LOGS["web"]["web.log"]


def test_images_hold_live_logs_and_compressed_archives(lab):
    for container, logs in ((lab.affected_webapp(), LOGS["web"]),
                            (lab.affected_coreapp(), LOGS["coreapp"])):
        assert listing(container, LOG_DIR) == sorted([*logs, "archive"])
        assert listing(container, ARCHIVE_DIR) == sorted(
            f"{log}.{n}.gz" for log in logs for n in (1, 2, 3))
        for log, text in logs.items():
            assert inside(container, f"cat {LOG_DIR}/{log}") == text
            assert inside(container, f"zcat {ARCHIVE_DIR}/{log}.2.gz") == text
        assert inside(container, f"stat -c '%a %u' {CLEANUP}").split() == ["755", "0"]
        assert inside(container, CLEANUP) == "cleanup: nothing to do\n"


# --- the host cron ---------------------------------------------------------------------------
def test_cron_file_runs_cleanup_daily_off_peak_in_every_container(lab):
    path = lab.cron_file
    assert path == Path("/etc/cron.d") / f"wa-lab-{lab.project}" and "." not in path.name
    info = path.stat()
    assert (info.st_mode & 0o777, info.st_uid) == (0o644, 0)
    text = path.read_text()
    assert text.endswith("\n") and "%" not in text
    assert "SHELL=/bin/sh\n" in text and "\nPATH=" in text
    assert entries(text) == [
        f"30 3 * * * root docker exec {lab.project}_waweb_1 {CLEANUP} {QUIET}",
        f"30 3 * * * root docker exec {lab.project}_wacore_1 {CLEANUP} {QUIET}",
    ]
    pid = host_cron.daemon_pid()
    assert pid is not None and Path(f"/proc/{pid}/comm").read_text() == "cron\n"
    assert f"cron file: {path} (cron daemon running)" in "\n".join(lab.status().lines())


def test_multiconnect_cron_file_covers_webapp_masters_and_coreapps():
    mc = Lab(project="mcplan", topology="multiconnect", root="/nonexistent")
    assert [line.split()[8] for line in entries(mc.cron_text())] == [
        "mcplan_waweb_1", "mcplan_master1_1", "mcplan_master2_1",
        "mcplan_wacore1_1", "mcplan_wacore2_1", "mcplan_wacore3_1"]
    assert (mc.affected_webapp(), mc.affected_coreapp()) == ("mcplan_waweb_1", "mcplan_wacore1_1")


def test_cron_dir_is_explicit_and_moving_it_moves_the_file(lab, tmp_path):
    moved = Lab(project=lab.project, root=lab.root, cron_dir=tmp_path)
    try:
        moved.up()
        assert not lab.cron_file.exists()
        assert (tmp_path / lab.cron_file.name).read_text() == lab.cron_text()
        assert Lab.open(lab.project, lab.root).cron_dir == tmp_path
    finally:
        lab.up()
    assert lab.cron_file.exists() and not (tmp_path / lab.cron_file.name).exists()


# --- log.* deviations ------------------------------------------------------------------------
def policy_with(old: str, new: str | None) -> str:
    """The compliant policy with the line `old` replaced by `new` (None: removed)."""
    lines = WEBAPP_LOGROTATE.splitlines(keepends=True)
    [index] = [i for i, line in enumerate(lines) if line.strip() == old]
    indent = lines[index][:len(lines[index]) - len(lines[index].lstrip())]
    lines[index:index + 1] = [] if new is None else [f"{indent}{new}\n"]
    return "".join(lines)


POLICY_DEVIATIONS = {
    "log.rotate_7": policy_with("rotate 30", "rotate 7"),
    "log.size_200M": policy_with("size 20M", "size 200M"),
    "log.nocompress": policy_with("compress", "nocompress"),
    "log.no_olddir": policy_with("olddir /var/log/whatsapp/archive", None),
    "log.other_olddir": policy_with("olddir /var/log/whatsapp/archive",
                                    "olddir /var/log/whatsapp/old"),
    "log.partial_config": policy_with(
        "/var/log/whatsapp/web.log /var/log/whatsapp/access.log /var/log/whatsapp/error.log {",
        "/var/log/whatsapp/web.log {"),
}


@pytest.mark.parametrize("name", sorted(POLICY_DEVIATIONS))
def test_policy_deviation_edits_the_webapp_config_and_restores(lab, compliant, name):
    web = lab.affected_webapp()
    with lab.deviation(name):
        assert inside(web, f"cat {WEBAPP_LOGROTATE_PATH}") == POLICY_DEVIATIONS[name]
        assert inside(web, f"stat -c '%a %u' {WEBAPP_LOGROTATE_PATH}").split() == ["644", "0"]
        # Still a valid configuration: logrotate reads it without complaint.
        result = docker("exec", web, "logrotate", "-d", "/etc/logrotate.conf", check=False)
        assert result.returncode == 0 and "error:" not in result.stderr, result.stderr


def test_no_config_removes_the_webapp_policy(lab, compliant):
    web = lab.affected_webapp()
    with lab.deviation("log.no_config"):
        assert "whatsapp" not in listing(web, "/etc/logrotate.d")
        result = docker("exec", web, "logrotate", "-d", "/etc/logrotate.conf")
        assert "Handling 0 logs" in result.stderr + result.stdout


def test_live_oversize_is_a_sparse_web_log(lab, compliant):
    web = lab.affected_webapp()
    with lab.deviation("log.live_oversize"):
        size, blocks = inside(web, f"stat -c '%s %b' {LOG_DIR}/web.log").split()
        assert int(size) == OVERSIZE
        assert int(blocks) * 512 < 1024 * 1024          # sparse: next to nothing on disk
        assert inside(web, f"head -c 100 {LOG_DIR}/web.log").startswith("INFO")


def test_archive_deviations_change_the_first_coreapp(lab, compliant):
    core = lab.affected_coreapp()
    with lab.deviation("log.archive_45"):
        files = listing(core, ARCHIVE_DIR)
        assert files == sorted(f"{COREAPP_LOG}.{n}.gz" for n in range(1, 46))
        inside(core, f"cd {ARCHIVE_DIR} && gunzip -t *.gz")      # all real gzip
    with lab.deviation("log.archive_uncompressed"):
        assert listing(core, ARCHIVE_DIR) == [f"{COREAPP_LOG}.{n}" for n in (1, 2, 3)]
        assert inside(core, f"cat {ARCHIVE_DIR}/{COREAPP_LOG}.1") == LOGS["coreapp"][COREAPP_LOG]
    with lab.deviation("log.no_archive_dir"):
        assert listing(core, LOG_DIR) == [COREAPP_LOG]
        assert "archive" in listing(lab.affected_webapp(), LOG_DIR)


# --- cron.* deviations ---------------------------------------------------------------------
def test_cron_file_deviations_rewrite_it_and_restore(lab, compliant):
    web, core = lab.affected_webapp(), lab.affected_coreapp()
    compliant_entries = entries(lab.cron_text())
    expected = {
        "cron.missing_container": [compliant_entries[0]],
        "cron.at_14h": [line.replace("30 3 * * *", "0 14 * * *") for line in compliant_entries],
        "cron.weekly": [line.replace("30 3 * * *", "30 3 * * 0") for line in compliant_entries],
        "cron.ps_loop": [
            "30 3 * * * root for c in $(docker ps -q --filter "
            f"label=com.docker.compose.project={lab.project}); do docker exec $c {CLEANUP}; "
            f"done {QUIET}"],
        "cron.ps_loop_partial": [
            "30 3 * * * root for c in $(docker ps -q --filter "
            f"ancestor=docker.whatsapp.biz/web:v{lab.version}); do docker exec $c {CLEANUP}; "
            f"done {QUIET}"],
    }
    for name, lines in expected.items():
        with lab.deviation(name):
            text = lab.cron_file.read_text()
            assert entries(text) == lines, name
            assert text.startswith("# wa-lab deviation: ") and "%" not in text
            assert lab.cron_file.stat().st_mode & 0o777 == 0o644
        assert lab.cron_file.read_text() == lab.cron_text()
    # Two at once: both edits show.
    with lab.deviation("cron.missing_container"), lab.deviation("cron.weekly"):
        assert entries(lab.cron_file.read_text()) == [
            compliant_entries[0].replace("30 3 * * *", "30 3 * * 0")]
    # The loops' filters, as the engine evaluates them.
    ids = {name: docker("inspect", "--format", "{{.Id}}", name).stdout.strip()[:12]
           for name in (web, core)}
    project = docker("ps", "-q", "--filter",
                     f"label=com.docker.compose.project={lab.project}").stdout.split()
    ancestor = docker("ps", "-q", "--filter",
                      f"ancestor=docker.whatsapp.biz/web:v{lab.version}").stdout.split()
    assert sorted(project) == sorted(ids.values())
    assert ids[web] in ancestor and ids[core] not in ancestor


@pytest.mark.parametrize("name, length", [("cron.stale_full_id", 64),
                                          ("cron.stale_short_id", 12)])
def test_stale_id_deviation_names_a_container_gone_at_an_upgrade(lab, compliant, name, length):
    web = lab.affected_webapp()
    before = docker("inspect", "--format", "{{.Id}}", web).stdout.strip()
    with lab.deviation(name):
        stale = lab.stale_container_id()
        assert stale == before[:length] and re.fullmatch(r"[0-9a-f]+", stale)
        assert entries(lab.cron_file.read_text()) == [
            f"30 3 * * * root docker exec {stale} {CLEANUP} {QUIET}",
            f"30 3 * * * root docker exec {lab.affected_coreapp()} {CLEANUP} {QUIET}"]
        assert not any(i.startswith(stale) for i in all_ids())
        after = docker("inspect", "--format", "{{.Id}} {{.State.Running}}", web).stdout.split()
        assert after[1] == "true" and after[0] != before


def test_cleanup_script_deviations_change_the_first_coreapp(lab, compliant):
    core = lab.affected_coreapp()
    with lab.deviation("cron.no_cleanup_script"):
        assert "cleanup.sh" not in listing(core, "/opt/whatsapp/bin")
        assert "cleanup.sh" in listing(lab.affected_webapp(), "/opt/whatsapp/bin")
    with lab.deviation("cron.cleanup_not_executable"):
        assert inside(core, f"stat -c '%a' {CLEANUP}").strip() == "644"
        assert docker("exec", core, CLEANUP, check=False).returncode != 0


def test_daemon_stopped_stops_the_host_cron_and_restore_starts_it(lab, compliant):
    with lab.deviation("cron.daemon_stopped"):
        assert host_cron.daemon_pid() is None
        assert cron_processes() == []                   # no zombie left for a checker to see
    assert len(cron_processes()) == 1


# --- convergence -------------------------------------------------------------------------
def test_recreating_containers_switches_inside_deviations_on_again(lab, compliant):
    web = lab.affected_webapp()
    rotate_7 = POLICY_DEVIATIONS["log.rotate_7"]
    lab.deviate("log.rotate_7")
    try:
        lab.deviate("cron.stale_full_id")                 # recreates the Webapp
        assert inside(web, f"cat {WEBAPP_LOGROTATE_PATH}") == rotate_7
        lab.deviate("env.sample_password")                # recreates every container
        assert inside(web, f"cat {WEBAPP_LOGROTATE_PATH}") == rotate_7
        lab.restore("env.sample_password")                # and again
        assert lab.active_deviations() == ["log.rotate_7", "cron.stale_full_id"]
        assert inside(web, f"cat {WEBAPP_LOGROTATE_PATH}") == rotate_7
    finally:
        lab.restore()


def test_up_ends_log_and_cron_deviations(lab, compliant):
    for name in ("cron.stale_short_id", "log.nocompress", "log.archive_45", "cron.weekly",
                 "cron.daemon_stopped"):
        lab.deviate(name)
    lab.up()
