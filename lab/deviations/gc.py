"""Deviations of the `gc` section (R-GC, GC-002..005): what the client's API reports, whether
it answers, and host jobs calling its message GC endpoint.

"api" ones change the stand-in's configuration (lab/api.py), which restarts it; each sets
only its own fields, so several can be on at once. Restoring ("api") restarts it compliant.
"cron" ones add a line to the deployment's second cron file, `Lab.gc_cron_file`
(`wa-lab-<project>-gc`, beside the cleanup file), calling `PUT /v1/services/message/gc` with
curl as an operator schedules API-driven GC: a Bearer token kept in a file (`api-token`,
0600, valid 7 days), `-k` for the self-signed certificate. The host's cron daemon really
runs them: the stand-in records the PUT, and changes nothing. Restoring ("cron") removes
the file.
"""

from __future__ import annotations

import shlex
from typing import TYPE_CHECKING

from lab import api_server, cron as host_cron
from lab.dbenv import write_private
from lab.deviations.registry import deviation

if TYPE_CHECKING:
    from lab.deployment import Lab

HIGH_RPS = 200.0               # over the document's 120 requests/second
GC_ENDPOINT = "/v1/services/message/gc"
DAILY = "0 3 * * *"            # off-peak, daily: what R-GC asks for above 120 rps
WEEKLY = "0 3 * * 0"           # off-peak, but Sundays only
AT_14H = "0 14 * * *"          # daily, but at peak time
PATH = "/usr/local/sbin:/usr/local/bin:/sbin:/bin:/usr/sbin:/usr/bin"


@deviation("gc.old_payload", "the API answers the older settings payload, "
           "db_garbagecollector_enable (values compliant)", {"api"})
def old_payload(lab: Lab) -> None:
    lab.api_server.update(payload="old")


@deviation("gc.settings_without_gc", "the API's settings answer lacks the automatic GC setting "
           "(pass_through is there)", {"api"})
def settings_without_gc(lab: Lab) -> None:
    lab.api_server.update(payload="no_gc")


@deviation("gc.automatic_gc_off", "pass_through off, automatic GC off: messages accumulate "
           "and nothing collects them (GC-003: high on a large table, medium otherwise)", {"api"})
def automatic_gc_off(lab: Lab) -> None:
    lab.api_server.update(pass_through=False, automatic_gc=False)


@deviation("gc.pass_through_gc_off", "pass_through on, automatic GC off (GC-003: low)", {"api"})
def pass_through_gc_off(lab: Lab) -> None:
    lab.api_server.update(pass_through=True, automatic_gc=False)


@deviation("gc.pass_through_gc_on", "pass_through on, automatic GC on (COMPLIANT, as for a "
           "business that upgraded with pass_through on)", {"api"})
def pass_through_gc_on(lab: Lab) -> None:
    lab.api_server.update(pass_through=True, automatic_gc=True)


@deviation("gc.high_traffic", f"the API's request counters grow by {HIGH_RPS:g} requests/second "
           "(over 120: GC should go through the API)", {"api"})
def high_traffic(lab: Lab) -> None:
    lab.api_server.update(rps=HIGH_RPS)


@deviation("gc.api_down", "the API stand-in is stopped: nothing answers on its port", {"api"})
def api_down(lab: Lab) -> None:
    lab.api_server.update(down=True)


@deviation("gc.api_job_daily", f"a host job calls PUT {GC_ENDPOINT} at {DAILY!r} "
           "(daily, off-peak)", {"cron"})
def api_job_daily(lab: Lab) -> None:
    _add_job(lab, DAILY)


@deviation("gc.api_job_weekly", f"a host job calls PUT {GC_ENDPOINT} at {WEEKLY!r} "
           "(off-peak, but weekly)", {"cron"})
def api_job_weekly(lab: Lab) -> None:
    _add_job(lab, WEEKLY)


@deviation("gc.api_job_14h", f"a host job calls PUT {GC_ENDPOINT} at {AT_14H!r} "
           "(daily, outside off-peak)", {"cron"})
def api_job_14h(lab: Lab) -> None:
    _add_job(lab, AT_14H)


@deviation("gc.api_job_sh_c", f"a host job calls PUT {GC_ENDPOINT} daily off-peak through "
           "`flock ... sh -c '...'` (a real call, wrapped)", {"cron"})
