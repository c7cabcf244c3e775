"""The pytest plugin: options, the host parameter, verdicts, exit status and reports.

Loaded by the repository's conftest.py (`pytest_plugins = ["wa_compliance.plugin"]`).
"""

from __future__ import annotations

import datetime as dt
import signal

import pytest

from . import __version__
from .audit import DEFAULT_CONCURRENCY, Audit
from .catalogue import markers
from .check import Verdict
from .errors import UsageError, WaComplianceError
from .facts.media_probe import interrupt
from .model import Outcome, Result, summarize
from .outputs import is_marked, write_metrics, write_plan
from .profile import available_profiles
from .reports import HostRun, write_reports
from .reports.fleet import write_fleet_index
from .transport.ssh import SshOptions

AUDIT = pytest.StashKey[Audit]()
VERDICT = pytest.StashKey[Verdict]()
RESULTS_PROPERTY = "wa_results"
UPGRADE_PROPERTY = "wa_upgrade_check"       # a † check's ID: GO/NO-GO counts its results
LOADGROUP = "wa_compliance_loadgroup"


def pytest_addoption(parser):
    group = parser.getgroup("wa-compliance", "WhatsApp Business API deployment audit")
    group.addoption("--host", action="append", default=[], dest="wa_hosts", metavar="NAME",
                    help="profile to audit: profiles/NAME.yaml, a path to a YAML file, or @all (repeatable)")
    group.addoption("--inventory", default=None, dest="wa_inventory", metavar="FILE",
                    help="also audit the hosts of this Ansible inventory (YAML or INI), over SSH "
                         "as Ansible would connect; profile: the host variable wa_compliance_profile, "
                         "else profiles/<host>.yaml, else the defaults")
    group.addoption("--limit", default=None, dest="wa_limit", metavar="PATTERN",
                    help="only these hosts or groups of --inventory, as ansible-playbook --limit "
                         "(web*,!web3)")
    group.addoption("--profiles-dir", default="profiles", dest="wa_profiles_dir",
                    help="where --host NAME is looked up (default: profiles)")
    group.addoption("--reports-dir", default="reports", dest="wa_reports_dir",
                    help="where reports are written, per host and run (default: reports)")
    group.addoption("--fail-on", default="low", dest="wa_fail_on", metavar="SEVERITY",
                    help="lowest severity whose fail/error fails the run (default: low)")
    group.addoption("--exact-counts", action="store_true", dest="wa_exact_counts",
                    help="count table rows exactly instead of reading the engine's statistics")
    group.addoption("--metrics-file", default=None, dest="wa_metrics_file", metavar="PATH",
                    help="also write the run as Prometheus text (node_exporter textfile collector: "
                         "name it *.prom), replaced atomically")
    group.addoption("--plan", default=None, dest="wa_plan", metavar="PATH",
                    help="also write a remediation plan (Markdown) to review: the changes the "
                         "failing checks call for, per host; nothing is applied")
    group.addoption("--shard", default=None, dest="wa_shard", metavar="I/N",
                    help="only the I-th of N shares of the deployments (dealt by profile name): run the "
                         "shards on several machines or CI jobs, then: wa-compliance merge DIR...")
    group.addoption("--concurrency", default=str(DEFAULT_CONCURRENCY), dest="wa_concurrency", metavar="N",
                    help=f"deployments read at once (default {DEFAULT_CONCURRENCY}): each holds an SSH "
                         "connection, a database session and an API login until its last check has run; "
                         "with -n, per worker")
    group.addoption("--upgrade-to", default=None, dest="wa_upgrade_to", metavar="VERSION",
                    help="the client version an upgrade gate is for (2.53.1 or v2.53.1): VER-002 judges the "
                         "upgrade, and the run ends with GO or NO-GO")
    group.addoption("--baseline", action="append", default=[], dest="wa_baselines", metavar="PATH",
                    help="an earlier results.json: failures already in it are still reported but "
                         "no longer fail the run (one per host, repeatable)")


