"""wa_compliance.parsers.logrotate: logrotate configuration read as logrotate 3.21 reads it.

Three kinds of evidence: examples of each semantic, comparisons with the
real ``logrotate -d`` on the same files (skipped only where the binary is
missing), and Hypothesis properties (never crashes; a model of well-formed
configs round-trips; random configs agree with the real tool).
"""

from __future__ import annotations

import os
import re
import subprocess
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from wa_compliance.parsers.logrotate import (
    LogBlock,
    LogrotateConfig,
    LogrotateParseError,
    Policy,
    Setting,
    parse_logrotate,
    parse_size,
)

LOGROTATE = "/usr/sbin/logrotate"
needs_logrotate = pytest.mark.skipif(not os.path.exists(LOGROTATE), reason="logrotate is not installed")
PROPS = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
MAIN = "/etc/logrotate.conf"
MiB = 1024 * 1024

DEBIAN_CONF = """\
# see "man logrotate" for details

# global options do not affect preceding include directives

# rotate log files weekly
weekly

# keep 4 weeks worth of backlogs
rotate 4

# create new (empty) log files after rotating old ones
create

# use date as a suffix of the rotated file
#dateext

# uncomment this if you want your log files compressed
#compress

# packages drop log rotation information into this directory
include /etc/logrotate.d

# system-specific logs may also be configured here.
"""

WHATSAPP = """\
/var/log/whatsapp/web.log /var/log/whatsapp/access.log /var/log/whatsapp/error.log {
    rotate 30
    size 20M
    compress
    olddir /var/log/whatsapp/archive
    copytruncate
    missingok
    notifempty
}
"""

APT = """\
/var/log/apt/term.log {
  rotate 12
  monthly
  compress
  missingok
  notifempty
}
"""

WA_LOGS = ("/var/log/whatsapp/web.log", "/var/log/whatsapp/access.log", "/var/log/whatsapp/error.log")


def debian(whatsapp: str = WHATSAPP, conf: str = DEBIAN_CONF) -> LogrotateConfig:
    """The Debian main file, /etc/logrotate.d/{apt,whatsapp}."""
    files = {MAIN: conf.encode(), "/etc/logrotate.d/apt": APT.encode(), "/etc/logrotate.d/whatsapp": whatsapp.encode()}
    return parse_logrotate(MAIN, files, {"/etc/logrotate.d": ["whatsapp", "apt"]})


def parse(text: str | bytes, **files: str) -> LogrotateConfig:
    """MAIN holding text, plus /etc/NAME files given as keywords."""
    data = {MAIN: text if isinstance(text, bytes) else text.encode()}
    data.update({f"/etc/{name}": content.encode() for name, content in files.items()})
    return parse_logrotate(MAIN, data)


def policy(text: str, log: str = "/var/log/x.log") -> Policy:
    block = parse(text).block_for(log)
    assert block is not None
    return block.policy


def problems(conf: LogrotateConfig) -> list[tuple[str, int, str]]:
    return [(p.path, p.line, p.message) for p in conf.problems]


# --- the policy a compliance check reads ----------------------------------------


def test_debian_config_with_whatsapp_block():
    conf = debian()
    assert conf.problems == ()
    assert conf.files_read == (MAIN, "/etc/logrotate.d/apt", "/etc/logrotate.d/whatsapp")
    for log in WA_LOGS:
        block = conf.block_for(log)
        assert block.path == "/etc/logrotate.d/whatsapp" and block.line == 1
        assert block.patterns == WA_LOGS
        p = block.policy
        assert p.rotate == Setting(30, "/etc/logrotate.d/whatsapp", 2)
        assert p.criterion == Setting("size", "/etc/logrotate.d/whatsapp", 3)
        assert p.rotates_only_above() == 20 * MiB
        assert p.compress == Setting(True, "/etc/logrotate.d/whatsapp", 4)
        assert p.olddir.value == "/var/log/whatsapp/archive"
        assert p.archive_dir(log) == "/var/log/whatsapp/archive"
        assert p.missingok.value is True
    assert conf.block_for("/var/log/whatsapp/other.log") is None


def test_apt_block_inherits_debian_globals():
    p = debian().block_for("/var/log/apt/term.log").policy
    assert p.rotate.value == 12 and p.criterion == Setting("monthly", "/etc/logrotate.d/apt", 3)
    assert p.rotates_only_above() is None
    assert p.compress.value is True and p.olddir.value is None and p.archive_dir("/var/log/apt/term.log") is None


