"""R-LOG decisions without a lab: which files are the Webapp's logs, the policy's deviations,
archived-file grouping, and the one-exec snapshot reader."""

from __future__ import annotations

import base64

import pytest
from hypothesis import given, strategies as st

from wa_compliance.errors import FactUnavailable
from wa_compliance.facts.inside import CleanupScript, Entry, LogrotateFiles, parse_inside
from wa_compliance.parsers.logrotate import parse_logrotate
from wa_compliance.facts.rotation import coverage, rotation_config, webapp_log_paths
from wa_compliance.rules import logs as rules

LOG_DIR = "/var/log/whatsapp"
EXPECTED = rules.Expected(archive=f"{LOG_DIR}/archive")
MAIN = b"weekly\nrotate 4\ncreate\ninclude /etc/logrotate.d\n"
BLOCK = """/var/log/whatsapp/web.log /var/log/whatsapp/access.log /var/log/whatsapp/error.log {{
{body}
}}
"""
COMPLIANT = "    rotate 30\n    size 20M\n    compress\n    olddir /var/log/whatsapp/archive\n    missingok"


def config(body: str = COMPLIANT):
    files = {"/etc/logrotate.conf": MAIN, "/etc/logrotate.d/whatsapp": BLOCK.format(body=body).encode()}
    return parse_logrotate("/etc/logrotate.conf", files, {"/etc/logrotate.d": ["whatsapp"]})


def problems(body: str) -> list[str]:
    block = config(body).block_for(f"{LOG_DIR}/web.log")
    return rules.policy_problems(block.policy, f"{LOG_DIR}/web.log", EXPECTED)


def test_the_documents_policy_has_no_problem():
    assert problems(COMPLIANT) == []


@pytest.mark.parametrize("body, expected", [
    (COMPLIANT.replace("rotate 30", "rotate 7"),
     "keeps 'rotate 7' at /etc/logrotate.d/whatsapp:2, expected 'rotate 30'"),
    (COMPLIANT.replace("    rotate 30\n", ""),
     "keeps 'rotate 4' at /etc/logrotate.conf:2, expected 'rotate 30'"),
    (COMPLIANT.replace("size 20M", "size 200M"),
     "rotates above 200 MiB ('size 200M' at /etc/logrotate.d/whatsapp:3), expected only above 20 MB ('size 20M')"),
    (COMPLIANT.replace("size 20M", "daily"),
     "rotates daily ('daily' at /etc/logrotate.d/whatsapp:3) whatever the size, expected only above 20 MB"),
    (COMPLIANT.replace("size 20M", "daily\n    maxsize 20M"),
     "rotates daily ('daily' at /etc/logrotate.d/whatsapp:3) whatever the size, and also above 20 MiB"),
    (COMPLIANT.replace("compress", "nocompress"),
     "does not compress ('nocompress' at /etc/logrotate.d/whatsapp:4), expected 'compress'"),
    (COMPLIANT.replace("    compress\n", ""),
     "does not compress ('nocompress' (logrotate's default)), expected 'compress'"),
    (COMPLIANT.replace("    olddir /var/log/whatsapp/archive\n", ""),
     "archives to no 'olddir' (rotated files stay beside the log), expected 'olddir /var/log/whatsapp/archive'"),
    (COMPLIANT.replace("olddir /var/log/whatsapp/archive", "olddir old"),
     "archives to 'olddir old' at /etc/logrotate.d/whatsapp:5, expected 'olddir /var/log/whatsapp/archive'"),
])
def test_each_deviation_names_the_directive_where_and_what_is_expected(body, expected):
    assert any(expected in problem for problem in problems(body)), problems(body)


def test_relative_olddir_and_minsize_with_time_are_accepted():
    body = COMPLIANT.replace("olddir /var/log/whatsapp/archive", "olddir archive").replace("size 20M", "daily\n    minsize 20M")
    assert problems(body) == []