def pytest_configure(config):
    for marker, text in markers().items():
        config.addinivalue_line("markers", f"{marker}: {text}")
    if not (config.option.wa_hosts or config.option.wa_inventory):
        return
    try:
        _refuse_ignored_testinfra_options(config)
        audit = Audit.from_options(
            config.option.wa_hosts, config.option.wa_profiles_dir, config.option.wa_fail_on,
            config.option.wa_reports_dir, config.option.wa_exact_counts,
            metrics_file=config.option.wa_metrics_file, plan_file=config.option.wa_plan,
            baselines=config.option.wa_baselines,
            # testinfra's own options, when its plugin is loaded
            ssh=SshOptions(getattr(config.option, "ssh_config", None),
                           getattr(config.option, "ssh_identity_file", None), become=_become(config)),
            inventory=config.option.wa_inventory, limit=config.option.wa_limit,
            upgrade_to=config.option.wa_upgrade_to, shard=config.option.wa_shard,
            concurrency=config.option.wa_concurrency)
    except UsageError as exc:
        raise pytest.UsageError(str(exc)) from None
    config.stash[AUDIT] = audit
    _collect_garbage_once(config)
    _one_worker_per_host(config)
    if getattr(config, "workerinput", {}).get(LOADGROUP):
        # xdist's worker reads --dist from the command line, where our default is not
        config.option.loadgroup = True
    config.pluginmanager.register(AuditHooks(audit, config), "wa-compliance-run")


def pytest_generate_tests(metafunc):
    if "wa_host" not in metafunc.fixturenames:
        return
    audit = metafunc.config.stash.get(AUDIT, None)
    hosts = list(audit.profiles) if audit else []
    metafunc.parametrize("wa_host", hosts, ids=hosts, indirect=True, scope="session")


@pytest.hookimpl(tryfirst=True)     # before xdist's worker reads the group markers
def pytest_collection_modifyitems(config, items):
    if AUDIT in config.stash:
        for item in items:
            if item.get_closest_marker("wa_check"):
                item.add_marker(pytest.mark.xdist_group(item.callspec.params["wa_host"]))
    if AUDIT not in config.stash and any(item.get_closest_marker("wa_check") for item in items):
        names = ", ".join(available_profiles(config.option.wa_profiles_dir)) or "none"
        raise pytest.UsageError(f"no --host given: name a profile to audit (available: {names})")


# -- fixtures the checks use -----------------------------------------------------------
@pytest.fixture(scope="session")
def wa_host(request) -> str:
    """The name of the host (profile) a check runs for."""
    return request.param


@pytest.fixture(scope="session")
def deployment(request, wa_host):
    """The host's facts: gathered lazily, once per run, shared by every check."""
    return request.config.stash[AUDIT].facts(wa_host)


@pytest.fixture(scope="session")
def fleet(request):
    """Every host of this run, for rules that span deployments (e.g. shared DB servers)."""
    return request.config.stash[AUDIT].all_facts()


@pytest.fixture(scope="session")
def upgrade_to(request):
    """--upgrade-to as a ClientVersion, or None."""
    return request.config.stash[AUDIT].upgrade_to


@pytest.fixture
def verdict():
    """Where a check records its result for each subject. (Not through `request`: pytest
    builds a fixture definition, signature and all, for every check that asks for it.)"""
    return _RUNNING[0]


_RUNNING: list[Verdict | None] = [None]        # the check being run: one at a time in a process