@pytest.mark.parametrize(
    "change, check",
    [
        (("rotate 30", "rotate 7"), lambda p: p.rotate.value == 7),
        (("size 20M", "size 200M"), lambda p: p.rotates_only_above() == 200 * MiB),
        (("compress", "nocompress"), lambda p: p.compress.value is False),
        (("    compress\n", ""), lambda p: p.compress == Setting(False)),  # Debian leaves #compress commented
        (("    olddir /var/log/whatsapp/archive\n", ""), lambda p: p.archive_dir(WA_LOGS[0]) is None),
        (("olddir /var/log/whatsapp/archive", "olddir archive"),
         lambda p: p.olddir.value == "archive" and p.archive_dir(WA_LOGS[1]) == "/var/log/whatsapp/archive"),
        (("olddir /var/log/whatsapp/archive", "olddir ../whatsapp/./archive/"),
         lambda p: p.archive_dir(WA_LOGS[2]) == "/var/log/whatsapp/archive"),
        (("olddir /var/log/whatsapp/archive", "olddir ~/archive"),
         lambda p: p.archive_dir(WA_LOGS[0]) == "/root/archive"),
        # Without size, the block keeps Debian's global weekly: rotated whatever its size.
        (("    size 20M\n", ""), lambda p: p.criterion.value == "weekly" and p.rotates_only_above() is None),
        # maxsize rotates early; it never holds rotation back.
        (("size 20M", "maxsize 20M"), lambda p: p.criterion.value == "weekly" and p.rotates_only_above() is None),
        (("size 20M", "minsize 20M\n    daily"),
         lambda p: p.criterion.value == "daily" and p.rotates_only_above() == 20 * MiB),
        (("size 20M", "minsize 20M\n    maxsize 50M"), lambda p: p.rotates_only_above() == 20 * MiB),
        (("size 20M", "size 20M\n    maxsize 10M"), lambda p: p.rotates_only_above() == 10 * MiB + 1),
        (("size 20M", "size 20M\n    daily"),
         lambda p: p.criterion.value == "daily" and p.rotates_only_above() is None),
        (("size 20M", "daily\n    size 20M"), lambda p: p.rotates_only_above() == 20 * MiB),
        (("size 20M", "size 20M\n    minsize 1G"), lambda p: p.rotates_only_above() == 20 * MiB),  # size wins
        (("size 20M", "size 20971520"), lambda p: p.rotates_only_above() == 20 * MiB),
        (("size 20M", "size = 20480k"), lambda p: p.rotates_only_above() == 20 * MiB),
        (("missingok", "nomissingok"), lambda p: p.missingok.value is False),
    ],
)
def test_whatsapp_block_variants(change, check):
    conf = debian(WHATSAPP.replace(*change))
    assert conf.problems == ()
    assert check(conf.block_for(WA_LOGS[0]).policy)


def test_globals_are_inherited_and_overridden_by_the_block():
    conf = debian(conf=DEBIAN_CONF.replace("#compress", "compress\nolddir old\nsize 1G"),
                  whatsapp=WHATSAPP.replace("    compress\n", "    nocompress\n").replace("size 20M", "daily"))
    p = conf.block_for(WA_LOGS[0]).policy
    assert p.compress == Setting(False, "/etc/logrotate.d/whatsapp", 4)
    assert p.criterion.value == "daily" and p.rotate.value == 30
    apt = conf.block_for("/var/log/apt/term.log").policy
    assert apt.compress == Setting(True, "/etc/logrotate.d/apt", 4)  # its own
    assert apt.olddir == Setting("old", MAIN, 19) and apt.size == Setting(1024**3, MAIN, 20)  # the globals


def test_globals_after_a_block_do_not_reach_it():
    conf = parse("rotate 3\n/var/log/a.log {\n}\nrotate 9\ncompress\n/var/log/b.log {\n}\n")
    assert conf.block_for("/var/log/a.log").policy.rotate.value == 3
    assert conf.block_for("/var/log/a.log").policy.compress.value is False
    assert conf.block_for("/var/log/b.log").policy.rotate == Setting(9, MAIN, 4)


def test_builtin_defaults_rotate_at_one_mebibyte():
    # config.c readAllConfigPaths(): criterium ROT_SIZE, threshold 1024 * 1024, rotateCount 0.
    p = policy("/var/log/x.log {\n}\n")
    assert (p.rotate, p.criterion, p.size) == (Setting(0), Setting("size"), Setting(MiB))
    assert (p.minsize, p.maxsize, p.compress, p.olddir, p.missingok) == (
        Setting(None), Setting(None), Setting(False), Setting(None), Setting(False))
    assert p.rotates_only_above() == MiB


@pytest.mark.parametrize(
    "directives, floor",
    [
        ("daily", None),
        ("hourly\nminsize 5k", 5 * 1024),
        ("weekly\nmaxsize 5k", None),
        ("yearly\nminsize 5k\nmaxsize 1k", 1025),
        ("monthly\nminsize 0", None),  # 0 is "unset" in logrotate
        ("size 0", None),
        ("size 1k\nminsize 1M", 1024),
    ],
)
def test_rotates_only_above(directives, floor):
    assert policy(f"/var/log/x.log {{\n{directives}\n}}\n").rotates_only_above() == floor


def test_rotate_counts():
    assert policy("/var/log/x.log {\nrotate -1\n}\n").rotate.value == -1  # kept forever
    assert policy("/var/log/x.log {\nrotate 0x1e\n}\n").rotate.value == 30  # strtol base 0
    assert policy("/var/log/x.log {\nrotate=010\n}\n").rotate.value == 8


@pytest.mark.parametrize(
    "text, size",
    [("512", 512), ("100k", 102400), ("100K", 102400), ("20M", 20 * MiB), ("1G", 1024**3),
     ("0x10k", 16384), ("010", 8), ("M", 0), ("+5", 5)],
)
def test_parse_size(text, size):
    assert parse_size(text) == size


@pytest.mark.parametrize(
    "text, message",
    [("20MB", "unknown unit 'B'"), ("20m", "unknown unit 'm'"), ("1g", "unknown unit 'g'"),
     ("20 M", "bad size '20 '"), ("1.5M", "bad size '1.5'"), ("-1", "bad size '-1'"),
     ("99999999999999999999", "bad size '99999999999999999999'"), ("", "argument expected after size")],
)
def test_parse_size_rejects_what_logrotate_rejects(text, message):
    with pytest.raises(LogrotateParseError) as caught:
        parse_size(text)
    assert (caught.value.path, caught.value.line, caught.value.message) == ("", 0, message)


def test_parse_error_renders_path_and_line():
    error = LogrotateParseError("/etc/logrotate.d/x", 3, "unknown option 'foo' -- ignoring line")
    assert str(error) == "/etc/logrotate.d/x:3: unknown option 'foo' -- ignoring line"
    assert isinstance(error, ValueError)


# --- syntax --------------------------------------------------------------------


