"""Scripts a cron entry runs (issue 13 item 3): followed as sh runs them, to depth 3, with the
chain named; a script cron cannot run covers nothing and is named."""

from __future__ import annotations

from hypothesis import example, given, settings, strategies as st

from wa_compliance.facts.cleanup_coverage import cleanup_jobs, coverage
from wa_compliance.facts.cron_commands import CronCommands, follow
from wa_compliance.facts.host_cron import HostFile
from wa_compliance.parsers.cleanup_command import CLEANUP
from wa_compliance.parsers.crontab import parse_crontab
from wa_compliance.parsers.gc_job import gc_calls

from .test_cron_rules import CORE, ENGINE, WEB

EXECUTABLE, PLAIN = 0o100755, 0o100644
GC_URL = "https://localhost:9090/v1/services/message/gc"
LOOP_SCRIPT = f"""#!/bin/sh
# clean every container of the deployment
for c in $(docker ps -q --filter label=com.docker.compose.project=biz); do
    docker exec "$c" {CLEANUP}
done
"""


def script(path: str, text: str, mode: int = EXECUTABLE) -> HostFile:
    data = text.encode()
    return HostFile(path, "readable", mode, 0, len(data), data)


def files(*found: HostFile) -> dict[str, HostFile]:
    return {f.path: f for f in found}


def covered(command: str, found: dict[str, HostFile]):
    crontab = parse_crontab(f"30 3 * * * root {command}\n", "/etc/cron.d/wa", system=True)
    entries = [CronCommands(e, crontab.ignored, follow(e.command, found)) for e in crontab.entries]
    return coverage(cleanup_jobs(entries), [WEB, CORE], ENGINE, {}), entries[0].runs.unfollowed


def test_a_script_run_by_its_path_is_followed_and_the_chain_named():
    coverage, unfollowed = covered("/usr/local/bin/wa-cleanup.sh >/dev/null 2>&1",
                                   files(script("/usr/local/bin/wa-cleanup.sh", LOOP_SCRIPT)))
    assert set(coverage.jobs) == {WEB.name, CORE.name} and not unfollowed
    job, = coverage.jobs[WEB.name]
    assert job.where == "/etc/cron.d/wa:1 → /usr/local/bin/wa-cleanup.sh:3"
    assert job.entry_where == "/etc/cron.d/wa:1"


def test_sh_file_and_sourcing_need_no_execute_bit_but_a_direct_run_does():
    found = files(script("/opt/wa/clean.sh", LOOP_SCRIPT, mode=PLAIN))
    for command in ("sh /opt/wa/clean.sh", "bash -e /opt/wa/clean.sh", ". /opt/wa/clean.sh",
                    "flock -n /run/x.lock sh -c 'sh /opt/wa/clean.sh'"):
        assert set(covered(command, found)[0].jobs) == {WEB.name, CORE.name}, command
    coverage, (why,) = covered("/opt/wa/clean.sh", found)
    assert not coverage.jobs
    assert why.describe("/etc/cron.d/wa:1") == ("/etc/cron.d/wa:1 runs /opt/wa/clean.sh, which is not executable "
                                                "(mode 0644): cron cannot run it")
    assert not why.unknown


def test_scripts_run_scripts_to_depth_three_then_stop_and_say_so():
    chain = [f"/opt/wa/s{n}.sh" for n in range(1, 5)]
    body = {path: f"#!/bin/bash\nset -eu\n{chain[n + 1]}\n" for n, path in enumerate(chain[:-1])}
    found = files(*(script(p, t) for p, t in body.items()), script(chain[-1], LOOP_SCRIPT))
    coverage, unfollowed = covered(chain[1], found)           # s2 → s3 → s4: three deep
    assert set(coverage.jobs) == {WEB.name, CORE.name} and not unfollowed
    coverage, (why,) = covered(chain[0], found)                # s1 → s2 → s3 → s4: too deep
    assert not coverage.jobs
    assert why.path == "/opt/wa/s4.sh" and why.unknown and "more than 3 scripts deep" in why.why
    assert why.describe("/etc/cron.d/wa:1") == ("/etc/cron.d/wa:1 → /opt/wa/s1.sh:3 → /opt/wa/s2.sh:3 → /opt/wa/s3.sh:3 "
                                                "runs /opt/wa/s4.sh, which is more than 3 scripts deep: not followed")


def test_three_deep_is_followed_and_named_link_by_link():
    found = files(script("/opt/a.sh", "#!/bin/sh\n\n/opt/b.sh\n"), script("/opt/b.sh", "/opt/c.sh\n"),
                  script("/opt/c.sh", LOOP_SCRIPT))
    coverage, unfollowed = covered("/opt/a.sh", found)
    assert not unfollowed
    assert coverage.jobs[WEB.name][0].where == "/etc/cron.d/wa:1 → /opt/a.sh:3 → /opt/b.sh:1 → /opt/c.sh:3"


def test_a_missing_script_covers_nothing_and_is_named():
    coverage, (why,) = covered("/usr/local/bin/wa-cleanup.sh", files(HostFile("/usr/local/bin/wa-cleanup.sh", "missing")))
    assert not coverage.jobs and not why.unknown
    assert why.describe("/etc/cron.d/wa:1") == "/etc/cron.d/wa:1 runs /usr/local/bin/wa-cleanup.sh, which does not exist"


def test_scripts_whose_commands_are_unknown_are_named_as_such():
    cases = {
        HostFile("/opt/x.sh", "unreadable", EXECUTABLE, 0, 10): "the auditing user cannot read",
        HostFile("/opt/x.sh", "large", EXECUTABLE, 0, 10**7): "is larger than 256 KiB: not read",
        script("/opt/x.sh", f"#!/usr/bin/env python3\nimport os\nos.system('docker exec a {CLEANUP}')\n"):
            "is a python3 script: not read",
        script("/opt/x.sh", "#!/bin/sh\nif then fi (\n"): "is not shell this reader follows",
    }
    for found, expected in cases.items():
        _, (why,) = covered("/opt/x.sh", files(found))
        assert why.unknown and expected in why.why, (found.state, why)


