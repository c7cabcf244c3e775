"""wa_compliance.parsers.cleanup_command: which containers a cron command runs cleanup.sh in.

The filter semantics asserted here were checked against a Docker 20.10 engine: `docker ps -q
--no-trunc [-a] --filter ...` for every filter below, alone and in pairs, listed exactly the
containers DockerPsFilter.matches accepts.
"""

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from wa_compliance.parsers.cleanup_command import (CLEANUP, CleanupCall, CommandParseError, ContainerView,
                                                   DockerPsFilter, cleanup_calls, covered,
                                                   looks_like_container_id)

PROPS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
WEB_ID = "3f2a9c1b7d4e" + "0" * 52
CORE_ID = "3f2b00000000" + "1" * 52
MASTER_ID = "a1b2c3d4e5f6" + "2" * 52


def ps(*filters, all=False):
    return DockerPsFilter(tuple(filters), all)


def found(command):
    """(target, loop, single) of each call, the part the grammar decides."""
    return [(call.target, call.loop, call.single) for call in cleanup_calls(command)]


def view(name, id=WEB_ID, image="docker.whatsapp.biz/web:v2.53.1", labels=None, status="running", image_id=""):
    return ContainerView(name, id, image, labels or {}, status, image_id)


WEB = view("biz_waweb_1", WEB_ID, labels={"com.docker.compose.project": "biz", "com.docker.compose.service": "waweb"})
CORE = view("biz_wacore_1", CORE_ID, "docker.whatsapp.biz/coreapp:v2.53.1",
            {"com.docker.compose.project": "biz", "com.docker.compose.service": "wacore"})
MASTER = view("bizmc_master1_1", MASTER_ID, "docker.whatsapp.biz/coreapp:v2.53.1",
              {"com.docker.compose.project": "bizmc"}, status="exited")
HOST = [WEB, CORE, MASTER]


# -- the forms seen in crontabs ---------------------------------------------------------------------
@pytest.mark.parametrize("command, targets", [
    (f"docker exec biz_waweb_1 {CLEANUP}", ["biz_waweb_1"]),
    (f"/usr/bin/docker exec -u root biz_wacore_1 {CLEANUP} >/dev/null 2>&1", ["biz_wacore_1"]),
    (f"docker exec 3f2a9c1b7d4e {CLEANUP}", ["3f2a9c1b7d4e"]),
    (f"docker exec {WEB_ID} {CLEANUP}", [WEB_ID]),
    (f"docker container exec -t biz_waweb_1 sh -c '{CLEANUP}'", ["biz_waweb_1"]),
    (f"docker exec biz_waweb_1 bash {CLEANUP}", ["biz_waweb_1"]),
    (f"docker exec biz_waweb_1 /bin/sh -ec 'cd /tmp && exec {CLEANUP} >/dev/null'", ["biz_waweb_1"]),
    (f"docker exec a {CLEANUP}; docker exec b {CLEANUP} && docker exec c {CLEANUP}", ["a", "b", "c"]),
    (f"docker exec a {CLEANUP} || docker exec b {CLEANUP} & docker exec c {CLEANUP}\ndocker exec d {CLEANUP}",
     ["a", "b", "c", "d"]),
    (f"sudo docker exec a {CLEANUP}", ["a"]),
    (f"sudo -u root -E docker exec a {CLEANUP}", ["a"]),
    (f"cd /tmp && docker exec a {CLEANUP}", ["a"]),
    (f"flock -n /tmp/x docker exec a {CLEANUP}", ["a"]),
    (f"flock -w 10 /tmp/x -c 'docker exec a {CLEANUP}'", ["a"]),
    (f"timeout 600 docker exec a {CLEANUP}", ["a"]),
    (f"timeout -s KILL 10m nice -n 10 ionice -c3 docker exec a {CLEANUP}", ["a"]),
    (f"nohup env LANG=C docker exec a {CLEANUP}", ["a"]),
    (f"su root -c 'docker exec a {CLEANUP}'", ["a"]),
    (f"bash -lc \"docker exec a {CLEANUP}\"", ["a"]),
    (f"docker --log-level error exec -itu root a {CLEANUP}", ["a"]),
    (f"docker exec --user=root --env A=1 -eB=2 --env-file /e --detach-keys ctrl-x --privileged -d a {CLEANUP}",
     ["a"]),
    ("docker exec -w /opt/whatsapp/bin a ./cleanup.sh", ["a"]),
    ("docker exec --workdir=/opt/whatsapp a bin/cleanup.sh", ["a"]),
    (f"'docker' exec \"biz_waweb_1\" '{CLEANUP}'", ["biz_waweb_1"]),
    (f"d\\ocker exec biz\\_waweb_1 {CLEANUP}", ["biz_waweb_1"]),
    (f"docker exec a {CLEANUP} # docker exec b {CLEANUP}", ["a"]),
    (f"[ -x /usr/bin/docker ] && docker exec a {CLEANUP} | logger -t wa-cleanup", ["a"]),
    (f"if true; then docker exec a {CLEANUP}; else docker exec b {CLEANUP}; fi", ["a", "b"]),
    (f"( docker exec a {CLEANUP} ); {{ docker exec b {CLEANUP}; }}", ["a", "b"]),
    (f"case $(date +%u) in 7) docker exec a {CLEANUP};; *) docker exec b {CLEANUP};; esac", ["a", "b"]),
    (f"x=$(docker exec a {CLEANUP}) echo done", ["a"]),
    (f"for c in biz_waweb_1 biz_wacore_1; do docker exec \"$c\" {CLEANUP}; done", ["biz_waweb_1", "biz_wacore_1"]),
])
def test_literal_targets(command, targets):
    assert found(command) == [(t, None, False) for t in targets]


