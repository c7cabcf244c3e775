"""VOL-004's live round trip: can every container read what every other one writes?

Each container writes one uniquely named probe into the media path and reads every other
container's; then one container removes them all. In 2N-1 execs for N containers (the fewest:
the first exec to write cannot read what is written after it):

1. all but the last container (the pivot) write their probe, side by side;
2. the pivot writes its own and reads theirs, in one exec;
3. the others but one read every probe but their own, side by side (the pivot's among them);
4. the last of them (the closer) reads as they did and, when every probe it read holds what was
   written, removes every probe in the same exec; else one container removes them in another.

A probe is written by an exec of its own, or, when the audit also reads inside the containers,
by the same exec as that read (`written_first`, `read_first`): the audit then costs two execs per
container but one in all. Every exec can be run again when the engine loses its output
(moby#27289): a write finds its own probe already there, a read reads again, the removal says
which probes are gone, whoever removed them; the closer's exit code says what its output would
have (every probe read as written, and removed), so it is never run again once it removed. Only
if something went wrong (or the run is interrupted) are leftovers removed from the containers
that wrote them. A probe never overwrites anything (`set -C`), and only paths this run created
are ever removed.

>>> report = run_media_probe(engine, plan_media_probe(["biz_waweb_1", "biz_wacore_1"], "/usr/local/wamedia", "lab"))
>>> report.seen["biz_waweb_1"]
{'biz_wacore_1': 'identical'}
"""

from __future__ import annotations

import contextlib
import datetime as dt
import posixpath
import re
import secrets
import signal
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from ..errors import FactUnavailable

# Idempotent, so that it can be run again when the engine lost its output: the name holds a
# random token, so a file there with this exact content was written by this very probe.
_WRITE = r"""
echo begin
if [ -e "$2" ]; then
  [ "$(cat -- "$2")" = "$1" ] || { echo "$2 exists with other content" >&2; exit 1; }
else
  set -C; printf %s "$1" > "$2" || exit 1
fi
echo written
"""
# Says what the probe at $1 holds and leaves it in $c (empty when it cannot be read): its one
# line, read by the shell itself (no program to start); a second line makes it differ.
_READ_ONE = r"""
read_probe() {
  c=
  if [ -r "$1" ]; then
    { IFS= read -r c; if IFS= read -r x || [ -n "$x" ]; then c="$c+"; fi; } < "$1"
    printf 'read\t%s\t%s\n' "$1" "$c"
  elif [ -e "$1" ]; then printf 'unreadable\t%s\n' "$1"
  else printf 'missing\t%s\n' "$1"; fi
}
"""
# Arguments: N and M, the N paths to read, the M paths to remove; any further argument is left
# alone (another script of the same exec takes it). Reads only, or removes only: either can run again.
_READ_AND_REMOVE = _READ_ONE + r"""
echo begin
n=$1; m=$2; shift 2; i=0
for f; do
  i=$((i+1))
  if [ "$i" -le "$n" ]; then
    read_probe "$f"
  elif [ "$i" -le $((n + m)) ]; then
    rm -f -- "$f" 2>/dev/null; [ -e "$f" ] || printf 'gone\t%s\n' "$f"
  else
    break
  fi
done
echo end
"""
# The closer's. Arguments: N, then N pairs (path, what was written there), then the paths to
# remove, removed only when each of the N holds what was written. Exit code 0: read as written,
# every path gone; 5: read as written, some path left; 3: one differs, nothing removed.
_READ_THEN_REMOVE = _READ_ONE + r"""
echo begin
n=$1; shift; same=0
while [ "$n" -gt 0 ]; do
  read_probe "$1"; [ "$c" = "$2" ] || same=3; shift 2; n=$((n - 1))
done
if [ "$same" = 3 ]; then echo end; exit 3; fi
left=0
[ $# -gt 0 ] && rm -f -- "$@" 2>/dev/null
for f; do if [ -e "$f" ]; then left=5; else printf 'gone\t%s\n' "$f"; fi; done
echo end
exit $left
"""
_READ_AS_WRITTEN = (0, 5)
# Runs of an exec whose output the engine lost (seen twice in a row on a loaded machine, never
# three times): each script can run again.
ATTEMPTS = 3
_REMOVE_OWN = 'if [ -e "$1" ]; then rm -f -- "$1"; fi; [ ! -e "$1" ]'
# Before another script in the same exec: the write, in a subshell whose exit ends only itself,
# then its exit code; the read, then a line that ends its part. Each shifts its own arguments away.
_WRITE_FIRST = "probe_write() (\n" + _WRITE + ")\nprobe_write \"$1\" \"$2\" 2>&1\necho \"probe-exit $?\"\nshift 2\n"
_READ_FIRST = ("probe_read() (\n" + _READ_AND_REMOVE + ")\nprobe_read \"$@\" 2>&1\necho probe-read-end\n"
               "shift $((2 + $1 + $2))\n")