def test_a_program_is_not_a_script_and_a_loop_back_ends():
    found = files(HostFile("/usr/bin/docker", "binary", EXECUTABLE, 0, 10**8),
                  script("/opt/self.sh", f"/opt/self.sh\ndocker exec biz_waweb_1 {CLEANUP}\n"))
    assert covered(f"/usr/bin/docker exec biz_wacore_1 {CLEANUP}", found)[1] == ()
    coverage, unfollowed = covered("/opt/self.sh", found)
    assert set(coverage.jobs) == {WEB.name} and unfollowed == ()


def test_here_documents_are_data_not_commands():
    body = f"#!/bin/sh\ncat > /tmp/note <<'EOF'\ndocker exec biz_waweb_1 {CLEANUP}\nEOF\ndocker exec biz_wacore_1 {CLEANUP}\n"
    coverage, unfollowed = covered("/opt/x.sh", files(script("/opt/x.sh", body)))
    assert set(coverage.jobs) == {CORE.name} and not unfollowed
    assert coverage.jobs[CORE.name][0].where == "/etc/cron.d/wa:1 → /opt/x.sh:5"


def test_a_gc_script_that_logs_in_first_makes_a_gc_call():
    body = f"""#!/bin/bash
set -euo pipefail
API=https://localhost:9090
TOKEN=$(curl -sk -X POST -u "admin:$(cat /etc/wa/admin-password)" "$API/v1/users/login" | jq -r '.users[0].token')
curl -sk -X PUT -H "Authorization: Bearer $TOKEN" "$API/v1/services/message/gc"
echo curl -X PUT {GC_URL} >> /var/log/never-run.log
"""
    runs = follow("/usr/local/bin/wa-gc.sh", files(script("/usr/local/bin/wa-gc.sh", body)))
    calls = [(body, call) for body in runs.bodies for call in gc_calls(body.text)]
    (where, call), = [(body.located(call.text), call) for body, call in calls]
    assert call.url == "${API}/v1/services/message/gc"
    assert where == ("/usr/local/bin/wa-gc.sh:5",)


# -- any script text -------------------------------------------------------------------------------
SHELL_WORDS = st.sampled_from(["for", "c", "in", "$(docker ps -q)", ";", "do", "docker", "exec", "$c", CLEANUP,
                               "done", "\n", "<<EOF", "EOF", "<<-'X'", "\tX", "/opt/x.sh", "sh", ".", "if", "then",
                               "fi", "'", '"', "`", "#", "|", "&&", "(", ")", "{", "}", "$(", "\\"])


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.text(max_size=300), st.lists(SHELL_WORDS, max_size=40).map(" ".join)),
       st.sampled_from([EXECUTABLE, PLAIN]))
@example("/opt/x.sh\n" * 3, EXECUTABLE)
@example("cat <<EOF\n/opt/x.sh", EXECUTABLE)               # a here-document never closed
def test_following_any_script_text_gives_bodies_and_notes(text, mode):
    found = files(script("/opt/x.sh", text, mode))
    runs = follow("/opt/x.sh", found)
    assert runs.bodies[0].text == "/opt/x.sh"
    assert len(runs.bodies) <= 4                             # the command, then at most 3 scripts deep
    for body in runs.bodies[1:]:
        assert body.script == "/opt/x.sh" and len(body.via) <= 3
    for note in runs.unfollowed:
        assert note.path == "/opt/x.sh" and note.why


def test_a_script_that_cannot_be_followed_matters_only_if_it_may_hold_the_call():
    """e2scrub_all (bash this reader may not follow) names neither cleanup.sh nor any file that
    does: it cannot be the cleanup; one that names cleanup.sh, or a file holding it, may be."""
    unrelated = script("/sbin/e2scrub_all", "#!/bin/bash\nif then (\n/sbin/e2scrub -A\n")
    helper = script("/opt/wa/lib.sh", f"docker exec biz_waweb_1 {CLEANUP}\n")
    related = script("/opt/wa/run.sh", "#!/bin/bash\nif then (\n. /opt/wa/lib.sh\n")
    found = files(unrelated, helper, related, script("/sbin/e2scrub", "#!/bin/bash\nfsck\n"),
                  HostFile("/opt/wa/secret.sh", "unreadable", EXECUTABLE, 0, 10))
    (why,) = covered("/sbin/e2scrub_all", found)[1]
    assert why.unknown and not why.may_hold("cleanup.sh") and not why.may_hold("/v1/services/message/gc")
    (why,) = covered("/opt/wa/run.sh", found)[1]
    assert why.may_hold("cleanup.sh") and not why.may_hold("/v1/services/message/gc")
    (why,) = covered("/opt/wa/secret.sh", found)[1]
    assert why.may_hold("cleanup.sh") and why.may_hold("/v1/services/message/gc")    # unreadable: anything


def test_bash_arithmetic_and_arrays_are_read_as_bash_reads_them():
    body = (f"#!/bin/bash\nnames=(biz_waweb_1 biz_wacore_1)\nif (( ${{#names[@]}} > 0 )); then\n"
            f"    docker exec biz_wacore_1 {CLEANUP}\nfi\n( (docker exec biz_waweb_1 {CLEANUP}) )\n")
    coverage, unfollowed = covered("/opt/x.sh", files(script("/opt/x.sh", body)))
    assert set(coverage.jobs) == {WEB.name, CORE.name} and not unfollowed