@pytest.mark.parametrize("command", [
    CLEANUP,                                                   # on the host, not in a container
    f"sudo {CLEANUP}",
    f"echo docker exec a {CLEANUP}",                           # arguments of echo, not a command
    f"'docker exec a {CLEANUP}'",                              # one word: a command by that name
    "docker exec a /opt/whatsapp/bin/other.sh",
    f"docker exec a cat {CLEANUP}",
    f"docker exec a sh -c 'cat {CLEANUP}'",
    "docker exec a",
    f"docker run a {CLEANUP}",
    f"docker exec --bogus a {CLEANUP}",                       # docker refuses the option
    "docker exec -u",
    f"# docker exec a {CLEANUP}",
    "docker exec a ./cleanup.sh",                              # relative, and no -w to say to what
    f"docker compose exec waweb {CLEANUP}",
    f"sudo -l docker exec a {CLEANUP}",                        # sudo -l lists, runs nothing
    f"sh -c 'docker exec a \"{CLEANUP}'",                      # that sh fails to parse its string
    "",
])
def test_commands_that_run_cleanup_in_no_container(command):
    assert cleanup_calls(command) == ()


@pytest.mark.parametrize("command", [
    f"docker exec 'a {CLEANUP}",
    f'docker exec "a {CLEANUP}',
    f"docker exec $(docker ps -q {CLEANUP}",
    f"docker exec `docker ps -q {CLEANUP}",
    f"docker exec ${{a {CLEANUP}",
    f"for c in a b; do docker exec $c {CLEANUP}",
    f"docker exec a {CLEANUP} )",
    f"; docker exec a {CLEANUP}",
    f"docker exec a {CLEANUP} &&",
    f"for 1c in a; do docker exec a {CLEANUP}; done",
    f"if docker exec a {CLEANUP}; fi",
    pytest.param("( " * 2000 + "x" + " )" * 2000, id="nested-too-deeply"),   # "((" alone is arithmetic
])
def test_what_sh_would_not_parse_raises_command_parse_error(command):
    with pytest.raises(CommandParseError):
        cleanup_calls(command)