def test_layout_comments_quotes_and_braces():
    conf = parse(
        "# header\n\n\t# indented comment\n"
        '/var/log/a.log "/var/log/with space.log"\n'
        "# a comment between patterns and brace\n"
        "  '/var/log/c.log' /var/log/d\\ e.log\n"
        "{\n\trotate\t5\n   compress missingok   # two flags and a comment\n}\n"
        "/var/log/f.log{rotate 2\n}\n"
    )
    assert conf.problems == ()
    first, second = conf.blocks
    assert first.patterns == ("/var/log/a.log", "/var/log/with space.log", "/var/log/c.log", "/var/log/d e.log")
    assert first.line == 4
    assert first.policy.rotate == Setting(5, MAIN, 8)
    assert first.policy.compress.value and first.policy.missingok.value
    assert second.patterns == ("/var/log/f.log",) and second.policy.rotate.value == 2


def test_scripts_are_skipped_whole():
    conf = parse(
        "/var/log/a.log {\n  postrotate\n    if [ -f /run/x ]; then kill -HUP $(cat /run/x); fi }\n  }\n"
        "    rotate 99\n  endscript\n  prerotate endscript\n  firstaction\n  endscript\n  rotate 3\n}\n"
    )
    assert conf.problems == ()
    assert conf.blocks[0].policy.rotate == Setting(3, MAIN, 10)


def test_script_without_endscript_drops_the_block():
    conf = parse("/var/log/a.log {\n  postrotate\n    echo\n}\n")
    assert conf.blocks == ()
    assert problems(conf) == [(MAIN, 2, "prerotate, postrotate or preremove without endscript")]


def test_unknown_and_miscased_directives_are_reported_and_ignored():
    conf = parse("Compress\nrotatee 3\n/var/log/a.log {\n  ROTATE 5\n  rotate 6\n}\n")
    assert problems(conf) == [
        (MAIN, 1, "unknown option 'Compress' -- ignoring line"),
        (MAIN, 2, "unknown option 'rotatee' -- ignoring line"),
        (MAIN, 4, "unknown option 'ROTATE' -- ignoring line"),
    ]
    assert conf.blocks[0].policy.rotate.value == 6 and conf.blocks[0].policy.compress.value is False


def test_every_real_directive_is_accepted_silently():
    conf = parse(
        "tabooext + .old\ntaboopat + *.tmp\n"
        "/var/log/a.log {\n"
        + "".join(
            f"  {line}\n"
            for line in (
                "compress", "nocompress", "compresscmd /usr/bin/xz", "uncompresscmd /usr/bin/unxz",
                "compressext .xz", "compressoptions -9", "delaycompress", "nodelaycompress", "copy", "nocopy",
                "copytruncate", "nocopytruncate", "renamecopy", "norenamecopy", "create", "create 0640 root adm",
                "create www-data adm", "nocreate", "createolddir 0750 root adm", "nocreateolddir",
                "dateext", "nodateext", "dateformat -%Y%m%d-%s", "dateyesterday", "datehourago",
                "extension .log", "addextension .gz", "ifempty", "notifempty", "mail admin@example.org",
                "mailfirst", "maillast", "nomail", "maxage 30", "minage 1", "minsize 1M", "maxsize 1G",
                "missingok", "nomissingok", "olddir /tmp/old", "noolddir", "rotate 4", "shred", "noshred",
                "shredcycles 3", "allowhardlink", "noallowhardlink", "sharedscripts", "nosharedscripts",
                "start 0", "su root adm", "ignoreduplicates", "hourly", "daily", "weekly", "weekly 7",
                "monthly", "yearly", "size 10k", "prerotate\n    true\n  endscript",
                "postrotate\n    true\n  endscript", "firstaction\n    true\n  endscript",
                "lastaction\n    true\n  endscript", "preremove\n    true\n  endscript",
            )
        )
        + "}\n"
    )
    assert conf.problems == ()
    assert len(conf.blocks) == 1


def test_a_value_runs_to_the_end_of_the_line():
    # No trailing comments after values: the block is dropped, so the log has no block at all.
    conf = parse("/var/log/a.log {\n  rotate 30 # a month\n}\n")
    assert conf.blocks == ()
    assert problems(conf) == [
        (MAIN, 2, "bad rotation count '30 # a month'"),
        (MAIN, 1, "found error in /var/log/a.log, skipping"),
    ]


@pytest.mark.parametrize(
    "line", ["size 20MB", "size 20m", "rotate x", "rotate -2", "olddir /a b", "foo_bar", "rotate 1 }"]
)
def test_an_error_in_a_block_drops_the_block(line):
    conf = parse(f"/var/log/a.log {{\n  compress\n  {line}\n}}\n/var/log/b.log {{\n}}\n")
    assert [b.patterns for b in conf.blocks] == [("/var/log/b.log",)]
    assert conf.problems[-1].message == "found error in /var/log/a.log, skipping"


def test_a_dropped_block_misses_an_indented_brace_and_swallows_the_next_block():
    # STATE_SKIP_CONFIG only looks for '}' as the first character of a line.
    conf = parse("/var/log/a.log {\n  rotate x\n  }\n/var/log/b.log {\n  rotate 2\n}\n/var/log/c.log {\n}\n")
    assert [b.patterns for b in conf.blocks] == [("/var/log/c.log",)]


def test_a_value_missing_at_the_end_of_the_line_eats_the_closing_brace():
    # logrotate's error step consumes the character after the newline: here the '}'.
    conf = parse("/var/log/a.log {\n  rotate\n}\n/var/log/b.log {\n}\n/var/log/c.log {\n}\n")
    assert [b.patterns for b in conf.blocks] == [("/var/log/c.log",)]
    assert problems(conf)[0] == (MAIN, 2, "argument expected after rotate count")


def test_an_error_at_global_level_ends_the_file():
    conf = parse("rotate 2\nsize 20MB\nrotate 3\n/var/log/a.log {\n}\n")
    assert conf.blocks == ()
    assert problems(conf) == [(MAIN, 2, "unknown unit 'B'")]