def api_job_sh_c(lab: Lab) -> None:
    _add_job(lab, DAILY, wrap=lambda call: f"flock -n /run/wa-lab-gc.lock sh -c {shlex.quote(call)}")


@deviation("gc.api_job_echo", f"a host job only writes the words `curl -X PUT {GC_ENDPOINT}` "
           "to a log with echo: no call is ever made", {"cron"})
def api_job_echo(lab: Lab) -> None:
    _add_job(lab, DAILY, wrap=lambda call: f"echo {call} >> {lab.state.path}/gc-todo.log")


@deviation("gc.api_job_script", f"a host job runs a nightly script that runs a GC script: it logs "
           f"in for a token, then calls PUT {GC_ENDPOINT} (daily, off-peak, two scripts deep)", {"cron"})
def api_job_script(lab: Lab) -> None:
    _scripted_job(lab, gc_script=True)


@deviation("gc.api_job_script_missing", "a host job runs a nightly script that runs a GC script "
           "which is not there: no call is ever made", {"cron"})
def api_job_script_missing(lab: Lab) -> None:
    _scripted_job(lab, gc_script=False)


def _scripted_job(lab: Lab, gc_script: bool) -> None:
    password = shlex.quote(str(lab.state.path / api_server.PASSWORD_FILE))
    gc = lab.scripts_dir / "wa-gc.sh"
    gc.unlink(missing_ok=True)
    if gc_script:
        host_cron.write_script(gc, "\n".join([
            "#!/bin/bash",
            "# message garbage collection through the API: tokens expire, so log in first",
            "set -euo pipefail",
            f"API={lab.api_url}",
            "# the password and the token reach curl on its standard input (-K -), never a command line",
            f'TOKEN=$(printf \'user = "{api_server.USERNAME}:%s"\\n\' "$(cat {password})" |',
            '        curl -sk -K - -X POST "$API/v1/users/login" |',
            "        python3 -c 'import json, sys; print(json.load(sys.stdin)[\"users\"][0][\"token\"])')",
            'printf \'header = "Authorization: Bearer %s"\\n\' "$TOKEN" | curl -sk -K - -X PUT "$API/v1/services/message/gc"',
        ]) + "\n")
    nightly = host_cron.write_script(lab.scripts_dir / "wa-nightly.sh", "\n".join([
        "#!/bin/sh",
        "# the nightly maintenance of this deployment",
        f"{gc} >> /dev/null 2>&1",
    ]) + "\n")
    host_cron.write(lab.gc_cron_file, _render(lab, [f"{DAILY} root {nightly}"]))


def job_line(lab: Lab, schedule: str, wrap=lambda call: call) -> str:
    """One cron.d line calling the message GC endpoint with the kept token (no `%`: cron
    would read it as a newline); `wrap` writes the call into a larger command."""
    token_file = shlex.quote(str(lab.api_token_file))
    call = (f'curl -s -k -X PUT -H "Authorization: Bearer $(cat {token_file})" '
            f"{lab.api_url}{GC_ENDPOINT}")
    return f"{schedule} root {wrap(call)} >/dev/null 2>&1"


def _add_job(lab: Lab, schedule: str, wrap=lambda call: call) -> None:
    """Add the line for `schedule` to the GC cron file, keeping the lines already there."""
    if not lab.api_token_file.exists():
        write_private(lab.api_token_file, lab.api_server.mint_token() + "\n")
    try:
        entries = [line for line in lab.gc_cron_file.read_text().splitlines()
                   if line[:1].isdigit()]
    except FileNotFoundError:
        entries = []
    line = job_line(lab, schedule, wrap)
    if line not in entries:
        entries.append(line)
    host_cron.write(lab.gc_cron_file, _render(lab, entries))


def _render(lab: Lab, entries: list[str]) -> str:
    return "\n".join([
        f"# wa-lab deployment {lab.project!r}: message garbage collection through the "
        "client's API (R-GC),",
        "# as an operator schedules it above 120 requests/second. Written by `python -m lab",
        "# deviate gc.api_job_*`; `python -m lab restore` or `up` removes this file.",
        "SHELL=/bin/sh",
        f"PATH={PATH}",
        *entries,
    ]) + "\n"