def test_text_is_the_simple_command_or_the_loop_that_feeds_it():
    first, second = cleanup_calls(f"cd /tmp && sudo docker exec a {CLEANUP} >/dev/null 2>&1; echo ok; "
                                  f"for c in $(docker ps -q); do docker exec $c {CLEANUP}; done # nightly")
    assert first.text == f"sudo docker exec a {CLEANUP} >/dev/null 2>&1"
    assert second.text == f"for c in $(docker ps -q); do docker exec $c {CLEANUP}; done"
    piped, = cleanup_calls(f"docker ps -q | xargs -I{{}} docker exec {{}} {CLEANUP} 2>&1 | logger")
    assert piped.text == f"docker ps -q | xargs -I{{}} docker exec {{}} {CLEANUP} 2>&1 | logger"


# -- loops over docker ps ---------------------------------------------------------------------------
WEB_OR_CORE = ps(("ancestor", "docker.whatsapp.biz/web"), ("ancestor", "docker.whatsapp.biz/coreapp"))


@pytest.mark.parametrize("command, loop", [
    (f"for c in $(docker ps -q --filter ancestor=docker.whatsapp.biz/web --filter ancestor=docker.whatsapp.biz/coreapp)"
     f"; do docker exec $c {CLEANUP}; done", WEB_OR_CORE),
    (f"for c in `docker ps -q -f ancestor=docker.whatsapp.biz/web -fancestor=docker.whatsapp.biz/coreapp`; "
     f"do docker exec ${{c}} {CLEANUP}; done", WEB_OR_CORE),
    (f"for id in $(sudo docker container ls -q --filter=name=biz_)\ndo\n  docker exec \"$id\" {CLEANUP}\ndone",
     ps(("name", "biz_"))),
    (f"docker ps --filter \"name=biz_\" --format '{{{{.Names}}}}' | xargs -I{{}} docker exec {{}} {CLEANUP}",
     ps(("name", "biz_"))),
    (f"docker ps -qf label=com.docker.compose.project=biz | xargs -n1 -I % docker exec % {CLEANUP}",
     ps(("label", "com.docker.compose.project=biz"))),
    (f"docker container ls -aq | xargs -r -P4 -i docker exec {{}} {CLEANUP}", ps(all=True)),
    (f"docker ps -q --no-trunc | xargs --replace=CID -L1 docker exec CID {CLEANUP}", ps()),
    (f"docker ps -q | xargs -d '\\n' -I{{}} sh -c 'docker exec {{}} {CLEANUP}'", ps()),
    (f"docker ps --format 'table {{{{.ID}}}}' -f status=running | while read -r c; do docker exec $c {CLEANUP}; done",
     ps(("status", "running"))),
    (f"while IFS= read c; do docker exec \"$c\" {CLEANUP}; done < <(docker ps -q -f ' Name = biz_')",
     ps(("name", "biz_"))),
    (f"docker ps --all=false -q | xargs -I{{}} docker exec {{}} {CLEANUP}", ps()),
    (f"docker ps -q --format '{{{{.Image}}}}' | xargs -I{{}} docker exec {{}} {CLEANUP}", ps()),   # -q wins
    (f"for c in $(docker ps -q); do sh -c \"docker exec $c {CLEANUP}\"; done", ps()),
])
def test_loops_over_docker_ps(command, loop):
    assert found(command) == [(None, loop, False)]


@pytest.mark.parametrize("command", [
    f"docker ps | xargs -I{{}} docker exec {{}} {CLEANUP}",                          # whole table lines
    f"docker ps --format '{{{{.Image}}}}' | xargs -I{{}} docker exec {{}} {CLEANUP}",
    f"docker ps -q -n 3 | xargs -I{{}} docker exec {{}} {CLEANUP}",                  # last 3, any state
    f"docker ps -q --latest | xargs -I{{}} docker exec {{}} {CLEANUP}",
    f"docker ps -q --filter name | xargs -I{{}} docker exec {{}} {CLEANUP}",         # docker: bad format of filter
    f"docker ps -q biz | xargs -I{{}} docker exec {{}} {CLEANUP}",                   # docker ps takes no operand
    f"docker ps -q | grep biz | xargs -I{{}} docker exec {{}} {CLEANUP}",
    f"docker ps -q | xargs -0 -I{{}} docker exec {{}} {CLEANUP}",                    # one item with every line
    f"docker ps -q | xargs -a /tmp/ids -I{{}} docker exec {{}} {CLEANUP}",           # reads the file instead
    f"xargs -I{{}} docker exec {{}} {CLEANUP} < /tmp/ids",
    f"for c in $(cat /tmp/ids); do docker exec $c {CLEANUP}; done",
    f"for c; do docker exec $c {CLEANUP}; done",
    f"docker exec $CONTAINER {CLEANUP}",
    f"docker exec {{}} {CLEANUP}",
    f"docker exec biz_$c {CLEANUP}",
    f"for c in $(docker ps -q); do sh -c 'docker exec $c {CLEANUP}'; done",           # $c is not exported
    f"while read c; do docker exec $c {CLEANUP}; done",
])
def test_placeholders_fed_by_nothing_we_can_name(command):
    assert found(command) == [(None, None, False)]


