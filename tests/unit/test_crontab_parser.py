"""wa_compliance.parsers.crontab: crontabs read as Debian's cron (3.0pl1-162) reads them."""

from __future__ import annotations

import os
import pickle
import shutil
import stat
import subprocess
import tempfile

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from wa_compliance.parsers.crontab import (
    CronEntry,
    CronParseError,
    Crontab,
    cron_d_ignored_reason,
    parse_crontab,
    parse_field,
    parse_schedule,
)
from wa_compliance.parsers.schedule import schedule_facts

PROPS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
CLEANUP = "docker exec wa_biz_1 /opt/whatsapp/bin/cleanup.sh"


def system(text) -> Crontab:
    return parse_crontab(text, "/etc/cron.d/wa", system=True)


def user(text) -> Crontab:
    return parse_crontab(text, "crontab of root", system=False)


def only_entry(tab: Crontab) -> CronEntry:
    assert tab.errors == () and tab.ignored is None, tab.errors
    (entry,) = tab.entries
    return entry


def messages(tab: Crontab) -> list[tuple[int, str]]:
    return [(e.line, e.message) for e in tab.errors]


# --- the shape of a crontab -------------------------------------------------------------


def test_system_crontab_entry_and_api():
    text = f"# WhatsApp cleanup\nSHELL=/bin/bash\n\n30 3 * * * root {CLEANUP} >/dev/null 2>&1\n"
    assert system(text) == Crontab(
        "/etc/cron.d/wa",
        (
            CronEntry(
                source="/etc/cron.d/wa",
                line=4,
                schedule="30 3 * * *",
                user="root",
                command=f"{CLEANUP} >/dev/null 2>&1",
                stdin=None,
                environment=(("SHELL", "/bin/bash"),),
                raw=f"30 3 * * * root {CLEANUP} >/dev/null 2>&1",
            ),
        ),
        (),
        None,
    )


def test_user_crontab_has_no_user_field():
    entry = only_entry(user(f"30 3 * * * {CLEANUP}\n"))
    assert (entry.user, entry.command) == (None, CLEANUP)
    # The same line in a system crontab takes "docker" for the user.
    entry = only_entry(system(f"30 3 * * * {CLEANUP}\n"))
    assert (entry.user, entry.command) == ("docker", CLEANUP[len("docker ") :])


def test_comments_blank_lines_and_leading_blanks():
    text = "# c\n\n   # indented comment\n\t \n  \t0 3 * * *\troot   echo  a  # not a comment\n"
    entry = only_entry(system(text))
    assert entry.line == 5
    assert entry.schedule == "0 3 * * *"
    # After the user, cron keeps all but the first blank: the shell does not mind.
    assert entry.command == "  echo  a  # not a comment"
    assert only_entry(user("  0 3 * * *    echo a\n")).command == "echo a"


def test_fields_are_joined_by_single_spaces():
    assert only_entry(user("*/15\t\t1-5   * *  mon-fri  x\n")).schedule == "*/15 1-5 * * mon-fri"


def test_empty_and_comment_only_files():
    assert user("") == Crontab("crontab of root", (), (), None)
    assert user("# nothing\n\n") == Crontab("crontab of root", (), (), None)


# --- environment settings ---------------------------------------------------------------


@pytest.mark.parametrize(
    "line, setting",
    [
        ("A=b", ("A", "b")),
        ("A = b", ("A", "b")),
        ("  A\t=\tb c  ", ("A", "b c")),
        ("A='  b  '", ("A", "  b")),  # quotes keep leading blanks; cron's strdtb() still trims trailing ones
        ('A=" b"', ("A", " b")),
        ("A=\"'b'\"", ("A", "b")),  # cron strips a second pair of quotes
        ("A=b'c\"", ("A", "b'c\"")),
        ('"A B"=c', ("A B", "c")),
        ('MAILTO=""', ("MAILTO", "")),
        ("A=b # c", ("A", "b # c")),  # no comments after a setting
        ("PATH=/usr/bin:/bin\r", ("PATH", "/usr/bin:/bin")),  # unquoted values lose trailing whitespace
        ("=x", ("", "x")),
    ],
)
def test_environment_settings(line, setting):
    entry = only_entry(user(f"{line}\n0 3 * * * x\n"))
    assert entry.environment == (setting,)


def test_environment_applies_below_and_a_new_value_replaces_in_place():
    tab = user("A=1\n0 1 * * * one\nB=2\nA=3\n0 2 * * * two\n")
    assert [e.environment for e in tab.entries] == [(("A", "1"),), (("A", "3"), ("B", "2"))]


