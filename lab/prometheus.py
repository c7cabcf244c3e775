"""A real Prometheus holding weeks of a deployment's request history (lab/README.md,
"Prometheus").

The WhatsApp Business API client's `/metrics` exposes the counters
`api_requests_duration_ms_count{node, method, result}`; an operator's Prometheus keeps weeks of
them. `LabPrometheus(folder)` owns one Prometheus server (Debian's package, 2.42, run as the
lab's own process on 127.0.0.1) and its data under `folder`. Its history is made up, not
scraped: a `History` (an hourly request-rate shape for weekdays and weekends, how it splits
over methods, the daily calls of the message GC endpoint, an optional campaign burst) is written
as an OpenMetrics file of counter samples every 60 s and turned into TSDB blocks with
`promtool tsdb create-blocks-from openmetrics` while the server is stopped. Deterministic: the
same History and end make the same samples, so tests assert exact rates.

In `folder`: `port` (reserved machine-wide through lab.ports), `wa-lab-prometheus.yml` (the
configuration; its name marks the lab's servers for `python -m lab purge`), `data/` (the
TSDB), `prometheus.pid`, `prometheus.log`, `history.json` (what was backfilled).

No scrape job is configured: scraping the lab API's live `/metrics` would continue the same
series (once the scrape's job/instance labels are dropped) from the stand-in's own counters,
which restart at its start: Prometheus reads that as a counter reset, and rate() as a spike of
every request the stand-in ever counted.
"""

from __future__ import annotations

import base64
import json
import math
import shutil
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import asdict, dataclass, replace
from datetime import datetime, timedelta, timezone
from pathlib import Path
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from lab import ports
from lab.commands import matching_processes, process_matches, stop_processes
from lab.errors import LabError

HOST = ports.HOST
PROMETHEUS = "/usr/bin/prometheus"
PROMTOOL = "/usr/bin/promtool"
CONFIG_FILE = "wa-lab-prometheus.yml"     # purge finds the lab's servers by this name
DATA_DIR = "data"
PORT_FILE = "port"
WEB_CONFIG = "web-config.yml"          # basic auth (require_login), as Prometheus' --web.config.file
LOGIN = "login"                        # user:password the lab's own requests send (0600)
PID_FILE = "prometheus.pid"
LOG_FILE = "prometheus.log"
HISTORY_FILE = "history.json"
RETENTION = "60d"
START_SECONDS = 30
STOP_SECONDS = 15
BACKFILL_SECONDS = 600
DAY = 86400

METRIC = "api_requests_duration_ms_count"   # the client's name, stored as is
GC_METHOD = "PUT_v1_services_message_gc"
GC_RESULT = "200"
DEFAULT_NODE = "6b2f13cb5d1e"              # a client's node label: its container's hostname
# How the total traffic splits over methods: (method, result, share). POST /v1/messages
# answers 201 Created, as the lab's API stand-in counts it.
DEFAULT_METHODS = (
    ("POST_v1_messages", "201", 0.60),
    ("GET_v1_contacts", "200", 0.25),
    ("GET_v1_health", "200", 0.15),
)


@dataclass(frozen=True)
class Burst:
    """One campaign spike: for `minutes` from `at` (time of day, the history's time zone),
    `days_ago` days before the end, the total rate is `rps`; the requests above the hour's
    usual rate are all the first method's (a campaign sends messages)."""
    days_ago: int = 2
    at: str = "10:00"
    minutes: int = 20
    rps: float = 1000.0

    def __post_init__(self):
        _time_of_day(self.at)
        if not (isinstance(self.days_ago, int) and self.days_ago >= 0):
            raise LabError(f"burst days_ago {self.days_ago!r}: a whole number of days, >= 0")
        if not (isinstance(self.minutes, int) and self.minutes > 0):
            raise LabError(f"burst minutes {self.minutes!r}: a whole number of minutes, > 0")
        if not self.rps >= 0:
            raise LabError(f"burst rps {self.rps!r}: requests per second, >= 0")