def test_docker_ps_output_used_whole_as_one_target_needs_exactly_one_container():
    assert found(f"docker exec $(docker ps -qf name=biz_waweb) {CLEANUP}") == [(None, ps(("name", "biz_waweb")), True)]
    assert found(f"for c in \"$(docker ps -q)\"; do docker exec $c {CLEANUP}; done") == [(None, ps(), True)]
    one, = cleanup_calls(f"docker exec \"$(docker ps -qf name=^biz_waweb)\" {CLEANUP}")
    assert covered(one, HOST) == [WEB]
    many, = cleanup_calls(f"docker exec $(docker ps -qf name=biz_) {CLEANUP}")
    assert covered(many, HOST) == []


def test_a_for_list_mixes_names_and_listings():
    assert found(f"for c in biz_waweb_1 $(docker ps -q -f name=core) $X; do docker exec $c {CLEANUP}; done") == [
        ("biz_waweb_1", None, False), (None, ps(("name", "core")), False), (None, None, False)]


# -- docker ps --filter, as the daemon evaluates it -------------------------------------------------
def listed(loop, containers=HOST):
    return [c.name for c in containers if loop.matches(c, containers)]


def test_name_is_a_regex_searched_with_and_without_the_leading_slash():
    assert listed(ps(("name", "biz_"))) == ["biz_waweb_1", "biz_wacore_1"]
    assert listed(ps(("name", "^biz_"))) == ["biz_waweb_1", "biz_wacore_1"]
    assert listed(ps(("name", "^/biz_"))) == ["biz_waweb_1", "biz_wacore_1"]
    assert listed(ps(("name", "wa.*_1$"))) == ["biz_waweb_1", "biz_wacore_1"]
    assert listed(ps(("name", "Biz_"))) == []                     # case-sensitive
    assert listed(ps(("name", "biz_["))) == []                     # not a regex: docker skips the value
    assert listed(ps(("name", ""))) == ["biz_waweb_1", "biz_wacore_1"]
    assert listed(ps(("name", "^/biz")), [view("/biz_waweb_1")]) == ["/biz_waweb_1"]


def test_values_of_one_key_are_ored_and_keys_anded():
    assert listed(ps(("name", "waweb"), ("name", "wacore"))) == ["biz_waweb_1", "biz_wacore_1"]
    assert listed(ps(("name", "biz_"), ("ancestor", "docker.whatsapp.biz/web:v2.53.1"))) == ["biz_waweb_1"]


def test_label_values_are_anded():
    assert listed(ps(("label", "com.docker.compose.project=biz"))) == ["biz_waweb_1", "biz_wacore_1"]
    assert listed(ps(("label", "com.docker.compose.project")), HOST) == ["biz_waweb_1", "biz_wacore_1"]
    assert listed(ps(("label", "com.docker.compose.project=biz"), ("label", "com.docker.compose.project=bizmc")),
                  HOST) == []
    assert listed(ps(("label", "com.docker.compose.project=biz"), ("label", "com.docker.compose.service=waweb"))) == [
        "biz_waweb_1"]
    assert listed(ps(("label", "")), HOST) == [] == listed(ps(("label", "com.docker.compose.project!=biz")))


