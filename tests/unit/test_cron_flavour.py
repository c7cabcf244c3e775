"""Which crontab files the running daemon reads (issue 13 item 5): Debian cron, cronie and busybox
crond each by the rules of their source; any other daemon is assumed to read every file."""

from __future__ import annotations

from hypothesis import given, strategies as st

from wa_compliance.parsers.cron_flavour import CronDaemon, ignored_by_all

DEBIAN = CronDaemon(10, "cron", "/usr/sbin/cron", ("/usr/sbin/cron", "-f"))
CRONIE = CronDaemon(11, "crond", "/usr/sbin/crond", ("/usr/sbin/crond", "-n"))
BUSYBOX = CronDaemon(12, "crond", "/bin/busybox", ("/usr/sbin/crond", "-f", "-c", "/etc/crontabs"))
FCRON = CronDaemon(13, "fcron", "/usr/sbin/fcron", ("fcron",))
REGULAR = 0o100000


def reads(daemon: CronDaemon, name: str, mode: int = 0o644, uid: int = 0, links: int = 1) -> bool:
    return daemon.ignores(f"/etc/cron.d/{name}", REGULAR | mode, uid, links, in_cron_d=True) is None


def test_the_flavour_follows_the_process_and_its_executable():
    assert [d.flavour for d in (DEBIAN, CRONIE, BUSYBOX, FCRON)] == ["debian", "cronie", "busybox", "other"]
    assert CronDaemon(1, "busybox", "", ("busybox", "crond", "-f")).flavour == "busybox"
    assert [d.label for d in (DEBIAN, CRONIE, BUSYBOX)] == ["Debian cron", "cronie", "busybox crond"]


def test_names_debian_skips_cronie_reads_and_the_reverse():
    assert not reads(DEBIAN, "wa.cleanup") and reads(CRONIE, "wa.cleanup")
    for name in (".wa", "#wa", "wa~", "wa.rpmnew", "wa.rpmsave", "wa.rpmorig"):
        assert not reads(CRONIE, name), name
    assert "rpm leftover" in CRONIE.ignores("/etc/cron.d/wa.rpmnew", REGULAR | 0o644, 0, 1, True)


def test_modes_cronie_wants_no_execute_bit_debian_only_no_foreign_write():
    assert reads(DEBIAN, "wa", 0o755) and not reads(CRONIE, "wa", 0o755)
    assert "BAD FILE MODE" in CRONIE.ignores("/etc/cron.d/wa", REGULAR | 0o755, 0, 1, True)
    for mode in (0o644, 0o600, 0o400, 0o640):
        assert reads(DEBIAN, "wa", mode) and reads(CRONIE, "wa", mode), oct(mode)
    for mode in (0o664, 0o646, 0o4644, 0o200):
        assert not reads(CRONIE, "wa", mode), oct(mode)
    permissive = CronDaemon(11, "crond", "/usr/sbin/crond", ("/usr/sbin/crond", "-p"))
    assert reads(permissive, "wa", 0o777, uid=1000)


def test_owner_and_links():
    assert not reads(DEBIAN, "wa", uid=1000) and not reads(CRONIE, "wa", uid=1000)
    assert not reads(DEBIAN, "wa", links=2) and reads(CRONIE, "wa", links=2)   # cronie: no link rule in cron.d


def test_busybox_never_reads_the_system_crontabs():
    why = BUSYBOX.ignores("/etc/cron.d/wa", REGULAR | 0o644, 0, 1, True)
    assert why == "busybox crond reads only the crontabs of users in its crontab directory (/etc/crontabs), never /etc/cron.d/"
    assert "never /etc/crontab" in BUSYBOX.ignores("/etc/crontab", REGULAR | 0o644, 0, 1, False)
    assert "(/var/spool/cron/crontabs)" in CronDaemon(1, "busybox", "", ("busybox", "crond")).ignores(
        "/etc/cron.d/wa", None, None, None, True)


def test_another_daemon_is_assumed_to_read_every_file_and_says_so():
    assert reads(FCRON, ".anything", 0o777, uid=1000, links=3)
    assert FCRON.assumption == "fcron's rules for crontab files are not verified here: every file is assumed read"
    assert DEBIAN.assumption is None


def test_a_file_counts_when_any_running_daemon_reads_it():
    assert ignored_by_all((DEBIAN, CRONIE), "/etc/cron.d/wa", REGULAR | 0o755, 0, 1, True) is None
    both = ignored_by_all((DEBIAN, BUSYBOX), "/etc/cron.d/wa.x", REGULAR | 0o644, 0, 1, True)
    assert "cron skips 'wa.x'" in both and "busybox crond" in both
    # no daemon running (CRON-001 fails): Debian's rules, as before
    assert ignored_by_all((), "/etc/cron.d/wa.x", REGULAR | 0o644, 0, 1, True).startswith("cron skips")


@given(st.sampled_from([DEBIAN, CRONIE, BUSYBOX, FCRON]), st.text(max_size=40), st.none() | st.integers(0, 0o177777),
       st.none() | st.integers(0, 2**32), st.none() | st.integers(0, 10), st.booleans())
def test_any_file_gets_a_reason_or_none(daemon, name, mode, uid, links, in_cron_d):
    why = daemon.ignores(f"/etc/cron.d/{name}", mode, uid, links, in_cron_d)
    assert why is None or (isinstance(why, str) and why)


@given(st.text(max_size=30), st.text(max_size=30), st.lists(st.text(max_size=12), max_size=5))
def test_any_process_gets_a_flavour(name, exe, arguments):
    daemon = CronDaemon(1, name, exe, tuple(arguments))
    assert daemon.flavour in ("debian", "cronie", "busybox", "other") and daemon.label