@dataclass
class Probe:
    writer: str
    path: str
    content: str
    write_error: str | None = None
    removed: bool = False


@dataclass
class MediaProbeReport:
    media_path: str
    probes: dict[str, Probe] = field(default_factory=dict)              # by writer
    seen: dict[str, dict[str, str]] = field(default_factory=dict)       # reader -> writer -> what it saw
    leftovers: list[str] = field(default_factory=list)
    exec_count: int = 0
    # container -> why its docker exec itself failed (engine or connection lost): not a
    # verdict on the media, the round trip could not be made
    unreachable: dict[str, str] = field(default_factory=dict)

    @property
    def write_errors(self) -> dict[str, str | None]:
        return {name: probe.write_error for name, probe in self.probes.items()}

    @property
    def pivot(self) -> Probe | None:
        """The last probe, whose writer also reads the others' in the same exec; none alone."""
        probes = list(self.probes.values())
        return probes[-1] if len(probes) > 1 else None

    @property
    def first(self) -> list[Probe]:
        """The probes written before the pivot's (all of them when there is no pivot)."""
        pivot = self.pivot
        return [probe for probe in self.probes.values() if probe is not pivot]

    def pivot_reads(self) -> list[str]:
        """The probes the pivot reads: those written before it, once written."""
        return [probe.path for probe in self.first if probe.write_error is None]


def plan_media_probe(containers: list[str], media_path: str, host: str) -> MediaProbeReport:
    """The probes of one round trip, named and filled, nothing written yet."""
    report = MediaProbeReport(media_path)
    run = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    stem = f".wa-compliance-probe-{_safe(host)}-{run}-{secrets.token_hex(6)}"
    for index, container in enumerate(containers):
        path = posixpath.join(media_path, f"{stem}-{index}")
        report.probes[container] = Probe(container, path, f"{container}:{secrets.token_hex(16)}")
    return report


def run_media_probe(engine, report: MediaProbeReport, write=None) -> MediaProbeReport:
    """Write, cross-read and remove the probes; always leaves the volume as it found it.
    `write(probe)`: when another exec carries the probe's write (and, for the pivot, its read),
    makes sure it has run and recorded its outcome; by default each is an exec of its own."""
    pivot = report.pivot
    with _interrupts_raise():
        try:
            _side_by_side([lambda p=probe: write(p) if write else _write_alone(engine, report, p)
                           for probe in report.first])
            if pivot is not None:
                write(pivot) if write else _write_and_read_alone(engine, report, pivot)
            written = [p for p in report.probes.values() if p.write_error is None]
            readers = [probe.writer for probe in report.first]
            closer = next((p.writer for p in reversed(written) if p.writer in readers), None)   # it can write
            _side_by_side([lambda r=reader: _read(engine, report, r, written) for reader in readers if reader != closer])
            if closer is None or not _read_and_close(engine, report, closer, written):
                _remove(engine, report, written)
        finally:
            with _signals_deferred():
                _remove_leftovers(engine, report)
    return report


def _write_alone(engine, report, probe):
    report.exec_count += 1
    try:
        code, output = _exec_told(engine, probe.writer, ["sh", "-c", _WRITE, "sh", probe.content, probe.path],
                                  "written", report)
    except FactUnavailable as exc:
        record_write(report, probe, exc)
        return
    record_write(report, probe, (code, output))


def _write_and_read_alone(engine, report, probe):
    paths = report.pivot_reads()
    argv = written_first(_read_argv(paths, []), probe)
    report.exec_count += 1
    try:
        _, output = exec_until(engine, probe.writer, argv,
                               lambda output: write_arrived(output) and _told(split_written(output)[2], "end"),
                               report)
    except FactUnavailable as exc:
        record_write(report, probe, exc)
        record_read(report, probe.writer, paths, exc)
        return
    code, written, rest = split_written(output)
    record_write(report, probe, (code, written))
    record_read(report, probe.writer, paths, rest if _told(rest, "end") else lost_output(probe.writer))