def test_ancestor_resolves_a_reference_so_a_bare_repository_means_latest():
    assert listed(ps(("ancestor", "docker.whatsapp.biz/web"))) == []
    assert listed(ps(("ancestor", "docker.whatsapp.biz/web:v2.53.1"))) == ["biz_waweb_1"]
    assert listed(ps(("ancestor", "docker.whatsapp.biz/web:v2.53"))) == []
    latest = [view("a", image="docker.whatsapp.biz/web"), view("b", image="docker.whatsapp.biz/web:latest")]
    assert listed(ps(("ancestor", "docker.whatsapp.biz/web")), latest) == ["a", "b"]
    hub = [view("u", image="ubuntu"), view("v", image="docker.io/library/ubuntu:latest")]
    assert listed(ps(("ancestor", "index.docker.io/library/ubuntu:latest")), hub) == ["u", "v"]
    assert listed(ps(("ancestor", "localhost:5000/web")), [view("l", image="localhost:5000/web:latest")]) == ["l"]
    assert listed(ps(("ancestor", "")), latest) == []


def test_ancestor_by_image_id_prefix_also_when_docker_ps_shows_the_short_id():
    image_id = "sha256:4743aa3976fb" + "f" * 52
    moved = [view("by_id", image_id=image_id), view("short", image="4743aa3976fb"),
             view("other", image_id="sha256:" + "e" * 64)]
    assert listed(ps(("ancestor", "4743aa")), moved) == ["by_id", "short"]
    assert listed(ps(("ancestor", image_id)), moved) == ["by_id", "short"]
    assert listed(ps(("ancestor", "docker.whatsapp.biz/web:v2.53.1")), moved[1:2]) == []


def test_id_is_a_prefix_docker_must_find_unique():
    assert listed(ps(("id", "3f2a"))) == ["biz_waweb_1"]
    assert listed(ps(("id", WEB_ID))) == ["biz_waweb_1"]
    assert listed(ps(("id", "3f2"))) == []                          # 3f2a... and 3f2b...: ambiguous
    assert listed(ps(("id", "3f2"), ("id", "3f2b"))) == ["biz_wacore_1"]
    assert listed(ps(("id", "2a9c"))) == []                         # a prefix, not a substring
    assert listed(ps(("id", ""))) == []
    assert ps(("id", "3f2")).matches(WEB) is True                   # alone, nothing to be ambiguous with


def test_without_all_only_running_paused_and_restarting_are_listed():
    states = [view(s, id=f"{n:064x}", status=s) for n, s in enumerate(
        ["running", "paused", "restarting", "exited", "created", "dead", "removing"])]
    assert listed(ps(), states) == ["running", "paused", "restarting"]
    assert listed(ps(all=True), states) == [c.name for c in states]
    assert listed(ps(("status", "exited")), states) == ["exited"]   # a status filter lists stopped ones too
    assert listed(ps(("status", "exited"), ("status", "created")), states) == ["exited", "created"]
    assert listed(ps(("status", "exited"), ("status", "bogus")), states) == []   # docker refuses the filter


def test_unknown_keys_match_nothing_and_are_reported():
    loop = ps(("name", "biz_"), ("health", "healthy"), ("bogus", "1"), ("health", "starting"))
    assert loop.unsupported_keys == ("health", "bogus")
    assert listed(loop) == []
    assert ps(("name", "biz_")).unsupported_keys == ()


# -- covered ----------------------------------------------------------------------------------------
def call(target=None, loop=None, single=False):
    return CleanupCall(target, loop, "docker exec ...", single)


def test_covered_by_name_full_id_and_unique_prefix():
    assert covered(call("biz_waweb_1"), HOST) == [WEB]
    assert covered(call("/biz_waweb_1"), HOST) == [WEB]
    assert covered(call(WEB_ID), HOST) == [WEB]
    assert covered(call("3f2a9c1b7d4e"), HOST) == [WEB]
    assert covered(call("a1b2"), HOST) == [MASTER]                 # stopped: exec names it all the same
    assert covered(call("3f2"), HOST) == []                         # ambiguous prefix: docker refuses
    assert covered(call("biz_waweb"), HOST) == []                   # names match exactly
    assert covered(call(""), HOST) == []
    assert covered(call("{}"), HOST) == []