def test_stray_brace_ends_the_file():
    conf = parse("/var/log/a.log {\n}\n}\n/var/log/b.log {\n}\n")
    assert [b.patterns for b in conf.blocks] == [("/var/log/a.log",)]
    assert problems(conf) == [(MAIN, 3, "unexpected }")]


def test_unclosed_block_is_kept_as_logrotate_does():
    conf = parse("/var/log/a.log {\n  rotate 5\n")
    assert conf.blocks[0].policy.rotate.value == 5
    assert problems(conf) == [(MAIN, 1, "missing '}': logrotate keeps this block as it is")]


def test_missing_brace_after_patterns():
    conf = parse("/var/log/a.log\nrotate 5\n")
    assert conf.blocks == ()
    assert problems(conf) == [(MAIN, 1, "missing '{' after log files definition")]


def test_crlf_files_lose_their_blocks_as_in_logrotate():
    # The \r after '{' drops the block; the \r after '}' is then met at global level and ends the file.
    conf = parse(b"rotate 3\r\n/var/log/a.log {\r\n  rotate 5\r\n}\r\n/var/log/b.log {\n}\n")
    assert conf.blocks == ()
    bad_start = "lines must begin with a keyword or a filename (possibly in double quotes)"
    assert problems(conf) == [
        (MAIN, 2, bad_start), (MAIN, 2, "found error in /var/log/a.log, skipping"), (MAIN, 4, bad_start)]
    # Keywords and values themselves are read fine.
    assert policy("/var/log/x.log {\n  rotate 5\r\n  compress\r\n}\n").rotate.value == 5


def test_bytes_that_are_not_utf8_do_not_crash():
    conf = parse(b"\xff\xfe\n/var/log/a.log {\n}\n")
    assert conf.blocks == ()  # the first line ended the file
    conf = parse(b"/var/log/\xe9.log {\n  olddir /var/\xff\n}\n")
    assert conf.blocks == () and conf.problems[0].message == "bad olddir path /var/\ufffd"


def test_last_line_without_newline():
    assert policy("/var/log/x.log {\nrotate 5\n}").rotate.value == 5
    conf = parse("compress")  # logrotate reads the NUL after the file as the separator
    assert problems(conf) == [(MAIN, 1, "keyword 'compress' not properly separated, found 0")]


# --- includes ------------------------------------------------------------------


def test_include_directory_order_and_taboo_extensions():
    names = ["zz", "whatsapp.dpkg-old", "apt", "x~", "y.rpmsave", ".hidden.swp", "sub", "b.conf", "a.disabled"]
    files = {MAIN: b"include /etc/logrotate.d\n", "/etc/logrotate.d/sub/inner": b"/var/log/no.log {\n}\n"}
    files.update(
        {f"/etc/logrotate.d/{name}": f"/var/log/{name}.log {{\n}}\n".encode() for name in names if name != "sub"})
    conf = parse_logrotate(MAIN, files, {"/etc/logrotate.d": names, "/etc/logrotate.d/sub": ["inner"]})
    # FNM_PERIOD: "*.swp" does not match a name starting with a dot.
    assert conf.files_read == (MAIN, "/etc/logrotate.d/.hidden.swp", "/etc/logrotate.d/apt",
                               "/etc/logrotate.d/b.conf", "/etc/logrotate.d/zz")
    assert conf.problems == ()


def test_tabooext_changes_what_directory_includes_skip():
    files = {MAIN: b"tabooext + .conf\ninclude /etc/d\ntabooext .x\ninclude /etc/d\n", "/etc/d/a.conf": b"",
             "/etc/d/b.x": b"", "/etc/d/c.dpkg-old": b""}
    conf = parse_logrotate(MAIN, files, {"/etc/d": ["a.conf", "b.x", "c.dpkg-old"]})
    assert conf.files_read == (MAIN, "/etc/d/b.x", "/etc/d/a.conf", "/etc/d/c.dpkg-old")


def test_nested_and_relative_includes():
    files = {
        MAIN: b"include /etc/logrotate.d\ninclude /etc/top.conf\n",
        "/etc/logrotate.d/a": b"include sub.inc\n",  # relative to the directory being read
        "/etc/logrotate.d/sub.inc": b"/var/log/sub.log {\n}\n",
        "/etc/top.conf": b"rotate 7\n/var/log/top.log {\n}\n",
    }
    conf = parse_logrotate(MAIN, files, {"/etc/logrotate.d": ["a", "sub.inc"]})
    assert conf.files_read == (MAIN, "/etc/logrotate.d/a", "/etc/logrotate.d/sub.inc",
                               "/etc/logrotate.d/sub.inc", "/etc/top.conf")
    assert conf.block_for("/var/log/sub.log").path == "/etc/logrotate.d/sub.inc"
    assert conf.block_for("/var/log/top.log").policy.rotate == Setting(7, "/etc/top.conf", 1)
    # Read again as an entry of the directory, its block is a duplicate: an error.
    assert problems(conf) == [("/etc/logrotate.d/sub.inc", 1, "duplicate log entry for /var/log/sub.log"),
                              (MAIN, 1, "found error in file sub.inc, skipping")]


def test_missing_and_unreadable_includes_are_problems():
    conf = parse_logrotate(MAIN, {MAIN: b"include /etc/nope\ninclude /etc/secret\n/var/log/a.log {\n}\n",
                                  "/etc/secret": None})
    assert problems(conf) == [
        (MAIN, 1, "cannot stat /etc/nope: No such file or directory"),
        (MAIN, 2, "failed to open config file /etc/secret: Permission denied"),
    ]
    assert len(conf.blocks) == 1