@pytest.mark.parametrize("line", ["MAILTO=", "MAILTO=  ", "A=\"x\" y", "A='x", "A B=c", "\"A=x"])
def test_lines_that_are_not_settings_are_rejected_jobs(line):
    # env.c does not take these for settings; entry.c then fails on the first field.
    tab = user(f"{line}\n0 3 * * * x\n")
    assert messages(tab)[0][0] == 1
    assert messages(tab)[0][1].startswith("bad minute")
    assert tab.ignored is not None


# --- the command and its '%' ------------------------------------------------------------


@pytest.mark.parametrize(
    "cmd, command, stdin",
    [
        ("date +%Y-%m-%d", "date +", "Y-\nm-\nd\n"),
        ("date +\\%Y-\\%m-\\%d", "date +%Y-%m-%d", None),
        ("mail -s hi joe%Joe,%%Where are you?%", "mail -s hi joe", "Joe,\n\nWhere are you?\n"),
        ("cat%a\\%b", "cat", "a%b\n"),
        ("cat%", "cat", ""),
        ("echo a\\\\b", "echo a\\b", None),  # Debian removes the escape of a backslash too
        ("echo a\\\\%b", "echo a\\", "b\n"),
        ("echo \\x", "echo \\x", None),
        ("cat%a\\\\b", "cat", "a\\\\b\n"),  # but not in the input
    ],
)
def test_percent_splits_command_and_input(cmd, command, stdin):
    entry = only_entry(user(f"0 3 * * * {cmd}\n"))
    assert (entry.command, entry.stdin) == (command, stdin)


def test_empty_command_in_a_user_crontab_is_a_job():
    assert only_entry(user("0 3 * * *\n")).command == ""
    assert only_entry(user("@daily\n")).command == ""


def test_command_too_long():
    assert only_entry(user("0 3 * * * " + "x" * 998 + "\n")).command == "x" * 998
    tab = user("0 3 * * * " + "x" * 999 + "\n")
    assert messages(tab) == [(1, "command too long: 999 bytes or more")]
    # The limit is in bytes.
    assert user("0 3 * * * " + "é" * 500 + "\n").errors


# --- fields -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "token, field, values",
    [
        ("*", 1, set(range(24))),
        ("*/15", 0, {0, 15, 30, 45}),
        ("1-5/2", 0, {1, 3, 5}),
        ("0-4,8-12", 1, {0, 1, 2, 3, 4, 8, 9, 10, 11, 12}),
        ("*/100", 0, {0}),
        ("jan", 3, {1}),
        ("DEC", 3, {12}),
        ("jan-mar/2", 3, {1, 3}),
        ("Mon-Fri", 4, {1, 2, 3, 4, 5}),
        ("mon-fri/2", 4, {1, 3, 5}),  # names in ranges and steps, whatever crontab(5) says
        ("sun", 4, {0, 7}),
        ("7", 4, {0, 7}),
        ("sat-sun", 4, set()),  # sun is 0: a range running backwards selects nothing
        ("5-1", 0, set()),
        ("5;x", 0, {5}),  # cron skips what follows a complete field
        ("*-5", 0, set(range(60))),
        ("007", 0, {7}),
        ("4294967296", 0, {0}),  # atoi() wraps
        ("*/4294967297", 0, set(range(60))),
        ("*/1.5", 0, set(range(60))),
        ("1#2", 4, {1}),  # "#2" is skipped: every Monday, where cronsim reads the second Monday
    ],
)
def test_field_values(token, field, values):
    assert parse_field(token, field) == values


@pytest.mark.parametrize(
    "schedule, problem",
    [
        ("60 * * * *", "bad minute: '60'"),
        ("* 24 * * *", "bad hour: '24'"),
        ("* * 0 * *", "bad day-of-month: '0'"),
        ("* * 32 * *", "bad day-of-month: '32'"),
        ("* * * 0 *", "bad month: '0'"),
        ("* * * 13 *", "bad month: '13'"),
        ("* * * * 8", "bad day-of-week: '8'"),
        ("*/0 * * * *", "bad minute: '*/0'"),
        ("1/5 * * * *", "bad minute: '1/5'"),  # Debian: a step needs a range
        ("3- * * * *", "bad minute: '3-'"),
        ("1, * * * *", "bad minute: '1,'"),
        ("5-64/30 * * * *", "bad minute: '5-64/30'"),
        ("* * * mon *", "bad month: 'mon'"),  # a name of the wrong field
        ("* * * * jan", "bad day-of-week: 'jan'"),
        ("* * * * sunday", "bad day-of-week: 'sunday'"),
        ("* * L * *", "bad day-of-month: 'L'"),  # cronsim knows these, cron does not
        ("* * * * 5L", "bad day-of-week: '5L'"),
        ("* * ? * *", "bad day-of-month: '?'"),
    ],
)
def test_rejected_fields(schedule, problem):
    with pytest.raises(ValueError) as caught:
        parse_schedule(schedule)
    assert str(caught.value) == problem
    tab = user(f"# first\n{schedule} echo\n")
    assert messages(tab) == [(2, problem)]
    assert tab.ignored == f"line 2: {problem}"