def test_a_name_wins_over_an_id_prefix_as_in_docker():
    named = view("3f2a9c", id="f" * 64)
    assert covered(call("3f2a9c"), HOST + [named]) == [named]


def test_covered_by_loop_and_by_nothing():
    assert covered(call(loop=ps(("name", "biz_"))), HOST) == [WEB, CORE]
    assert covered(call(loop=ps(("label", "com.docker.compose.project")), single=True), HOST) == []
    assert covered(call(loop=ps(("name", "waweb")), single=True), HOST) == [WEB]
    assert covered(call(), HOST) == []


def test_looks_like_container_id():
    assert looks_like_container_id("3f2a9c1b7d4e") and looks_like_container_id(WEB_ID)
    assert not looks_like_container_id("3f2a9c1b7d4")             # 11
    assert not looks_like_container_id("3F2A9C1B7D4E")
    assert not looks_like_container_id(WEB_ID + "0")
    assert not looks_like_container_id("biz_waweb_1")


def test_end_to_end_the_docs_loop_covers_web_and_core_but_not_the_stopped_master():
    command = (f"for c in $(docker ps -q --filter ancestor=docker.whatsapp.biz/web:v2.53.1 "
               f"--filter ancestor=docker.whatsapp.biz/coreapp:v2.53.1); do docker exec $c {CLEANUP}; done")
    only, = cleanup_calls(command)
    assert covered(only, HOST) == [WEB, CORE]


# -- properties -------------------------------------------------------------------------------------
VOCABULARY = ["docker", "exec", "container", "ps", "ls", "-q", "-a", "-f", "-qf", "--filter", "name=biz", "--format",
              "'{{.Names}}'", "xargs", "-I{}", "-i", "-n1", "{}", "%", "for", "c", "in", "do", "done", "while",
              "read", "-r", "$c", "${c}", '"$c"', "$(", ")", "(", "`", "'", '"', ";", ";;", "|", "||", "&&", "&", "sh",
              "bash", "-c", CLEANUP, "case", "esac", "if", "then", "else", "fi", "{", "}", "<(", "<", ">", "2>&1",
              "\\", "\n", "#", "${", "$((", "))", "sudo", "timeout", "10", "flock", "-w", "env", "A=1", "su",
              "-u", "root", "function", "f()", "$'", "a", "biz_waweb_1", WEB_ID[:12], "=", "-", "--", "+o"]


@PROPS
@given(st.lists(st.sampled_from(VOCABULARY), max_size=30), st.lists(st.sampled_from(["", " ", "  "]), max_size=30))
def test_near_shell_never_raises_anything_but_command_parse_error(words, gaps):
    command = "".join(word + (gaps[i] if i < len(gaps) else " ") for i, word in enumerate(words))
    check_total(command)


@PROPS
@given(st.text(max_size=80))
def test_arbitrary_text_never_raises_anything_but_command_parse_error(command):
    check_total(command)


def check_total(command):
    try:
        calls = cleanup_calls(command)
    except CommandParseError:
        return
    for each in calls:
        assert isinstance(each, CleanupCall)
        covered(each, HOST)


# Commands built from the forms above, with what they must yield.
NAMES = st.from_regex(r"[a-zA-Z0-9][a-zA-Z0-9_.-]{0,14}", fullmatch=True)
IDS = st.sampled_from([12, 64]).flatmap(lambda n: st.text("0123456789abcdef", min_size=n, max_size=n))
VARIABLES = st.from_regex(r"[a-z_][a-z0-9_]{0,5}", fullmatch=True)
FILTER_VALUES = st.from_regex(r"[a-z0-9_./:-]{1,16}", fullmatch=True)


def quote(draw, word):
    style = draw(st.sampled_from(["bare", "single", "double", "backslash"]))
    return {"bare": word, "single": f"'{word}'", "double": f'"{word}"',
            "backslash": "".join("\\" + ch for ch in word)}[style]