def test_globals_of_an_included_file_with_an_error_are_rolled_back():
    conf = parse("include /etc/inc\n/var/log/a.log {\n}\n",
                 inc="compress\nrotate 9\nbogus\n/var/log/b.log {\n rotate x\n}\n")
    assert conf.block_for("/var/log/a.log").policy.compress.value is False
    # An unknown option alone is not an error for logrotate: nothing is rolled back.
    conf = parse("include /etc/inc\n/var/log/a.log {\n}\n", inc="compress\nbogus\n")
    assert conf.block_for("/var/log/a.log").policy.compress.value is True


def test_include_loop_stops_at_the_nesting_limit():
    conf = parse("include /etc/a\n", a="rotate 3\ninclude /etc/b\n/var/log/a.log {\n}\n", b="include /etc/a\n")
    assert len(conf.files_read) == 17  # the main file and 16 levels of includes
    assert (("/etc/b", 1, "include nesting too deep") in problems(conf))
    assert conf.block_for("/var/log/a.log").policy.rotate.value == 3
    assert sum(p.message == "duplicate log entry for /var/log/a.log" for p in conf.problems) == 7


def test_include_fan_out_is_bounded():
    names = ["a", "b", "c"]
    files = {MAIN: b"include /etc/d\n", **{f"/etc/d/{name}": b"include /etc/d\n" for name in names}}
    conf = parse_logrotate(MAIN, files, {"/etc/d": names})
    assert len(conf.files_read) == 2000  # logrotate itself would read 3**16 files
    assert any("include loop?" in p.message for p in conf.problems)


def test_main_file_errors_raise():
    with pytest.raises(LogrotateParseError, match="cannot stat /etc/logrotate.conf"):
        parse_logrotate(MAIN, {})
    with pytest.raises(LogrotateParseError, match="Permission denied"):
        parse_logrotate(MAIN, {MAIN: None})
    conf = parse_logrotate("/etc/logrotate.d", {"/etc/logrotate.d/a": APT.encode()}, {"/etc/logrotate.d": ["a"]})
    assert conf.block_for("/var/log/apt/term.log").policy.rotate.value == 12


# --- which block governs a log --------------------------------------------------


def test_first_block_wins_over_duplicates():
    conf = parse("/var/log/a.log {\n rotate 1\n}\n/var/log/a.log /var/log/b.log {\n rotate 2\n}\n")
    assert conf.block_for("/var/log/a.log").policy.rotate.value == 1
    assert conf.block_for("/var/log/b.log").policy.rotate.value == 2
    assert problems(conf) == [(MAIN, 4, "duplicate log entry for /var/log/a.log")]
    assert parse("ignoreduplicates\n/var/log/a.log {\n}\n/var/log/a.log {\n}\n").problems == ()


def test_a_glob_block_before_a_literal_one_governs():
    conf = parse("/var/log/whatsapp/*.log {\n rotate 30\n}\n/var/log/whatsapp/web.log {\n rotate 1\n}\n")
    assert conf.block_for("/var/log/whatsapp/web.log").policy.rotate.value == 30


@pytest.mark.parametrize(
    "pattern, path, matches",
    [
        ("/var/log/whatsapp/*.log", "/var/log/whatsapp/web.log", True),
        ("/var/log/whatsapp/*.log", "/var/log/whatsapp/archive/web.log", False),  # '*' stays in one name
        ("/var/log/whatsapp/*.log", "/var/log/whatsapp/.web.log", False),  # nor matches a leading dot
        ("/var/log/*/web.log", "/var/log/whatsapp/web.log", True),
        ("/var/log/whatsapp/*", "/var/log/whatsapp/web.log.1", True),
        ("/var/log/whatsapp/???.log", "/var/log/whatsapp/web.log", True),
        ("/var/log/whatsapp/[a-z]*.log", "/var/log/whatsapp/error.log", True),
        ("/var/log/whatsapp/[!e]*.log", "/var/log/whatsapp/error.log", False),
        ("/var/log/whatsapp/[[:alpha:]]eb.log", "/var/log/whatsapp/web.log", True),
        ("/var/log/whatsapp/[z-a]eb.log", "/var/log/whatsapp/web.log", False),
        ("/var/log/whatsapp/[web.log", "/var/log/whatsapp/[web.log", True),
        ("/var/log/whatsapp/\\*.log", "/var/log/whatsapp/*.log", True),
        ("/var/log/whatsapp/\\*.log", "/var/log/whatsapp/web.log", False),
        ("~/web.log", "/root/web.log", True),
    ],
)
def test_block_matches_like_glob(pattern, path, matches):
    block = LogBlock((pattern,), MAIN, 1, policy("/var/log/x.log {\n}\n"))
    assert block.matches(path) is matches


# --- the real logrotate -----------------------------------------------------------

_PATTERN_SUMMARY = re.compile(
    r" (hourly|after \d+ days|weekly|monthly|yearly|(\d+) bytes|forced from command line) "
    r"(?:\((\d+) rotations\)\n|(\(no old logs will be kept\))\n)?"
    r"(?:olddir is (.*?), )?empty log files are (?:not )?rotated, "
    r"(?:only log files >= (\d+) bytes are rotated, )?(?:log files >= (\d+) are rotated earlier, )?"
)
_TIME = {"hourly": "hourly", "weekly": "weekly", "monthly": "monthly", "yearly": "yearly"}


def run_logrotate(root: Path, main: Path, force: bool = False) -> str | None:
    """What `logrotate -d` reports (it changes nothing); None if it crashes or hangs, as it can."""
    command = [LOGROTATE, "-d", *(["-f"] if force else []), "-s", str(root / "state"), str(main)]
    try:
        run = subprocess.run(command, capture_output=True, text=True, errors="replace", timeout=10, check=False)
    except subprocess.TimeoutExpired:
        return None
    return None if run.returncode < 0 else run.stderr