def _read_argv(paths: list[str], remove: list[str]) -> list[str]:
    return ["sh", "-c", _READ_AND_REMOVE, "sh", str(len(paths)), str(len(remove)), *paths, *remove]


def written_first(argv: list[str], probe: Probe) -> list[str]:
    """`sh -c SCRIPT NAME ARGS...` made to write `probe` before it runs SCRIPT."""
    shell, flag, script, name, *arguments = argv
    return [shell, flag, _WRITE_FIRST + script, name, probe.content, probe.path, *arguments]


def read_first(argv: list[str], paths: list[str]) -> list[str]:
    """`sh -c SCRIPT NAME ARGS...` made to read the probes at `paths` before it runs SCRIPT."""
    shell, flag, script, name, *arguments = argv
    return [shell, flag, _READ_FIRST + script, name, str(len(paths)), "0", *paths, *arguments]


def split_written(output: str) -> tuple[int | None, str, str]:
    """The output of a `written_first` exec: the write's exit code (None when that part of the
    output was lost), what the write printed, and what the script after it printed."""
    lines = output.splitlines(keepends=True)
    for index, line in enumerate(lines):
        words = line.split()
        if words[:1] == ["probe-exit"]:
            code = words[1] if len(words) == 2 and words[1].isdigit() else None
            return (int(code) if code else None), "".join(lines[:index]), "".join(lines[index + 1:])
    return None, output, ""


def split_read(output: str) -> tuple[str | None, str]:
    """The output of a `read_first` exec: what the read printed (None: lost), and what the
    script after it printed."""
    head, marker, rest = output.partition("probe-read-end\n")
    return (head if marker and _told(head, "end") else None), rest


def write_arrived(output: str) -> bool:
    """Whether a `written_first` exec's output holds the whole of the write's part."""
    code, written, _ = split_written(output)
    return code is not None and (code != 0 or _told(written, "written"))


def record_write(report: MediaProbeReport, probe: Probe, outcome) -> None:
    """What writing `probe` gave: (exit code, output) of its script, or the FactUnavailable of an
    exec that could not be made (engine or connection lost)."""
    if not isinstance(outcome, FactUnavailable) and (outcome[0] is None or outcome[0] == 0
                                                     and not _told(outcome[1], "written")):
        outcome = lost_output(probe.writer)
    if isinstance(outcome, FactUnavailable):
        probe.write_error = report.unreachable[probe.writer] = str(outcome)
        return
    code, output = outcome
    if code != 0:
        probe.write_error = output.strip().splitlines()[-1] if output.strip() else f"exit code {code}"


def record_read(report: MediaProbeReport, reader: str, paths: list[str], outcome) -> None:
    """What `reader` saw of the probes at `paths`: the read script's output, or the
    FactUnavailable of an exec that could not be made or whose output was lost."""
    by_path = {p.path: p for p in report.probes.values()}
    if isinstance(outcome, FactUnavailable):
        report.unreachable[reader] = str(outcome)
        report.seen[reader] = {by_path[path].writer: f"not checked ({outcome})" for path in paths}
        return
    report.seen[reader] = {by_path[path].writer: "missing" for path in paths}
    for line in outcome.splitlines():
        status, _, rest = line.partition("\t")
        path, _, content = rest.partition("\t")
        probe = by_path.get(path)
        if probe is None or path not in paths:
            continue
        if status == "read":
            report.seen[reader][probe.writer] = "identical" if content == probe.content else "different"
        elif status in ("missing", "unreadable"):
            report.seen[reader][probe.writer] = status


def _read(engine, report, reader, written):
    paths = [p.path for p in written if p.writer != reader]
    report.exec_count += 1
    try:
        _, output = _exec_told(engine, reader, _read_argv(paths, []), "end", report)
    except FactUnavailable as exc:
        record_read(report, reader, paths, exc)
        return
    record_read(report, reader, paths, output)


def _read_and_close(engine, report, closer, written) -> bool:
    """The closer's read and, when every probe it read holds what was written, the removal of
    every probe: whether that removal was made (or, its output lost, may have been: the
    leftovers' removal then makes sure)."""
    others = [p for p in written if p.writer != closer]
    paths = [p.path for p in others]
    argv = ["sh", "-c", _READ_THEN_REMOVE, "sh", str(len(others)),
            *(word for p in others for word in (p.path, p.content)), *(p.path for p in written)]
    report.exec_count += 1
    try:
        code, output = exec_until(engine, closer, argv, lambda output: _told(output, "end"), report,
                                  known=lambda code: code in _READ_AS_WRITTEN)
    except FactUnavailable as exc:
        record_read(report, closer, paths, exc)
        return False
    if _told(output, "end"):
        record_read(report, closer, paths, output)
        _record_gone(written, output)
        # the script removed when, as here, each probe read holds what was written
        return all(report.seen[closer].get(p.writer) == "identical" for p in others)
    if code in _READ_AS_WRITTEN:
        report.seen[closer] = {p.writer: "identical" for p in others}
        return True
    record_read(report, closer, paths, lost_output(closer))
    return False