@st.composite
def docker(draw):
    program = draw(st.sampled_from(["docker", "/usr/bin/docker", "/usr/local/bin/docker", "'docker'", '"docker"']))
    return program + draw(st.sampled_from(["", " --log-level error", " -l warn", " --context default", " -D"]))


@st.composite
def exec_call(draw, target):
    """`[wrappers] docker exec [options] TARGET <cleanup> [redirections]`."""
    wrappers = draw(st.lists(st.sampled_from(
        ["sudo", "sudo -u root", "sudo -n -E", "timeout 600", "timeout -s KILL 10m", "flock -n /tmp/wa.lock",
         "flock -w 5 /tmp/x", "nice -n 10", "nice -10", "ionice -c3", "nohup", "env LANG=C", "env -i PATH=/usr/bin",
         "stdbuf -oL", "time"]), max_size=2))
    options = draw(st.lists(st.sampled_from(
        ["-i", "-t", "-it", "-d", "--privileged", "-u root", "-uroot", "--user=root", "--user root", "-u 1000:1000",
         "-e A=1", "--env A=1", "-eA=1", "--env-file /etc/x.env", "-w /tmp", "--workdir=/", "--detach-keys ctrl-x",
         "--tty=false", "-itu root"]), max_size=3))
    script = draw(st.sampled_from(
        [CLEANUP, f"'{CLEANUP}'", f'"{CLEANUP}"', f"sh -c '{CLEANUP}'", f'sh -c "{CLEANUP}"', f"bash {CLEANUP}",
         f"/bin/bash -lc '{CLEANUP}'", f"sh -c 'exec {CLEANUP}'", f"sh -c 'cd /tmp && {CLEANUP}'",
         f"timeout 300 {CLEANUP}", f"sh -ec '{CLEANUP} >/dev/null'"]))
    subcommand = draw(st.sampled_from(["exec", "container exec"]))
    redirection = draw(st.sampled_from(["", " >/dev/null 2>&1", " >> /var/log/wa-cleanup.log 2>&1", " 2>/dev/null",
                                        " &>/dev/null", " | logger -t cleanup"]))
    return " ".join([*wrappers, draw(docker()), subcommand, *options, target, script]) + redirection


@st.composite
def docker_ps(draw):
    """A docker ps printing one reference per line, and the DockerPsFilter it must parse to."""
    filters = draw(st.lists(st.tuples(st.sampled_from(["name", "label", "ancestor", "id", "status"]), FILTER_VALUES),
                            max_size=3))
    all_ = draw(st.booleans())
    spelled = [(draw(st.sampled_from([f"--filter {k}={v}", f"-f {k}={v}", f"-f{k}={v}", f"--filter={k}={v}",
                                      f"-f \"{k}={v}\"", f"--filter '{k.upper()}={v}'"])), (k, v)) for k, v in filters]
    output = draw(st.sampled_from(["-q", "--quiet", "--format '{{.Names}}'", "--format {{.ID}}", "-q --no-trunc",
                                   "--format '{{ .Names }}' --no-trunc"]))
    if output == "-q" and filters:
        spelled[0] = (f"-qf {filters[0][0]}={filters[0][1]}", filters[0])
        output = None
    all_spelled = [(draw(st.sampled_from(["-a", "--all"])), None)] * all_
    options = [(output, None)] * (output is not None) + spelled + all_spelled
    options = draw(st.permutations(options))
    listing = draw(st.sampled_from(["ps", "container ls", "container list", "container ps"]))
    command = " ".join([draw(docker()), listing, *(text for text, _ in options)])
    return command, DockerPsFilter(tuple(pair for _, pair in options if pair), all_)