def test_too_few_fields():
    assert messages(user("* * * *\n")) == [(1, "bad day-of-week: ''")]
    with pytest.raises(ValueError, match="five fields"):
        parse_schedule("* * * *")


# --- @keywords --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "keyword", ["@reboot", "@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly"]
)
def test_keywords(keyword):
    entry = only_entry(system(f"{keyword}\troot {CLEANUP}\n"))
    assert (entry.schedule, entry.user, entry.command) == (keyword, "root", CLEANUP)
    assert only_entry(user(f"{keyword} {CLEANUP}\n")).schedule == keyword


def test_keywords_are_lower_case_only():
    tab = user("@DAILY x\n@ daily x\n@dayly x\n")
    assert messages(tab) == [
        (1, "bad time specifier: '@DAILY'"),
        (2, "bad time specifier: '@'"),
        (3, "bad time specifier: '@dayly'"),
    ]


def test_keyword_fields_are_those_of_entry_c():
    assert parse_schedule("@reboot") is None
    weekly = parse_schedule("@weekly")
    assert (weekly.weekdays, weekly.day_star, weekly.weekday_star) == ({0, 7}, True, False)
    yearly = parse_schedule("@yearly")
    assert (yearly.days, yearly.months, yearly.weekday_star) == ({1}, {1}, True)


# --- rejected lines and ignored files ---------------------------------------------------


def test_every_rejected_line_is_reported_and_the_file_is_ignored():
    text = "0 3 * * * root ok\n60 3 * * * root a\n0 3 * * * root b\n0 25 * * * root c\n"
    tab = system(text)
    assert messages(tab) == [(2, "bad minute: '60'"), (4, "bad hour: '25'")]
    assert str(tab.errors[0]) == "/etc/cron.d/wa:2: bad minute: '60'"
    assert tab.ignored == "line 2: bad minute: '60'"
    # What could be read is still listed, so a caller can say why a job never runs.
    assert [e.line for e in tab.entries] == [1, 3]


def test_system_line_without_user_or_command():
    # get_string() reads the user up to a blank, past the end of the line.
    assert messages(system("0 3 * * * root\n1 2 * * * root x\n"))[0][1].startswith("bad username")
    assert messages(system("0 3 * * *\n")) == [(1, "bad command: no command after the user")]
    # "root " then nothing is a job with an empty command.
    assert only_entry(system("0 3 * * * root \n")).command == ""


def test_a_sixth_field_in_a_user_crontab():
    tab = user("0 3 * * * * x\n")
    assert messages(tab) == [(1, "bad command: starts with '*' (a sixth time field?)")]


def test_missing_final_newline_makes_cron_ignore_the_file():
    tab = user(f"0 2 * * * a\n30 3 * * * {CLEANUP}")
    assert messages(tab) == [(2, "missing newline before end of file")]
    assert tab.ignored == "line 2: missing newline before end of file"
    assert [e.command for e in tab.entries] == ["a", CLEANUP]
    assert user("A=b").ignored == "line 1: missing newline before end of file"


@pytest.mark.parametrize("tail", ["# last comment", "   \t", ""])
def test_final_comment_or_blanks_without_newline_are_fine(tail):
    assert user(f"0 3 * * * a\n{tail}").ignored is None


def test_crontab_longer_than_10000_lines_is_ignored():
    # The limit counts the 3 header lines crontab(1) writes: a job on line 10004 is too far.
    ok = user("#\n" * 10002 + "0 3 * * * x\n")
    assert ok.ignored is None and ok.entries[0].line == 10003
    assert user("#\n" * 10003 + "0 3 * * * x\n").ignored == "line 10004: crontab longer than 10000 lines"