def test_webapp_logs_are_found_by_word_else_by_the_documents_names():
    found = webapp_log_paths(LOG_DIR, ["webapp-error.log", "web.log", "weblog.log"])
    assert found == {"web": [f"{LOG_DIR}/web.log"], "access": [f"{LOG_DIR}/access.log"],
                     "error": [f"{LOG_DIR}/webapp-error.log"]}


def test_coverage_lists_the_logs_no_block_names():
    partial = config().blocks[0]
    assert partial.matches(f"{LOG_DIR}/web.log")
    web_only = parse_logrotate("/etc/logrotate.conf", {"/etc/logrotate.conf": b"/var/log/whatsapp/web.log {\n rotate 30\n}\n"})
    covered, uncovered = coverage(web_only, webapp_log_paths(LOG_DIR, []))
    assert list(covered) == [f"{LOG_DIR}/web.log"]
    assert uncovered == [f"{LOG_DIR}/access.log", f"{LOG_DIR}/error.log"]


@pytest.mark.parametrize("name, log", [
    ("web.log.3.gz", "web.log"), ("web.log.30", "web.log"), ("web.log-20261101.gz", "web.log"),
    ("wacore.log.12.xz", "wacore.log"), ("coreapp-2026-11-01.log.gz", "coreapp-N-N-N.log"),
])
def test_archived_files_are_grouped_by_the_log_they_came_from(name, log):
    assert rules.archived_log_of(name) == log


@given(st.text(min_size=1, max_size=40), st.integers(min_value=1, max_value=10 ** 6),
       st.sampled_from(["", ".gz", ".xz", ".bz2"]))
def test_rotation_numbers_never_split_a_log_into_groups(stem, number, extension):
    stem = stem.replace("/", "_")
    assert rules.archived_log_of(f"{stem}.{number}{extension}") == rules.archived_log_of(f"{stem}.1{extension}")


def entry(name: str, size: int = 10) -> Entry:
    return Entry(name, size, 0o100644, 0)


def test_archive_problems_count_per_log_and_name_uncompressed_files():
    files = [entry(f"wacore.log.{n}.gz") for n in range(1, 46)] + [entry("web.log.1"), entry("web.log.2.gz")]
    assert rules.archive_problems(files) == ["1 archived file(s) not compressed: web.log.1",
                                             "45 archived files of wacore.log, more than 30"]
    assert rules.archive_problems([entry(f"web.log.{n}.gz") for n in range(1, 31)]) == []


def test_oversized_applies_the_tolerance_to_live_logs_only():
    entries = [entry("web.log", 100 * rules.MIB), entry("access.log", 29 * rules.MIB), entry("old.gz", 10 ** 9)]
    assert rules.oversized(entries, rules.WEBAPP_THRESHOLD, 1.5) == [
        "web.log is 100 MiB, above 30 MiB (20 MiB × 1.5): it is not being rotated"]


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def test_the_snapshot_reader_rebuilds_folders_scripts_and_config():
    output = "\n".join([
        "wa-inside 1", "user 0", "dir log present 1", "dir archive present 0", "cleanup present 0",
        "entry 12 81a4 1700000000 web log.log", "entry 5 81a4 1 archive/web.log.1.gz",
        "entry 300 81a4 1 /opt/whatsapp/bin/cleanup.sh", "logrotate /usr/sbin/logrotate",
        f"conf 644 0 {b64('/etc/logrotate.conf')} {b64('weekly')}", f"confdir {b64('/etc/logrotate.d')}",
        f"confentry {b64('whatsapp')}", f"debug 1 {b64('error: bad')}", "end"])
    snapshot = parse_inside("c1", output)
    assert snapshot.log_dir.files == (Entry("web log.log", 12, 0o100644, 1700000000),)
    assert snapshot.archive.files == (Entry("web.log.1.gz", 5, 0o100644, 1),)
    assert (snapshot.archive.state, snapshot.archive.writable) == ("present", False)
    assert snapshot.cleanup == CleanupScript(True, False, "644", "regular file")
    assert snapshot.logrotate.files == {"/etc/logrotate.conf": b"weekly"}
    assert snapshot.logrotate.directories == {"/etc/logrotate.d": ["whatsapp"]}
    assert (snapshot.logrotate.debug_rc, snapshot.logrotate.debug_output) == (1, "error: bad")