@st.composite
def segment(draw):
    """One command of the line, and the (target, loop, single) it must yield."""
    form = draw(st.sampled_from(["literal", "id", "for_ps", "xargs", "for_names", "single", "negative"]))
    if form in ("literal", "id"):
        target = draw(NAMES if form == "literal" else IDS)
        return draw(exec_call(quote(draw, target))), [(target, None, False)]
    if form == "for_names":
        names = draw(st.lists(NAMES, min_size=1, max_size=3))
        variable = draw(VARIABLES)
        reference = draw(st.sampled_from([f"${variable}", f"${{{variable}}}", f'"${variable}"', f'"${{{variable}}}"']))
        body = draw(exec_call(reference))
        items = " ".join(quote(draw, name) for name in names)
        return f"for {variable} in {items}; do {body}; done", [(n, None, False) for n in names]
    listing, loop = draw(docker_ps())
    if form == "for_ps":
        variable = draw(VARIABLES)
        source = draw(st.sampled_from([f"$({listing})", f"`{listing}`"]))
        reference = draw(st.sampled_from([f"${variable}", f"${{{variable}}}", f'"${variable}"']))
        separator = draw(st.sampled_from(["; do ", "\ndo\n", " ; do "]))
        return f"for {variable} in {source}{separator}{draw(exec_call(reference))}; done", [(None, loop, False)]
    if form == "xargs":
        spelling, placeholder = draw(st.sampled_from([("-I{}", "{}"), ("-I {}", "{}"), ("-i", "{}"),
                                                      ("--replace", "{}"), ("--replace=%", "%"), ("-I %", "%"),
                                                      ("-I CID", "CID")]))
        extra = draw(st.lists(st.sampled_from(["-r", "-n1", "-n 1", "-P4", "--no-run-if-empty"]), max_size=2))
        return f"{listing} | xargs {' '.join([*extra, spelling])} {draw(exec_call(placeholder))}", [(None, loop, False)]
    if form == "single":
        return draw(exec_call(f'"$({listing})"')), [(None, loop, True)]
    negative = draw(st.sampled_from([f"echo docker exec a {CLEANUP}", CLEANUP, "docker exec a /opt/other.sh",
                                     f"docker run a {CLEANUP}", f"cat {CLEANUP}", "true"]))
    return negative, []


@PROPS
@given(st.lists(segment(), min_size=1, max_size=4), st.data())
def test_generated_commands_yield_exactly_their_calls(segments, data):
    command = segments[0][0]
    for text, _ in segments[1:]:
        command += data.draw(st.sampled_from(["; ", " && ", " || ", "\n", " & ", " ;\n"])) + text
    command += data.draw(st.sampled_from(["", f" # docker exec x {CLEANUP}"]))
    assert found(command) == [call for _, calls in segments for call in calls]


CONTAINERS = st.lists(st.builds(
    view, name=st.sampled_from(["biz_waweb_1", "biz_wacore_1", "bizmc_master1_1", "a", "ba"]),
    id=st.sampled_from(["0a", "0b", "1a", "10"]).map(lambda prefix: prefix.ljust(64, "0")),
    image=st.sampled_from(["docker.whatsapp.biz/web:v2.53.1", "docker.whatsapp.biz/coreapp:v2.53.1", "ubuntu"]),
    labels=st.dictionaries(st.sampled_from(["p", "s"]), st.sampled_from(["biz", "web"]), max_size=2),
    status=st.sampled_from(["running", "exited", "paused", "created"])), max_size=5)
FILTERS = st.lists(st.one_of(
    st.tuples(st.just("status"), st.sampled_from(["running", "exited", "paused"])),
    st.tuples(st.sampled_from(["name", "label", "id", "ancestor"]),
              st.sampled_from(["biz", "^b", "a$", "p", "p=biz", "s=web", "ubuntu", "docker.whatsapp.biz/web:v2.53.1",
                               "0", "1", "a"]))), max_size=4)


@PROPS
@given(CONTAINERS, FILTERS, st.booleans())
def test_filters_and_across_keys_and_or_within_a_key_but_label(containers, filters, all_):
    by_key = {}
    for key, value in filters:
        by_key.setdefault(key, []).append(value)
    loop = DockerPsFilter(tuple(filters), all_)
    for container in containers:
        expected = all(
            (all if key == "label" else any)(
                DockerPsFilter(((key, value),), True).matches(container, containers) for value in values)
            for key, values in by_key.items())
        if not (all_ or "status" in by_key):
            expected = expected and container.status in ("running", "paused")
        assert loop.matches(container, containers) == expected