# --- bytes, line ends -------------------------------------------------------------------


def test_crlf_keeps_the_carriage_return_in_the_command():
    tab = user(b"PATH=/bin\r\n30 3 * * * /opt/whatsapp/bin/cleanup.sh\r\n")
    entry = only_entry(tab)
    # cron runs "cleanup.sh\r", which does not exist.
    assert entry.command == "/opt/whatsapp/bin/cleanup.sh\r"
    assert entry.environment == (("PATH", "/bin"),)
    assert entry.raw == "30 3 * * * /opt/whatsapp/bin/cleanup.sh\r"


def test_crlf_empty_line_is_a_bad_minute():
    tab = user(b"0 3 * * * a\r\n\r\n0 4 * * * b\r\n")
    assert messages(tab) == [(2, "bad minute: '\\r'")]


def test_utf8_bom_is_a_bad_minute():
    assert messages(user(b"\xef\xbb\xbf0 3 * * * a\n")) == [(1, "bad minute: '\\ufeff0'")]


def test_bytes_that_are_not_utf8_are_replaced():
    entry = only_entry(user(b"0 3 * * * echo \xff\xfe ok\n"))
    assert entry.command == "echo \ufffd\ufffd ok"
    assert entry.raw == "0 3 * * * echo \ufffd\ufffd ok"


def test_nul_ends_what_get_string_reads():
    # The rest of the line after a NUL is read as a line of its own.
    tab = user(b"0 3 * * * a\x000 4 * * * b\n")
    assert [(e.line, e.schedule, e.command) for e in tab.entries] == [(1, "0 3 * * *", "a"), (1, "0 4 * * *", "b")]
    assert tab.ignored is None


# --- /etc/cron.d names and modes --------------------------------------------------------

REGULAR = stat.S_IFREG | 0o644


@pytest.mark.parametrize("name", ["wa-cleanup", "wa_cleanup", "WA2", "e2scrub_all", "0hourly"])
def test_cron_d_names_cron_reads(name):
    assert cron_d_ignored_reason(name, REGULAR, 0, nlink=1) is None


@pytest.mark.parametrize(
    "name", ["wa-cleanup.cron", "job~", "wa.dpkg-old", ".placeholder", "wa cleanup", "wa#", "wä", "a\n"]
)
def test_cron_d_names_cron_skips(name):
    assert "cron skips" in cron_d_ignored_reason(name)


def test_cron_d_lsb_names():
    assert cron_d_ignored_reason("wa.cleanup-job", lsbsysinit=True) is None  # hierarchical: dots allowed
    assert cron_d_ignored_reason("wa.cleanup-job") is not None
    assert cron_d_ignored_reason("wa-cleanup.cron", lsbsysinit=True) is not None
    assert cron_d_ignored_reason("wa.cleanup-job.dpkg-old", lsbsysinit=True) is not None
    assert cron_d_ignored_reason("Upper", lsbsysinit=True) is not None
    assert cron_d_ignored_reason("_wa-cleanup", lsbsysinit=True) is None


@pytest.mark.parametrize(
    "mode, uid, nlink, words",
    [
        (REGULAR, 1000, 1, "not owned by root"),
        (stat.S_IFDIR | 0o755, 0, 1, "not a regular file"),
        (stat.S_IFREG | 0o664, 0, 1, "group- or other-writable"),
        (stat.S_IFREG | 0o646, 0, 1, "group- or other-writable"),
        (REGULAR, 0, 2, "hard links"),
    ],
)
def test_cron_d_owner_mode_and_links(mode, uid, nlink, words):
    assert words in cron_d_ignored_reason("wa-cleanup", mode, uid, nlink=nlink)


def test_cron_d_read_only_for_all_is_fine():
    assert cron_d_ignored_reason("wa-cleanup", stat.S_IFREG | 0o600, 0) is None
    assert cron_d_ignored_reason("wa-cleanup", stat.S_IFREG | 0o444, 0) is None


def test_parse_error_is_a_value_error_that_pickles():
    error = CronParseError("/etc/crontab", 7, "bad hour: '24'")
    assert isinstance(error, ValueError)
    assert str(error) == "/etc/crontab:7: bad hour: '24'"
    assert pickle.loads(pickle.dumps(error)) == error


# --- properties -------------------------------------------------------------------------

CRONISH = st.text(alphabet=" \t\n\r\0#@*/,-%\\='\"0123456789abcjmnoprstuy", max_size=120)