RECORD = st.sampled_from(["user", "dir", "entry", "cleanup", "logrotate", "confdir", "confentry", "conf", "debug"])
WORD = st.one_of(st.sampled_from(["log", "archive", "present", "missing", "1", "0", "81a4", "-", b64("x")]), st.text(max_size=5))


@given(st.lists(st.tuples(RECORD, st.lists(WORD, max_size=5)), max_size=8).map(
    lambda records: "\n".join(" ".join([kind, *words]) for kind, words in records)) | st.text(max_size=300))
def test_the_snapshot_reader_fails_only_with_fact_unavailable(noise):
    try:
        parse_inside("c1", f"wa-inside 1\n{noise}\nend")
    except FactUnavailable:
        pass


# --- where the rotation configuration is kept (LOG-001) -------------------------------------------
STANZA = b"/var/log/whatsapp/web.log /var/log/whatsapp/access.log /var/log/whatsapp/error.log {\n" \
         b"    rotate 30\n    size 20M\n    compress\n    olddir /var/log/whatsapp/archive\n}\n"
LOGS = webapp_log_paths("/var/log/whatsapp", [])


def read(files: dict, folder: list | None = None) -> LogrotateFiles:
    directories = {} if folder is None else {"/etc/logrotate.d": folder}
    return LogrotateFiles("/usr/sbin/logrotate", files, {}, directories)


def test_the_main_file_and_what_it_includes_come_first():
    found = rotation_config(read({"/etc/logrotate.conf": b"include /etc/logrotate.d\n",
                                        "/etc/logrotate.d/whatsapp": STANZA}, ["whatsapp"]), LOGS)
    assert found.found == "/etc/logrotate.conf and what it includes"
    assert "/etc/logrotate.d/whatsapp" in found.config.files_read


@pytest.mark.parametrize("files, found_by", [
    ({"/etc/logrotate.d/whatsapp": STANZA}, "the files of /etc/logrotate.d/ read on their own (the image has no "
                                            "/etc/logrotate.conf)"),
    ({"/etc/logrotate.conf": b"weekly\n", "/etc/logrotate.d/whatsapp": STANZA},
     "the files of /etc/logrotate.d/ read on their own (/etc/logrotate.conf does not include them)"),
    ({"/etc/logrotate.conf": None, "/etc/logrotate.d/whatsapp": STANZA},
     "the files of /etc/logrotate.d/ read on their own (/etc/logrotate.conf does not include them)"),
])
def test_a_policy_in_logrotate_d_counts_without_the_main_file(files, found_by):
    found = rotation_config(read(files, ["whatsapp"]), LOGS)
    assert found.found == found_by and found.config is not None
    assert not coverage(found.config, LOGS)[1]


def test_no_configuration_at_all_is_said_and_only_then_missing():
    found = rotation_config(read({}), LOGS)
    assert (found.config, found.exists) == (None, False)
    assert found.found == "no logrotate configuration: neither /etc/logrotate.conf nor /etc/logrotate.d/ exists"
    unreadable = rotation_config(read({"/etc/logrotate.conf": None}), LOGS)
    assert unreadable.exists and unreadable.found == "/etc/logrotate.conf is not readable"


def test_when_nothing_covers_every_log_the_most_covering_one_is_judged():
    partial = b"/var/log/whatsapp/web.log {\n    rotate 30\n}\n"
    found = rotation_config(read({"/etc/logrotate.conf": b"weekly\n", "/etc/logrotate.d/web": partial},
                                       ["web"]), LOGS)
    assert found.found.startswith("the files of /etc/logrotate.d/")
    assert len(coverage(found.config, LOGS)[0]) == 1