# -- one audit run: verdicts, exit status, reports --------------------------------------
class AuditHooks:
    """The hooks of a run that has hosts to audit."""

    def __init__(self, audit: Audit, config):
        self.audit, self.config = audit, config
        self.report_paths: dict[str, object] = {}
        self._runs: dict[str, HostRun] = {}
        self._secrets: dict[str, list[str]] = {}
        # what else the run wrote, for the summary: (label, path, OSError or None)
        self.outputs: list[tuple[str, object, OSError | None]] = []
        # xdist workers run checks; the controller alone writes reports
        self.is_worker = hasattr(config, "workerinput")
        self._previous_sigterm = None
        # hosts in the order their checks run, what they read, their last check
        self._order: list[str] = []
        self._reads: dict[str, list[str]] = {}
        self._host_ending: dict[str, str] = {}     # node ID of a host's last check -> the host
        self._next = 0                 # the first host in _order not yet considered for starting

    @pytest.hookimpl(optionalhook=True)
    def pytest_configure_node(self, node):
        """xdist, controller side: tell each worker it groups checks by host (its
        WorkerInteractor adds the group to test IDs only when it knows)."""
        node.workerinput[LOADGROUP] = self.config.option.dist == "loadgroup"

    def pytest_sessionstart(self, session):
        # SIGTERM (a CI job cancelled, `kill`) unwinds like Ctrl-C instead of killing the
        # process: the session then ends normally, and Audit.close waits for the background
        # gathering, so VOL-004's probe is always removed.
        self._previous_sigterm = signal.signal(signal.SIGTERM, interrupt)

    def pytest_unconfigure(self, config):
        if self._previous_sigterm is not None:
            signal.signal(signal.SIGTERM, self._previous_sigterm)

    def pytest_runtest_setup(self, item):
        marker = item.get_closest_marker("wa_check")
        if marker is None:
            return
        host = item.callspec.params["wa_host"]
        facts = self.audit.facts(host)
        self._start_gathering(item.session, host)
        item.stash[VERDICT] = _RUNNING[0] = Verdict(marker.args[0], host, facts.profile.waivers, facts.secrets())

    def _start_gathering(self, session, host: str) -> None:
        """Hosts' facts are gathered in the background, --concurrency hosts at a time, in the
        order their checks run: from the first check, the next hosts are being read while this
        one is judged; a host whose last check has run is closed and the next one starts. An
        xdist worker, sent one host's checks at a time, starts each host as it comes."""
        if not self._order:
            last: dict[str, str] = {}
            for item in session.items:
                marker = item.get_closest_marker("wa_check")
                if marker:
                    name = item.callspec.params["wa_host"]
                    self._reads.setdefault(name, []).extend(marker.args[0].reads)
                    last[name] = item.nodeid
            self._order = list(self._reads)
            self._host_ending = {nodeid: name for name, nodeid in last.items()}
        if not self.audit.has_started(host):
            self._start(host)
            if not self.is_worker:
                self._start_more()

    def _start(self, host: str) -> None:
        self.audit.start_gathering({host: self._reads.get(host, [])})

    def _start_more(self) -> None:
        """Up to --concurrency hosts open: the next ones in the order their checks run."""
        while self.audit.open_count < self.audit.concurrency and self._next < len(self._order):
            name = self._order[self._next]
            self._next += 1
            if not self.audit.has_started(name):
                self._start(name)

    def pytest_runtest_logreport(self, report):
        for name, value in report.user_properties:
            if name == RESULTS_PROPERTY:
                self.audit.record([Result.from_dict(data) for data in value])
            elif name == UPGRADE_PROPERTY:
                self.audit.upgrade_checks.add(value)
        if report.when == "teardown":
            host = self._host_ending.get(report.nodeid)
            if host is not None and self.audit.has_started(host):
                self.audit.finish(host)
                if not self.is_worker:
                    self._start_more()
                    self._write_reports(host)        # while the next hosts are being read

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_call(self, item):
        verdict = item.stash.get(VERDICT, None)
        if verdict is None:
            return (yield)
        try:
            yield
        except WaComplianceError as exc:
            verdict.error(getattr(exc, "subject", None) or _default_subject(item), str(exc))
        except Exception as exc:
            verdict.error(_default_subject(item), f"internal error in the check: {type(exc).__name__}: {exc}")
            if self.config.option.verbose >= 2:
                raise
        return self._conclude(item, verdict)

    def _conclude(self, item, verdict: Verdict):
        if not verdict.results:
            verdict.error(_default_subject(item), "the check recorded no result")
        # a failure already in the --baseline is reported (and marked) but fails nothing
        self.audit.baseline.mark(verdict.results)
        failing = [r for r in verdict.failing(self.audit.fail_on) if not is_marked(r)]
        if failing:
            pytest.fail("\n".join(_console_line(r) for r in failing), pytrace=False)
        if all(r.outcome == Outcome.SKIP for r in verdict.results):
            pytest.skip("; ".join(sorted({r.message for r in verdict.results})))

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_makereport(self, item, call):
        report = yield
        verdict = item.stash.get(VERDICT, None)
        if verdict is not None and call.when == "call":
            # user_properties travel from xdist workers to the controller with the report
            report.user_properties.append((RESULTS_PROPERTY, [r.to_dict() for r in verdict.results]))
            if verdict.spec.upgrade:
                report.user_properties.append((UPGRADE_PROPERTY, verdict.spec.id))
        return report

    def pytest_sessionfinish(self, session):
        self.audit.close()
        if self.is_worker:
            return
        for host in self.audit.profiles:
            self._write_reports(host)
        runs = [self._runs[host] for host in self.audit.profiles if host in self._runs]
        secrets = [secret for host in self.audit.profiles for secret in self._secrets.get(host, [])]
        written = {host: path for host, path in self.report_paths.items() if not isinstance(path, OSError)}
        if written:
            self._output("fleet index", self.audit.reports_dir / "index.html",
                         lambda: write_fleet_index(self.audit.reports_dir, written))
        if self.audit.metrics_file:
            self._output("metrics", self.audit.metrics_file,
                         lambda: write_metrics(self.audit.metrics_file, runs, secrets))
        if self.audit.plan_file:
            self._output("remediation plan", self.audit.plan_file,
                         lambda: write_plan(self.audit.plan_file, runs, tool_version=__version__,
                                            fail_on=self.audit.fail_on, secrets=secrets))
        unwritten = [p for p in self.report_paths.values() if isinstance(p, OSError)]
        unwritten += [problem for _, _, problem in self.outputs if problem is not None]
        if unwritten and session.exitstatus == pytest.ExitCode.OK:
            # a run whose evidence is missing must not look green to the CI job or the cron
            # wrapper that reads its exit code; the summary says what was not written
            session.exitstatus = pytest.ExitCode.TESTS_FAILED

    def _write_reports(self, host: str) -> None:
        """A host's reports, once its last check has run (the other hosts' checks go on), or at
        the end of the run; the fleet-wide files wait for every host."""
        results = self.audit.results.get(host)
        if not results or host in self.report_paths:
            return
        run = HostRun(host=host, profile=self.audit.profiles[host].path, started=self.audit.started,
                      finished=dt.datetime.now(dt.timezone.utc), tool_version=__version__, results=results,
                      upgrade=self._gate(host))
        self._runs[host] = run
        self._secrets[host] = self.audit.facts(host).secrets()
        try:
            self.report_paths[host] = write_reports(run, self.audit.reports_dir, secrets=self._secrets[host])
        except OSError as exc:
            self.report_paths[host] = exc

    def _output(self, label: str, path, write) -> None:
        """Write one of the run-wide files; a failure is told in the summary, not raised:
        the other files are still written, and the run exits 1."""
        try:
            self.outputs.append((label, write() or path, None))
        except OSError as exc:
            self.outputs.append((label, path, exc))

    def pytest_terminal_summary(self, terminalreporter):
        if self.is_worker:
            return
        terminalreporter.section("wa-compliance")
        for host in self.audit.profiles:
            results = self.audit.results.get(host, [])
            line = _counts_line(results)
            where = self.report_paths.get(host)
            if isinstance(where, OSError):
                terminalreporter.write_line(f"{host}: {line} — reports NOT written: {where}", red=True)
            elif where is None:
                terminalreporter.write_line(f"{host}: no check ran")
            else:
                new = sum(1 for r in results if r.outcome in FAILING and not is_marked(r))
                known = sum(1 for r in results if r.outcome in FAILING and is_marked(r))
                terminalreporter.write_line(f"{host}: {line} — {where / 'report.html'}",
                                            red=bool(new), yellow=bool(known and not new),
                                            green=not new and not known)
        for label, path, problem in self.outputs:
            if problem is None:
                terminalreporter.write_line(f"{label}: {path}")
            else:
                terminalreporter.write_line(f"{label} NOT written to {path}: {_os_error(problem)}", red=True)
        for host in self.audit.profiles:
            gate = self._gate(host)
            if gate:
                failing = f" — {', '.join(gate['failing'])}" if gate["failing"] else ""
                terminalreporter.write_line(f"{host}: upgrade to {gate['target']}: {gate['verdict']}{failing}",
                                            red=gate["verdict"] == "NO-GO", green=gate["verdict"] == "GO", bold=True)

    def _gate(self, host: str) -> dict | None:
        """GO / NO-GO for --upgrade-to: NO-GO when a † check fails or errors at or above
        --fail-on, waived results and failures already in the --baseline not counting."""
        if self.audit.upgrade_to is None or not self.audit.results.get(host):
            return None
        failing = [f"{r.id} {r.subject}" for r in self.audit.results[host]
                   if r.id in self.audit.upgrade_checks and r.counts_against(self.audit.fail_on)
                   and not is_marked(r)]
        return {"target": str(self.audit.upgrade_to), "verdict": "NO-GO" if failing else "GO",
                "failing": failing}