@PROPS
@given(st.one_of(st.text(max_size=200), CRONISH), st.booleans())
def test_any_text_parses_and_raw_is_the_line(text, is_system):
    tab = parse_crontab(text, "t", is_system)
    lines = text.split("\n")
    for entry in tab.entries:
        assert entry.raw == lines[entry.line - 1]
    assert all(isinstance(e, CronParseError) for e in tab.errors)
    assert (tab.ignored is None) == (tab.errors == ())


@PROPS
@given(st.one_of(st.binary(max_size=200), CRONISH.map(lambda t: t.encode() + b"\xff")), st.booleans())
def test_any_bytes_parse_and_raw_is_the_line(data, is_system):
    tab = parse_crontab(data, "t", is_system)
    lines = data.decode("utf-8", "replace").split("\n")
    for entry in tab.entries:
        assert entry.raw == lines[entry.line - 1]


def _item(low, high, names=()):
    number = st.integers(low, high)
    value = number.map(str) if not names else st.one_of(
        number.map(str),
        st.integers(0, len(names) - 1).flatmap(
            lambda i: st.sampled_from([names[i], names[i].upper(), names[i].title()])
        ),
    )
    bounded = st.tuples(number, number).map(sorted)
    return st.one_of(
        st.just("*"),
        st.integers(1, high - low + 1).map(lambda s: f"*/{s}"),
        value,
        bounded.map(lambda ab: f"{ab[0]}-{ab[1]}"),
        st.tuples(bounded, st.integers(1, 30)).map(lambda x: f"{x[0][0]}-{x[0][1]}/{x[1]}"),
    )


def _field(low, high, names=()):
    return st.lists(_item(low, high, names), min_size=1, max_size=3).map(",".join)


MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
DAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")
FIVE_FIELDS = st.tuples(
    _field(0, 59), _field(0, 23), _field(1, 31), _field(1, 12, MONTHS), _field(0, 7, DAYS)
).map(" ".join)
KEYWORD = st.sampled_from(["@reboot", "@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly"])
SCHEDULE = st.one_of(FIVE_FIELDS, KEYWORD)
COMMAND = st.text(alphabet="abc /.-_>&|$'\"\\%", min_size=1, max_size=40).filter(
    lambda c: c.strip(" ") and not c.startswith("*")
)


@PROPS
@given(
    st.lists(st.tuples(SCHEDULE, st.sampled_from([" ", "\t", "  "]), COMMAND), min_size=1, max_size=5),
    st.booleans(),
)
def test_valid_lines_give_entries_without_errors(jobs, is_system):
    text = "".join(
        f"{schedule}{blank}{'root ' if is_system else ''}{command}\n" for schedule, blank, command in jobs
    )
    tab = parse_crontab(text, "t", is_system)
    assert tab.errors == () and tab.ignored is None
    assert [(e.line, e.schedule) for e in tab.entries] == [(n + 1, s) for n, (s, _, _) in enumerate(jobs)]
    for entry in tab.entries:
        schedule_facts(entry.schedule)


# --- the real cron agrees ---------------------------------------------------------------

CRONTAB = shutil.which("crontab")


def cron_accepts(data: bytes) -> bool:
    """`crontab -n` runs Debian cron's own load_env()/load_entry() over a user crontab."""
    with tempfile.NamedTemporaryFile(delete=False) as file:
        file.write(data)
    try:
        return subprocess.run([CRONTAB, "-n", file.name], capture_output=True).returncode == 0
    finally:
        os.unlink(file.name)


@pytest.fixture(scope="module")
def usable_crontab():
    if not CRONTAB or not cron_accepts(b"0 3 * * * x\n") or cron_accepts(b"60 3 * * * x\n"):
        pytest.skip("Debian's crontab -n is not available here")


LINE = st.one_of(
    st.tuples(st.one_of(FIVE_FIELDS, KEYWORD), COMMAND).map(" ".join),
    st.text(alphabet=" \t\r\0#@*/,-%=\"'0123456789abcjmnouy", max_size=30),
    st.sampled_from(["MAILTO=", 'MAILTO=""', "A = 'b'", "# c", "", "\t", "@DAILY x", "1/5 * * * * x"]),
)


@settings(max_examples=120, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.lists(LINE, max_size=6), st.sampled_from(["\n", "", "\r\n"]))
def test_ignored_exactly_when_crontab_n_refuses(usable_crontab, lines, end):
    data = ("\n".join(lines) + end).encode()
    assert (user(data).ignored is None) == cron_accepts(data), user(data).errors