def real_blocks(report: str) -> list[dict]:
    """Per block, in order: what logrotate prints in its "rotating pattern:" summary."""
    blocks = []
    for section in report.split("\nrotating pattern: ")[1:]:
        crit, size, count, none_kept, olddir, minsize, maxsize = _PATTERN_SUMMARY.search(section).groups()
        blocks.append({
            "criterion": "size" if size else "daily" if crit.startswith("after") else _TIME.get(crit, crit),
            "size": int(size) if size else None,
            "rotate": int(count) if count else 0 if none_kept else -1,  # nothing printed when negative
            "olddir": olddir,
            "minsize": int(minsize) if minsize else None,
            "maxsize": int(maxsize) if maxsize else None,
        })
    return blocks


def our_blocks(conf: LogrotateConfig) -> list[dict]:
    blocks = []
    for block in conf.blocks:
        p = block.policy
        blocks.append({
            "criterion": p.criterion.value,
            "size": p.size.value if p.criterion.value == "size" else None,
            "rotate": max(p.rotate.value, -1),
            "olddir": p.olddir.value,
            "minsize": p.minsize.value or None,
            "maxsize": p.maxsize.value or None,
        })
    return blocks


def real_rotations(report: str) -> dict[str, tuple[str, bool]]:
    """With -f: per log file, the directory its .1 copy goes to and whether it is compressed."""
    rotations = {}
    per_log = r"rotating log (\S+), log->rotateCount is -?\d+\n(.*?)(?=\nrotating |\Z)"
    for log, body in re.findall(per_log, report, re.DOTALL):
        target = re.search(rf"(?:renaming|copying) {re.escape(log)} to (\S+)\.1\n", body).group(1)
        rotations[log] = (os.path.dirname(target), "compressing log with" in body)
    return rotations


def write_config(root: Path, contents: dict[str, str | bytes]) -> dict[str, bytes]:
    """Write files under root ("@D@" in text stands for root) and return them as parse_logrotate wants."""
    files = {}
    for name, content in contents.items():
        data = content.replace("@D@", str(root)).encode() if isinstance(content, str) else content
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        path.chmod(0o644)  # logrotate ignores group- or world-writable files
        files[str(path)] = data
    return files


def directories_of(root: Path) -> dict[str, list[str]]:
    return {str(path): os.listdir(path) for path in root.rglob("*") if path.is_dir()}


def both_readings(root: Path, contents: dict[str, str | bytes]) -> tuple[list, list] | None:
    """(what logrotate reports, what we parse) for root/main.conf and the other files.

    None where logrotate crashes or hangs, as it can on include loops.
    """
    files = write_config(root, contents)
    for olddir in ("arc", "archive"):  # logrotate drops a block whose olddir does not exist
        (root / "logs" / olddir).mkdir(parents=True, exist_ok=True)
    report = run_logrotate(root, root / "main.conf")
    if report is None:
        return None
    return real_blocks(report), our_blocks(parse_logrotate(str(root / "main.conf"), files, directories_of(root)))


REALISTIC = {
    "main.conf": DEBIAN_CONF.replace("/etc/logrotate.d", "@D@/logrotate.d"),
    "logrotate.d/whatsapp": WHATSAPP.replace("/var/log/whatsapp", "@D@/logs"),
    "logrotate.d/rsyslog": (
        "@D@/logs/syslog\n@D@/logs/mail.log\n@D@/logs/kern.log\n{\n\trotate 4\n\tweekly\n\tmissingok\n"
        "\tnotifempty\n\tcompress\n\tdelaycompress\n\tsharedscripts\n\tpostrotate\n"
        "\t\t/usr/lib/rsyslog/rsyslog-rotate\n\tendscript\n}\n"
    ),
    "logrotate.d/nginx": (
        "@D@/logs/nginx*.log {\n\tdaily\n\tmissingok\n\trotate 14\n\tcompress\n\tdelaycompress\n\tnotifempty\n"
        "\tcreate 0640 www-data adm\n\tsharedscripts\n\tprerotate\n"
        "\t\tif [ -d /etc/logrotate.d/httpd-prerotate ]; then \\\n"
        "\t\t\trun-parts /etc/logrotate.d/httpd-prerotate; \\\n"
        "\t\tfi \\\n\tendscript\n\tpostrotate\n\t\tinvoke-rc.d nginx rotate >/dev/null 2>&1\n\tendscript\n}\n"
    ),
    "logrotate.d/wtmp": (
        "@D@/logs/wtmp {\n    missingok\n    monthly\n    create 0664 root utmp\n    minsize 1M\n    rotate 1\n}\n"
    ),
    "logrotate.d/apt.dpkg-old": "@D@/logs/apt.log {\n  rotate 12\n}\n",
    "logrotate.d/app": (
        "@D@/logs/app.log {\n  maxsize 100M\n  hourly\n  olddir arc\n  su root adm\n  rotate -1\n  dateext\n"
        "  dateformat -%Y%m%d%H\n  compresscmd /usr/bin/xz\n  compressext .xz\n  compressoptions -9\n}\n"
    ),
}