@dataclass(frozen=True)
class History:
    """A deployment's request traffic over `days` up to an end.

    `weekday_rps` / `weekend_rps`: the total request rate (all methods, requests per second)
    in each hour of the day 00..23, in `timezone`; constant within the hour. `methods`: how
    that total splits, (method, result, share) with shares summing to 1. `gc_calls`: times of
    day ("03:00") at which ONE `PUT_v1_services_message_gc` call (result "200") is made every
    day, none in the last `gc_stopped_days_ago` days. `burst`: one campaign spike, or None.
    `node`: the series' node label. `step_seconds`: the sampling interval (60: a scrape
    interval an operator would keep).
    """
    weekday_rps: tuple[float, ...]
    weekend_rps: tuple[float, ...]
    days: int = 14
    timezone: str = "UTC"
    methods: tuple[tuple[str, str, float], ...] = DEFAULT_METHODS
    gc_calls: tuple[str, ...] = ()
    gc_stopped_days_ago: int | None = None
    burst: Burst | None = None
    node: str = DEFAULT_NODE
    step_seconds: int = 60

    def __post_init__(self):
        # lists are accepted (and JSON gives lists): stored as tuples, so a History is hashable
        object.__setattr__(self, "weekday_rps", tuple(self.weekday_rps))
        object.__setattr__(self, "weekend_rps", tuple(self.weekend_rps))
        object.__setattr__(self, "methods", tuple(tuple(m) for m in self.methods))
        object.__setattr__(self, "gc_calls", tuple(self.gc_calls))
        if isinstance(self.burst, dict):
            object.__setattr__(self, "burst", Burst(**self.burst))
        for name in ("weekday_rps", "weekend_rps"):
            shape = getattr(self, name)
            if len(shape) != 24 or not all(isinstance(r, (int, float)) and r >= 0 and
                                           math.isfinite(r) for r in shape):
                raise LabError(f"History {name}: 24 request rates (rps, >= 0), one per hour")
        if not (isinstance(self.days, int) and self.days >= 1):
            raise LabError(f"History days {self.days!r}: a whole number of days, >= 1")
        try:
            ZoneInfo(self.timezone)
        except (ValueError, KeyError, OSError):
            raise LabError(f"History timezone {self.timezone!r}: an IANA name, e.g. "
                           "Europe/Berlin") from None
        if not self.methods or abs(sum(share for _, _, share in self.methods) - 1) > 1e-9:
            raise LabError("History methods: (method, result, share) with shares summing to 1")
        if any(method == GC_METHOD for method, _, _ in self.methods):
            raise LabError(f"History methods: {GC_METHOD} is made by gc_calls")
        for at in self.gc_calls:
            _time_of_day(at)
        if self.gc_stopped_days_ago is not None and not (
                isinstance(self.gc_stopped_days_ago, int) and self.gc_stopped_days_ago >= 0):
            raise LabError(f"History gc_stopped_days_ago {self.gc_stopped_days_ago!r}: days")
        if not (isinstance(self.step_seconds, int) and self.step_seconds > 0
                and 3600 % self.step_seconds == 0):
            raise LabError(f"History step_seconds {self.step_seconds!r}: divides an hour")

    def to_json(self) -> dict:
        return asdict(self)

    @classmethod
    def from_json(cls, document: dict) -> History:
        return cls(**document)

    # --- the traffic -------------------------------------------------------------------------
    def rate_at(self, moment: datetime) -> float:
        """The total request rate (rps, GC calls aside) at `moment` (burst excluded)."""
        local = moment.astimezone(ZoneInfo(self.timezone))
        shape = self.weekend_rps if local.weekday() >= 5 else self.weekday_rps
        return float(shape[local.hour])

    def window(self, end: datetime) -> tuple[datetime, datetime]:
        """(start, end) of the samples: `end` rounded down to a whole step, `days` before it."""
        if end.tzinfo is None:
            raise LabError("History end: a time zone-aware datetime")
        seconds = int(end.timestamp()) // self.step_seconds * self.step_seconds
        last = datetime.fromtimestamp(seconds, timezone.utc)
        return last - timedelta(days=self.days), last

    def gc_call_times(self, end: datetime) -> list[datetime]:
        """Every GC call in the window, oldest first."""
        start, last = self.window(end)
        stop = last if self.gc_stopped_days_ago is None else \
            last - timedelta(days=self.gc_stopped_days_ago)
        zone = ZoneInfo(self.timezone)
        calls = []
        day = start.astimezone(zone).date() - timedelta(days=1)
        while day <= last.astimezone(zone).date():
            for at in self.gc_calls:
                hour, minute = _time_of_day(at)
                moment = datetime(day.year, day.month, day.day, hour, minute, tzinfo=zone)
                if start < moment <= stop:
                    calls.append(moment.astimezone(timezone.utc))
            day += timedelta(days=1)
        return sorted(calls)

    def burst_window(self, end: datetime) -> tuple[datetime, datetime] | None:
        if self.burst is None:
            return None
        _, last = self.window(end)
        zone = ZoneInfo(self.timezone)
        day = (last.astimezone(zone) - timedelta(days=self.burst.days_ago)).date()
        hour, minute = _time_of_day(self.burst.at)
        begin = datetime(day.year, day.month, day.day, hour, minute, tzinfo=zone)
        return begin.astimezone(timezone.utc), (begin + timedelta(minutes=self.burst.minutes)
                                                ).astimezone(timezone.utc)

    def series(self, end: datetime) -> dict[tuple[str, str], list[tuple[int, int]]]:
        """(method, result) -> [(epoch seconds, counter value)], every step from the window's
        start (value 0) to its end. A counter grows by the rate over each step before its
        sample; its values are whole requests (rounded down), so never decreasing."""
        start, last = self.window(end)
        step = self.step_seconds
        begin = int(start.timestamp())
        times = range(begin, int(last.timestamp()) + 1, step)
        burst = self.burst_window(end)
        burst_span = (burst[0].timestamp(), burst[1].timestamp()) if burst else None
        totals = {(method, result): 0.0 for method, result, _ in self.methods}
        out: dict[tuple[str, str], list[tuple[int, int]]] = {key: [] for key in totals}
        first = self.methods[0][:2]
        rate = None
        for index, moment in enumerate(times):
            if index:
                # the rate over (moment - step, moment]: hour boundaries fall on whole steps
                previous = moment - step
                rate = self.rate_at(datetime.fromtimestamp(previous, timezone.utc))
                extra = 0.0
                if burst_span and burst_span[0] <= previous < burst_span[1]:
                    extra = max(self.burst.rps - rate, 0.0)
                for method, result, share in self.methods:
                    totals[(method, result)] += rate * share * step
                totals[first] += extra * step
            for key, total in totals.items():
                out[key].append((moment, math.floor(total + 1e-6)))
        calls = [int(moment.timestamp()) for moment in self.gc_call_times(end)]
        if self.gc_calls:
            counted, gc = 0, []
            for moment in times:
                while counted < len(calls) and calls[counted] <= moment:
                    counted += 1
                gc.append((moment, counted))
            out[(GC_METHOD, GC_RESULT)] = gc
        return out

    def openmetrics(self, end: datetime) -> str:
        """The OpenMetrics text of the whole window, as `promtool tsdb create-blocks-from
        openmetrics` reads it.

        The family is declared `unknown` under the sample's own name, so Prometheus stores it
        under exactly that name: a `counter` family would need `_total` samples, and a summary
        `api_requests_duration_ms` would want `_sum` ones too."""
        return self._text(self.series(end))

    def openmetrics_days(self, end: datetime) -> list[str]:
        """The same samples as one OpenMetrics text per UTC day. promtool reads its whole input
        once for every 2-hour block it writes: 14 files of a day each take it about a tenth of
        the CPU one file of 14 days does. Days start on a block boundary: no blocks overlap."""
        series = self.series(end)
        days = sorted({moment // DAY for samples in series.values() for moment, _ in samples})
        return [self._text(series, day * DAY, (day + 1) * DAY) for day in days]

    def _text(self, series: dict, since: int = 0, until: int | None = None) -> str:
        lines = [f"# HELP {METRIC} Total number of API requests", f"# TYPE {METRIC} unknown"]
        for (method, result), samples in sorted(series.items()):
            labels = f'{{method="{method}",node="{self.node}",result="{result}"}}'
            lines += [f"{METRIC}{labels} {value} {moment}" for moment, value in samples
                      if since <= moment and (until is None or moment < until)]
        lines.append("# EOF")
        return "\n".join(lines) + "\n"


def _time_of_day(text: str) -> tuple[int, int]:
    try:
        hour, minute = (int(part) for part in str(text).split(":"))
    except ValueError:
        raise LabError(f"time of day {text!r}: HH:MM") from None
    if not (0 <= hour < 24 and 0 <= minute < 60):
        raise LabError(f"time of day {text!r}: HH:MM")
    return hour, minute


def _day_shape(night: float, peak: float) -> tuple[float, ...]:
    """A working day's shape: `night` from 23:00 to 06:00, rising through the morning to
    `peak` in 14:00-15:00 (the only hour at the peak), falling off in the evening."""
    fractions = (0, 0, 0, 0, 0, 0, .10, .30, .55, .72, .82, .88,
                 .84, .92, 1.0, .90, .80, .68, .52, .36, .22, .12, .05, 0)
    return tuple(float(round(night + (peak - night) * f)) for f in fractions)


def _halved(shape: tuple[float, ...]) -> tuple[float, ...]:
    return tuple(rate / 2 for rate in shape)


_BUSY = _day_shape(20, 200)
_QUIET = _day_shape(5, 50)

# Nights ~20 rps (23:00-06:00), days up to 200 rps with the busiest hour 14:00-15:00, weekends
# half; one message GC call a day at 03:00.
BUSY_BY_DAY = History(weekday_rps=_BUSY, weekend_rps=_halved(_BUSY), gc_calls=("03:00",))
# Peak 50 rps (14:00-15:00), nights 5 rps, weekends half; no GC calls at all.
QUIET = History(weekday_rps=_QUIET, weekend_rps=_halved(_QUIET))
# BUSY_BY_DAY, but the daily GC call is at 14:30, in the busiest hour.
GC_AT_BUSIEST_HOUR = replace(BUSY_BY_DAY, gc_calls=("14:30",))
# BUSY_BY_DAY, but no GC call in the last 3 days.
GC_STOPPED = replace(BUSY_BY_DAY, gc_stopped_days_ago=3)
# QUIET plus one 20-minute campaign at 1000 rps, two days before the end at 10:00.
BURST = replace(QUIET, burst=Burst(days_ago=2, at="10:00", minutes=20, rps=1000.0))

PRESETS = {
    "busy_by_day": BUSY_BY_DAY,
    "quiet": QUIET,
    "gc_at_busiest_hour": GC_AT_BUSIEST_HOUR,
    "gc_stopped": GC_STOPPED,
    "burst": BURST,
}


def preset(name: str) -> History:
    try:
        return PRESETS[name]
    except KeyError:
        raise LabError(f"history {name!r}: choose one of {', '.join(PRESETS)}") from None


def default_end() -> datetime:
    """Now minus 2 minutes: a recent last sample, as a scrape's, within the default 5-minute
    lookback of a query at now, and never in the future of one."""
    return datetime.now(timezone.utc) - timedelta(minutes=2)


# --- the server ----------------------------------------------------------------------------------
class LabPrometheus:
    """One Prometheus server on 127.0.0.1 and its data, in `folder`."""

    def __init__(self, folder: Path):
        self.folder = Path(folder).absolute()      # its command line names it

    def _file(self, name: str) -> Path:
        return self.folder / name

    @property
    def data_dir(self) -> Path:
        return self._file(DATA_DIR)

    @property
    def config_file(self) -> Path:
        return self._file(CONFIG_FILE)

    @property
    def log_file(self) -> Path:
        return self._file(LOG_FILE)

    @property
    def port(self) -> int:
        """Reserved machine-wide at first use (lab.ports), then kept in the folder."""
        self.folder.mkdir(mode=0o755, parents=True, exist_ok=True)
        known = self._known_port()
        port = ports.keep(known, self.folder) if known is not None else ports.reserve(self.folder)
        if port != known:
            self._file(PORT_FILE).write_text(f"{port}\n")
        return port

    def _known_port(self) -> int | None:
        try:
            return int(self._file(PORT_FILE).read_text())
        except (FileNotFoundError, ValueError):
            return None

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    # --- the history -------------------------------------------------------------------------
    def backfill(self, history: History, end: datetime | None = None) -> None:
        """Add `history` up to `end` (default: now minus 2 minutes) to the server's data, as
        TSDB blocks made by promtool. The server is stopped meanwhile, and started again if it
        was running. Adds: `wipe()` first to replace what is there."""
        end = end or default_end()
        running = self.running()
        self.stop()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        source = self._file("history.om.txt")
        try:
            for text in history.openmetrics_days(end):
                source.write_text(text)
                self._promtool(source)
        finally:
            source.unlink(missing_ok=True)
        start, last = history.window(end)
        self._file(HISTORY_FILE).write_text(json.dumps(
            {"history": history.to_json(), "start": start.isoformat(),
             "end": last.isoformat()}, indent=2) + "\n")
        if running:
            self.start()

    def _promtool(self, source: Path) -> None:
        try:
            result = subprocess.run(
                [PROMTOOL, "tsdb", "create-blocks-from", "openmetrics", "--quiet",
                 str(source), str(self.data_dir)],
                stdin=subprocess.DEVNULL, capture_output=True, text=True, cwd=self.folder,
                timeout=BACKFILL_SECONDS)
        except FileNotFoundError:
            raise LabError(f"{PROMTOOL} is missing: run bash lab/install.sh") from None
        except subprocess.TimeoutExpired:
            raise LabError(f"promtool did not backfill within {BACKFILL_SECONDS}s") from None
        if result.returncode != 0:
            lines = (result.stderr or result.stdout).strip().splitlines() or ["no output"]
            raise LabError(f"promtool could not backfill {self.data_dir}: {lines[-1]}")

    def history(self) -> tuple[History, datetime, datetime] | None:
        """The history last backfilled, and its window: (history, start, end)."""
        try:
            record = json.loads(self._file(HISTORY_FILE).read_text())
        except (FileNotFoundError, ValueError):
            return None
        return (History.from_json(record["history"]), datetime.fromisoformat(record["start"]),
                datetime.fromisoformat(record["end"]))

    def wipe(self) -> None:
        """Stop the server and remove its data (the port stays reserved)."""
        self.stop()
        shutil.rmtree(self.data_dir, ignore_errors=True)
        self._file(HISTORY_FILE).unlink(missing_ok=True)

    def load(self, history: History, end: datetime | None = None) -> None:
        """Exactly `history`: stop, wipe, backfill, start."""
        self.wipe()
        self.backfill(history, end)
        self.start()

    def remove(self) -> None:
        """Stop the server, remove the folder and give the port back."""
        self.stop()
        ports.release(self._known_port(), self.folder)
        shutil.rmtree(self.folder, ignore_errors=True)

    # --- the process -------------------------------------------------------------------------
    def _write_config(self) -> None:
        text = ("# wa-compliance lab (lab/prometheus.py): backfilled history only, no scrape "
                "job\nglobal:\n  scrape_interval: 60s\n  evaluation_interval: 60s\n"
                "scrape_configs: []\n")
        if not self.config_file.exists() or self.config_file.read_text() != text:
            self.config_file.write_text(text)

    def command(self) -> list[str]:
        web = [f"--web.config.file={self._file(WEB_CONFIG)}"] if self._file(WEB_CONFIG).exists() else []
        return [PROMETHEUS, f"--config.file={self.config_file}",
                f"--storage.tsdb.path={self.data_dir}",
                f"--web.listen-address={HOST}:{self.port}",
                f"--storage.tsdb.retention.time={RETENTION}",
                # the console templates Debian ships (the server warns without them)
                "--web.console.templates=/etc/prometheus/consoles",
                "--web.console.libraries=/etc/prometheus/console_libraries", *web]

    def require_login(self, user: str | None, password: str | None = None) -> None:
        """Serve only to HTTP basic auth as `user` (Prometheus' own web config, a bcrypt hash of
        the password); None: open again. Restarts the server when it runs."""
        running = self.running()
        self.stop()
        if user is None:
            self._file(WEB_CONFIG).unlink(missing_ok=True)
            self._file(LOGIN).unlink(missing_ok=True)
        else:
            import crypt      # libxcrypt's bcrypt ($2b$), what Prometheus' web config reads
            hashed = crypt.crypt(password, crypt.mksalt(crypt.METHOD_BLOWFISH))
            self._file(WEB_CONFIG).write_text(f"basic_auth_users:\n  {user}: '{hashed}'\n")
            login = self._file(LOGIN)
            login.write_text(f"{user}:{password}")
            login.chmod(0o600)
        if running:
            self.start()

    def _authorization(self) -> dict[str, str]:
        login = self._file(LOGIN)
        if not login.exists():
            return {}
        return {"Authorization": "Basic " + base64.b64encode(login.read_bytes()).decode()}

    def start(self) -> None:
        """Run the server detached (its own session, adopted by init: it outlives this
        process) unless it runs; return once `/-/ready` answers."""
        if self.running():
            return
        if not Path(PROMETHEUS).exists():
            raise LabError(f"{PROMETHEUS} is missing: run bash lab/install.sh")
        self._write_config()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        command = self.command()
        # sh starts it in the background and exits: init reaps it, never a zombie of ours
        launched = subprocess.run(
            ["sh", "-c", 'log=$1; shift; "$@" >>"$log" 2>&1 </dev/null & echo $!', "sh",
             str(self.log_file), *command],
            stdin=subprocess.DEVNULL, capture_output=True, text=True, cwd=self.folder,
            timeout=30, start_new_session=True)
        pid = int(launched.stdout.strip())
        self._file(PID_FILE).write_text(f"{pid}\n")
        deadline = time.monotonic() + START_SECONDS
        while time.monotonic() < deadline:
            if not self._alive(pid):
                lines = self.log_file.read_text().strip().splitlines() or ["no output"]
                raise LabError(f"Prometheus exited on start (see {self.log_file}): {lines[-1]}")
            if self._ready():
                return
            time.sleep(0.1)
        raise LabError(f"Prometheus did not become ready on {self.url} within "
                       f"{START_SECONDS}s (see {self.log_file})")

    def _ready(self) -> bool:
        try:
            request = urllib.request.Request(f"{self.url}/-/ready", headers=self._authorization())
            with urllib.request.urlopen(request, timeout=2) as answer:
                return answer.status == 200
        except (urllib.error.URLError, OSError):
            return False

    def pid(self) -> int | None:
        """The running server's pid (None: not running)."""
        try:
            pid = int(self._file(PID_FILE).read_text())
        except (FileNotFoundError, ValueError):
            return None
        return pid if self._alive(pid) else None

    def running(self) -> bool:
        return self.pid() is not None

    def _ours(self, arguments: list[bytes]) -> bool:
        """This folder's server: its config file in argv."""
        return f"--config.file={self.config_file}".encode() in arguments

    def _alive(self, pid: int) -> bool:
        return process_matches(pid, self._ours)

    def _servers(self) -> list[int]:
        """The server processes: the recorded one, and any whose record was lost (e.g. a crash
        between starting and recording)."""
        return matching_processes(self._ours)

    def stop(self) -> None:
        """Stop the server (SIGTERM, then SIGKILL) and wait until it is gone."""
        stop_processes(self._servers(), self._ours, STOP_SECONDS, "Prometheus")
        self._file(PID_FILE).unlink(missing_ok=True)

    # --- queries -----------------------------------------------------------------------------
    def query(self, expression: str, at: datetime | None = None) -> list[dict]:
        """An instant query's result (`data.result`) through the HTTP API."""
        parameters = {"query": expression}
        if at is not None:
            parameters["time"] = f"{at.timestamp():.3f}"
        return self._api("query", parameters)["result"]

    def query_range(self, expression: str, start: datetime, end: datetime,
                    step: str = "5m") -> list[dict]:
        return self._api("query_range", {"query": expression, "start": f"{start.timestamp():.3f}",
                                         "end": f"{end.timestamp():.3f}", "step": step})["result"]

    def _api(self, endpoint: str, parameters: dict) -> dict:
        request = urllib.request.Request(f"{self.url}/api/v1/{endpoint}", headers=self._authorization(),
                                         data=urlencode(parameters).encode(), method="POST")
        try:
            with urllib.request.urlopen(request, timeout=60) as answer:
                document = json.loads(answer.read())
        except urllib.error.HTTPError as error:
            raise LabError(f"Prometheus {endpoint}: {error.read().decode(errors='replace')}") \
                from None
        except (urllib.error.URLError, OSError) as error:
            raise LabError(f"Prometheus on {self.url} does not answer: {error}") from None
        return document["data"]

    def status_lines(self) -> list[str]:
        """What `python -m lab prometheus status` prints (reserves no port)."""
        pid, port = self.pid(), self._known_port()
        where = f"http://{HOST}:{port}" if port else "no port yet"
        lines = [f"prometheus: {'running, pid ' + str(pid) if pid else 'stopped'}, {where} "
                 f"({self.folder})"]
        recorded = self.history()
        if recorded:
            history, start, end = recorded
            lines.append(f"  history: {_preset_name(history)}, {start:%Y-%m-%d %H:%M} .. "
                         f"{end:%Y-%m-%d %H:%M} UTC, node {history.node}")
        else:
            lines.append("  history: none")
        return lines


def _preset_name(history: History) -> str:
    for name, chosen in PRESETS.items():
        if replace(chosen, node=history.node) == history:
            return name
    return "custom"