def _record_gone(written, output):
    gone = {rest for status, _, rest in (line.partition("\t") for line in output.splitlines()) if status == "gone"}
    for probe in written:
        probe.removed = probe.path in gone


def _remove(engine, report, written):
    """Once every reader is done, one container that could write removes every probe: the
    pivot when it could; it says which are gone."""
    if not written:
        return
    remover = written[-1].writer
    report.exec_count += 1
    try:
        _, output = _exec_told(engine, remover, _read_argv([], [p.path for p in written]), "end", report)
    except FactUnavailable:
        return                          # the leftovers' removal tries again, from each writer
    _record_gone(written, output)


def exec_until(engine, container: str, argv: list[str], arrived, report: MediaProbeReport | None = None,
               known=lambda code: False):
    """One exec whose script can run again: when the engine loses (part of) a short exec's
    output (moby#27289, docker-py#2042), which `arrived(output)` tells, it is run again,
    ATTEMPTS times in all, unless `known(exit code)` says enough without the output; the re-runs
    are counted in `report`. The last (exit code, output); the code is None when the output
    arrived (it is then not asked for: the output says what the script did)."""
    code, output = engine.exec(container, argv, arrived)
    for _ in range(ATTEMPTS - 1):
        if code is None or arrived(output) or known(code):      # None: the engine saw it arrive
            break
        if report is not None:
            report.exec_count += 1
        code, output = engine.exec(container, argv, arrived)
    return code, output


def _exec_told(engine, container: str, argv: list[str], marker: str, report):
    """One exec whose script ends by printing `marker` (run again when its output is lost)."""
    code, output = exec_until(engine, container, argv, lambda output: _told(output, marker), report)
    if _told(output, marker):
        return 0, output              # the marker is printed last, once all went well
    if code == 0:
        raise lost_output(container)
    return code, output


def lost_output(container: str) -> FactUnavailable:
    """An exec whose output the engine lost, every time it was run."""
    return FactUnavailable(f"docker exec in {container} ended without its output (the engine lost it)", container)


def _told(output: str, marker: str) -> bool:
    """The whole output arrived: the engine can lose its start as well as its end, and a read
    whose first lines were lost would take the probes they named for missing."""
    lines = output.strip().splitlines()
    return len(lines) >= 2 and lines[0] == "begin" and lines[-1] == marker


def _side_by_side(calls) -> None:
    """Run the calls (docker execs) concurrently and wait for all of them. Interrupted, it
    still waits for those already running, so that the clean-up after it sees every probe
    they wrote."""
    if len(calls) <= 1:
        for call in calls:
            call()
        return
    pool = ThreadPoolExecutor(len(calls), thread_name_prefix="media-probe")
    try:
        for future in [pool.submit(call) for call in calls]:
            future.result()
    finally:
        with _signals_deferred():
            pool.shutdown(wait=True)


def _remove_leftovers(engine, report):
    for probe in report.probes.values():
        if probe.removed:
            continue
        report.exec_count += 1
        try:
            code, _ = engine.exec(probe.writer, ["sh", "-c", _REMOVE_OWN, "sh", probe.path])
        except FactUnavailable:
            code = 1
        probe.removed = code == 0
        if not probe.removed:
            report.leftovers.append(f"{probe.writer}:{probe.path}")


def _safe(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]", "_", text)[:40]


def interrupt(signum, frame):
    """A signal handler that unwinds like Ctrl-C (the audit installs it for SIGTERM too)."""
    raise KeyboardInterrupt(f"signal {signum}")


@contextlib.contextmanager
def _interrupts_raise():
    """SIGTERM, like Ctrl-C, must unwind through the cleanup instead of killing the run."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


@contextlib.contextmanager
def _signals_deferred():
    """A second Ctrl-C must not cut the cleanup short: deliver it once the probes are gone."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    blocked = {signal.SIGINT, signal.SIGTERM}
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, blocked)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)