@needs_logrotate
@pytest.mark.parametrize(
    "contents, kept",
    [
        pytest.param(REALISTIC, 5, id="debian-realistic"),
        pytest.param({"main.conf": WHATSAPP.replace("/var/log/whatsapp", "@D@/logs").replace("20M", "20MB")}, 0,
                     id="size-20MB"),
        pytest.param({"main.conf": "@D@/logs/a.log {\n  rotate x\n  }\n@D@/logs/b.log {\n}\n@D@/logs/c.log {\n}\n"}, 1,
                     id="indented-brace-after-error"),
        pytest.param({"main.conf": "@D@/logs/a.log {\n  rotate\n}\n@D@/logs/b.log {\n}\n@D@/logs/c.log {\n}\n"}, 1,
                     id="missing-value-eats-brace"),
        pytest.param({"main.conf": b"@D@/logs/a.log {\n  rotate 5\r\n}\r\n@D@/logs/b.log {\r\n}\n"}, 1, id="crlf"),
        pytest.param({"main.conf": "@D@/logs/a.log {\n  rotate 7\n  rotate x\n"}, 1, id="error-then-eof"),
        # logrotate forgets the old olddir before it rejects the new one; the broken block survives at EOF.
        pytest.param({"main.conf": "@D@/logs/a.log {\n  olddir arc\n  olddir a b\n"}, 1, id="bad-olddir-then-eof"),
        pytest.param({"main.conf": "include @D@/a.conf\n", "b.conf": "include @D@/a.conf\n",
                      "a.conf": "rotate 3\ninclude @D@/b.conf\n@D@/logs/a.log {\n}\n"}, 8, id="include-loop"),
        pytest.param({"main.conf": "@D@/logs/*.log {\n  include @D@/d\n  weekly 7\n}\n", "d/a": "rotate 9\n",
                      "d/inner": "@D@/logs/a.log {\n}\ninclude @D@/d\n"}, 1, id="include-in-block-loop"),
        pytest.param({"main.conf": "size 5M\ndaily\n@D@/logs/a.log {\n  size 1k\n  monthly\n}\n@D@/logs/b.log {\n"
                                   "  minsize 0x10k\n  maxsize 010\n  hourly\n  size 3G\n}\n"}, 2, id="criteria"),
    ],
)
def test_matches_logrotate(tmp_path, contents, kept):
    contents = {name: text.replace(b"@D@", str(tmp_path).encode()) if isinstance(text, bytes) else text
                for name, text in contents.items()}
    real, ours = both_readings(tmp_path, contents)
    assert len(real) == kept
    assert ours == real


@needs_logrotate
def test_rotation_targets_and_compression_match_logrotate(tmp_path):
    logs = ["web.log", "access.log", "error.log", "a.log", "b.log", "c.log"]
    contents = {
        "main.conf": "compress\n"
        + WHATSAPP.replace("/var/log/whatsapp/", "@D@/logs/").replace("/archive", "/arc").replace("20M", "20k")
        + "@D@/logs/a.log {\n  olddir arc\n  rotate 2\n}\n"
        + "@D@/logs/b.log {\n  nocompress\n  olddir @D@/logs/arc\n  noolddir\n}\n"
        + "@D@/logs/c.log {\n  olddir ../logs/./arc/\n  rotate -1\n}\n",
        **{f"logs/{log}": "x\n" for log in logs},
    }
    files = write_config(tmp_path, {"logs/arc/.keep": "", **contents})
    real = real_rotations(run_logrotate(tmp_path, tmp_path / "main.conf", force=True))
    conf = parse_logrotate(str(tmp_path / "main.conf"), files)
    ours = {}
    for log in logs:
        path = str(tmp_path / "logs" / log)
        p = conf.block_for(path).policy
        ours[path] = (p.archive_dir(path) or os.path.dirname(path), p.compress.value)
    assert set(real) == set(ours) and len(real) == len(logs)
    for path, (directory, compressed) in real.items():
        assert (os.path.normpath(directory), compressed) == ours[path]


# Lines the real tool reads the same way whatever the machine holds: log files
# live in @D@/logs, olddirs exist, users and groups exist.
DIFF_LINES = [
    "rotate 5", "rotate 30", "rotate -1", "rotate -2", "rotate x", "rotate 0x10", "rotate 5 # c", "rotate", "rotate=3",
    "size 20M", "size 100k", "size 1G", "size 20MB", "size 20m", "size", "size M", "minsize 1M", "maxsize 10M",
    "maxsize 3k", "compress", "nocompress", "missingok", "daily", "weekly", "weekly 3", "weekly 9", "monthly", "yearly",
    "hourly", "olddir arc", "olddir @D@/logs/arc", "olddir", "olddir a b", "noolddir", "notifempty", "copytruncate",
    "create 0640 root adm", "create 0640 root adm x", "su root adm", "su root", "unknownopt", "Compress", "foo_bar",
    "ignoreduplicates", "compress missingok", "compress # c", "include @D@/inc.conf", "include @D@/nope.conf",
    "include @D@/d", "mail a@b", "compressoptions", "postrotate\n  echo }\nendscript", "prerotate\necho {\n  endscript",
    "}", "  }", "} x", "{", "", "# comment", "@D@/logs/a.log {", "@D@/logs/b.log @D@/logs/c.log {",
    '"@D@/logs/d e.log" {', "@D@/logs/a.log\n{", "@D@/logs/e.log { compress", "@D@/logs/f.log { rotate 3 }",
    "@D@/logs/g.log {}", "=", "rotate 4\r", "\r", "tabooext + .x", "\tmissingok",
]
INCLUDED_LINES = ["compress", "rotate 9", "@D@/logs/z.log {\n rotate 2\n}", "rotate x", "}", "size 7k", "bogus", "",
                  "include @D@/inc.conf", "olddir arc", "ignoreduplicates"]


def config_text(lines: st.SearchStrategy[str], max_size: int) -> st.SearchStrategy[str]:
    return st.builds(lambda body, end: "\n".join(body) + end,
                     st.lists(lines, max_size=max_size), st.sampled_from(["\n", "\n", "", " "]))


@needs_logrotate
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(main=config_text(st.sampled_from(DIFF_LINES), 14), included=config_text(st.sampled_from(INCLUDED_LINES), 4),
       in_dir=st.dictionaries(st.sampled_from(["a", "b.dpkg-old", "c~", ".h", "e.x"]),
                              config_text(st.sampled_from(INCLUDED_LINES), 3), max_size=3))
