"""README: reports: secrets never appear in any output, and (issue 8) never on a process command line.

Every file a run writes (results.json, junit.xml, report.html, history, the fleet index, the
metrics file, the plan) and its console are scanned for the database password, the API password
and the API token, on a compliant lab and with deviations that put the secrets next to what is
reported (an unparsable db.env, a password the server refuses); meanwhile every process's
/proc/PID/cmdline is read, again and again, while the audit runs."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest

from lab.profiles import merge, profile_for, write
from tests.audit_runner import run_audit

TOKEN_ENV = "WA_TEST_API_TOKEN"


class CommandLines:
    """Reads every process's command line until stopped; keeps those holding a secret."""

    def __init__(self, secrets: dict[str, str]):
        self.secrets = secrets
        self.hits: list[str] = []
        self.reads = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()

    def _watch(self):
        while not self._stop.is_set():
            # listed once, then read: a glob stats each entry and dies on a process that just ended
            for path in [Path("/proc", pid, "cmdline") for pid in os.listdir("/proc") if pid.isdigit()]:
                try:
                    line = path.read_bytes().replace(b"\0", b" ").decode("utf-8", "replace")
                except OSError:
                    continue
                self.hits += [f"{name} in {path}: {line[:200]}" for name, value in self.secrets.items()
                              if value in line]
            self.reads += 1


def scan(folder: Path, console: str, secrets: dict[str, str]) -> list[str]:
    found = [f"{name} on the console" for name, value in secrets.items() if value in console]
    for path in folder.rglob("*"):
        if path.is_file():
            text = path.read_bytes().decode("utf-8", "replace")
            found += [f"{name} in {path}" for name, value in secrets.items() if value in text]
    return found


@pytest.mark.parametrize("lab_name, host", [("lab_biz", "lab"), ("lab_mc", "lab-mc")])
@pytest.mark.parametrize("deviation", [None, "env.unparsable", "env.wrong_password"])
def test_no_output_and_no_command_line_holds_a_secret(request, tmp_path, lab_name, host, deviation):
    lab = request.getfixturevalue(lab_name)
    token = lab.api_server.mint_token()      # a valid Bearer token, as an operator would keep one
    secrets = {"the database password": lab.db_password, "the API password": lab.api_password,
               "the API token": token}
    # the same deployment a second time, logging in with a ready token instead of a password
    with_token = write(merge(profile_for(lab, f"{host}-token"),
                             {"api": {"username_env": None, "password_env": None, "token_env": TOKEN_ENV}}),
                       tmp_path / f"{host}-token.yaml")
    outputs = tmp_path / "outputs"
    outputs.mkdir()
    if deviation:
        lab.deviate(deviation)
    try:
        with CommandLines(secrets) as command_lines:
            run = run_audit(f"--host={host}", f"--host={with_token}", f"--metrics-file={outputs / 'wa.prom'}",
                            f"--plan={outputs / 'plan.md'}", reports_dir=outputs / "reports",
                            env={TOKEN_ENV: token})
    finally:
        if deviation:
            lab.restore(deviation)
    assert run.exit_code in (0, 1), run.console
    assert (outputs / "wa.prom").exists() and (outputs / "plan.md").exists()
    assert run.results(host) and run.results(f"{host}-token")
    assert command_lines.reads > 10
    assert not command_lines.hits
    assert not scan(outputs, run.console, secrets)


def test_the_scans_find_a_planted_secret(tmp_path):
    """Both scans above prove something only if they can see a secret where one is."""
    import subprocess
    secret = "s3cr3t-planted-" + tmp_path.name
    (tmp_path / "deep").mkdir()
    (tmp_path / "deep" / "report.html").write_text(f"<p>{secret}</p>")
    assert scan(tmp_path, "", {"planted": secret}) == [f"planted in {tmp_path / 'deep' / 'report.html'}"]
    with CommandLines({"planted": secret}) as command_lines:
        subprocess.run(["sh", "-c", "sleep 0.5", "sh", secret], check=True)
    assert command_lines.hits