FAILING = (Outcome.FAIL, Outcome.ERROR)
# testinfra's options the audit does not use, and what to do instead: refused, never ignored
# (--ssh-config, --ssh-identity-file, --sudo and --sudo-user are used).
UNUSED_TESTINFRA_OPTIONS = {
    "hosts": ("--hosts", "name profiles with --host (this tool's own option) or --inventory"),
    "connection": ("--connection", "targets are local or ssh:// in the profile"),
    "ssh_extra_args": ("--ssh-extra-args", "put SSH settings in a file given with --ssh-config "
                                           "(ProxyJump for a bastion)"),
    "ansible_inventory": ("--ansible-inventory", "use --inventory"),
    "force_ansible": ("--force-ansible", "use --inventory"),
    "nagios": ("--nagios", "use --metrics-file for monitoring"),
}


def _become(config) -> str | None:
    """testinfra's `--sudo` (as root) and `--sudo-user=USER` (which implies it here): the
    account host commands and the engine run as."""
    user = getattr(config.option, "sudo_user", None)
    return user or ("root" if getattr(config.option, "sudo", False) else None)


def _refuse_ignored_testinfra_options(config) -> None:
    for dest, (option, instead) in UNUSED_TESTINFRA_OPTIONS.items():
        if getattr(config.option, dest, None):
            raise UsageError(f"testinfra's {option} is not used by wa-compliance: {instead}")