def test_random_configs_match_logrotate(main, included, in_dir):
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "d").mkdir()
        readings = both_readings(root, {"main.conf": main, "inc.conf": included,
                                        **{f"d/{name}": text for name, text in in_dir.items()}})
        assume(readings is not None)
        real, ours = readings
        assert ours == real


# --- properties -------------------------------------------------------------------


def never_fails(files: dict[str, bytes | None], directories: dict[str, list[str]] | None = None) -> LogrotateConfig:
    conf = parse_logrotate(MAIN, files, directories or {})
    for block in conf.blocks:
        assert isinstance(block.policy.rotate.value, int) and isinstance(block.policy.compress.value, bool)
        assert block.policy.criterion.value in {"size", "hourly", "daily", "weekly", "monthly", "yearly"}
        block.policy.rotates_only_above(), block.policy.archive_dir("/var/log/x.log"), block.matches("/var/log/x.log")
    assert all(isinstance(problem, LogrotateParseError) for problem in conf.problems)
    return conf


@PROPS
@given(st.text())
def test_any_text_parses(text):
    never_fails({MAIN: text.encode("utf-8", "surrogatepass")})


@PROPS
@given(st.binary())
def test_any_bytes_parse(data):
    never_fails({MAIN: data})


TOKENS = ["rotate", "size", "minsize", "maxsize", "compress", "olddir", "include", "postrotate", "endscript",
          "tabooext", "weekly", "su", "create", "{", "}", "\"", "'", "\\", "#", "=", "/var/log/a.log", "~/b.log",
          "20M", "-1", "x", "0x", "/etc/logrotate.d", "/etc/inc", "/etc/logrotate.conf", "[a-", "*", "\r", "\0"]


@PROPS
@given(
    main=st.lists(st.sampled_from(TOKENS), max_size=30).flatmap(
        lambda tokens: st.lists(st.sampled_from(["\n", " ", "\t", "\r\n", ""]), min_size=len(tokens),
                                max_size=len(tokens)).map(lambda seps: "".join(map(str.__add__, tokens, seps)))),
    others=st.lists(st.lists(st.sampled_from(TOKENS), max_size=10).map(" \n".join), min_size=3, max_size=3),
)
def test_grammar_of_real_tokens_parses(main, others):
    files = {MAIN: main.encode(), "/etc/inc": others[0].encode(), "/etc/logrotate.d/a": others[1].encode(),
             "/etc/logrotate.d/b~": others[2].encode(), "/etc/logrotate.d/c": None}
    never_fails(files, {"/etc/logrotate.d": ["a", "b~", "c", "sub"], "/etc/logrotate.d/sub": []})


@PROPS
@given(st.text())
def test_parse_size_only_raises_parse_errors(text):
    try:
        assert parse_size(text) >= 0
    except LogrotateParseError as error:
        assert (error.path, error.line) == ("", 0)


UNITS = {"": 1, "k": 1024, "K": 1024, "M": MiB, "G": 1024**3}
sizes = st.tuples(st.integers(0, 10**6), st.sampled_from(sorted(UNITS)))


@PROPS
@given(sizes)
def test_parse_size_units(size):
    number, unit = size
    assert parse_size(f"{number}{unit}") == number * UNITS[unit]


# A model of well-formed configs: (directive text, {policy field: expected value}).
directives = st.one_of(
    st.integers(-1, 400).map(lambda n: (f"rotate {n}", {"rotate": n})),
    sizes.map(lambda s: (f"size {s[0]}{s[1]}", {"criterion": "size", "size": s[0] * UNITS[s[1]]})),
    sizes.map(lambda s: (f"minsize {s[0]}{s[1]}", {"minsize": s[0] * UNITS[s[1]]})),
    sizes.map(lambda s: (f"maxsize = {s[0]}{s[1]}", {"maxsize": s[0] * UNITS[s[1]]})),
    st.sampled_from(["hourly", "daily", "weekly", "monthly", "yearly"]).map(lambda c: (c, {"criterion": c})),
    st.sampled_from([("compress", True), ("nocompress", False)]).map(lambda c: (c[0], {"compress": c[1]})),
    st.sampled_from([("missingok", True), ("nomissingok", False)]).map(lambda c: (c[0], {"missingok": c[1]})),
    st.sampled_from(["archive", "/var/log/whatsapp/archive", "../old"]).map(lambda d: (f"olddir {d}", {"olddir": d})),
    st.just(("noolddir", {"olddir": None})),
    st.sampled_from(["notifempty", "copytruncate", "create 0640 root adm", "dateext", "# a comment {",
                     "postrotate\n    kill -HUP $(cat /run/x.pid) || { true; }\n  endscript"]).map(lambda d: (d, {})),
)
DEFAULTS = {"rotate": 0, "criterion": "size", "size": MiB, "minsize": None, "maxsize": None,
            "compress": False, "olddir": None, "missingok": False}


@PROPS
@given(st.lists(st.one_of(directives.map(lambda d: ("global", d)),
                          st.tuples(st.just("block"), st.lists(directives, max_size=6), st.booleans())), max_size=12))
def test_well_formed_configs_round_trip(items):
    lines, expected, settings_now = [], {}, dict(DEFAULTS)
    for item in items:
        if item[0] == "global":
            lines.append(item[1][0])
            settings_now.update(item[1][1])
            continue
        _, block_directives, brace_on_next_line = item
        log = f"/var/log/whatsapp/log{len(expected)}.log"
        lines.append(f'"{log}"\n{{' if brace_on_next_line else f"{log} {{")
        lines += [f"  {text}" for text, _ in block_directives]
        lines.append("}")
        expected[log] = dict(settings_now)
        for _, change in block_directives:
            expected[log].update(change)
    conf = parse("\n".join(lines) + "\n")
    assert conf.problems == ()
    for log, values in expected.items():
        p = conf.block_for(log).policy
        assert {name: getattr(p, name).value for name in DEFAULTS} == values