def _one_worker_per_host(config) -> None:
    """With -n, xdist spreads tests over workers one by one ("load"); each worker would then
    gather every host's facts again (a second docker exec per container, a second VOL-004
    probe). "loadgroup" keeps each host's checks on one worker, hosts run in parallel. Only
    the default is changed: an explicit --dist other than load is kept."""
    if getattr(config.option, "dist", "no") == "load" and "--dist" not in " ".join(config.invocation_params.args):
        config.option.dist = "loadgroup"


def _collect_garbage_once(config) -> None:
    """pytest runs gc.collect() five times at exit to catch unraisable exceptions: ~0.4 s of
    every audit once the Docker and database clients are loaded. Once is enough for an audit."""
    try:
        from _pytest.unraisableexception import gc_collect_iterations_key
    except ImportError:      # a pytest without it does not collect either
        return
    config.stash[gc_collect_iterations_key] = 1


def _counts_line(results: list[Result]) -> str:
    """`3 pass, 2 fail (1 already in the baseline), 0 error, 0 skip, 0 waived`"""
    counts = summarize(results)
    parts = []
    for outcome, n in counts.items():
        known = sum(1 for r in results if str(r.outcome) == outcome and is_marked(r))
        parts.append(f"{n} {outcome}" + (f" ({known} already in the baseline)" if known else ""))
    return ", ".join(parts)


def _os_error(exc: OSError) -> str:
    """`Permission denied` rather than `[Errno 13] Permission denied: '/x/.y.tmp'`."""
    return exc.strerror or str(exc)


def _default_subject(item) -> str:
    return item.callspec.params.get("wa_host", "host")


def _console_line(result: Result) -> str:
    return f"{result.id} {result.subject}: {result.message} — {result.remediation}"
