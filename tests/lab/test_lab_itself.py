"""The lab itself, against the real Docker engine, MariaDB and PostgreSQL (lab/install.sh).

Tests use their own Compose projects under a temporary root, so they never disturb the
deployments behind profiles/lab*.yaml that others may be auditing meanwhile.
"""

from __future__ import annotations

import difflib
import hashlib
import io
import json
import os
import subprocess
import time
from pathlib import Path

import pytest

from tests.private_lab import private_lab
import yaml
from dotenv.parser import parse_stream

from lab import LAB_PROFILES, REMOVE, Lab, LabError
from lab.compose_text import media_volumes
from lab.images import BUSYBOX_APPLETS
from lab.topology import META_DIR, compose_source

pytestmark = pytest.mark.lab

REPO = Path(__file__).resolve().parents[2]
# Meta's files as published (lab/meta/README.md): the lab must never alter them.
META_SHA256 = {
    "docker-compose.yml": "e2ae726cbbff3b06d1b88b9bf373319b6949b449359f923cd318e762120f1502",
    "multiconnect-compose.yml": "5225d121147b1ae5514a6650bf59465556d43f584b6e45dfd86965102a0c3e00",
    "postgres/docker-compose.yml": "140cf427ffb1fa0131f2c8287cc469aac5c10f1437bb109f0565289b99f4c8e9",
    "postgres/multiconnect-compose.yml":
        "8a3e57459e5c99ed15d6103ee68b5dad62fb7efc649cb5995fe0d2d99886cc43",
    "prod-multiconnect-compose.yml": "62d0f0a2022c50bcb53a3466bbcdaef99d80fddadbc32e141a857e9badbd6bcd",
}


def docker(*args: str) -> str:
    return subprocess.run(["docker", *args], capture_output=True, text=True, check=True,
                          timeout=60).stdout


def inspect(name: str) -> dict:
    return json.loads(docker("inspect", name))[0]


def container_ids(lab: Lab) -> set[str]:
    return {inspect(name)["Id"] for names in lab.container_names().values() for name in names}


def file_values(path: Path) -> dict[str, str]:
    bindings = list(parse_stream(io.StringIO(path.read_text())))
    assert not any(binding.error for binding in bindings)
    return {binding.key: binding.value for binding in bindings if binding.key}


def container_env(name: str) -> dict[str, str]:
    return dict(item.split("=", 1) for item in inspect(name)["Config"]["Env"])


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    yield from private_lab(tmp_path_factory, "labtest")


@pytest.fixture(scope="module")
def bind_lab(tmp_path_factory):
    """Multiconnect with bind media: six containers on one host folder."""
    deployment = Lab(project=f"labbind{os.getpid()}", topology="multiconnect", engine="mysql",
                     media="bind", root=tmp_path_factory.mktemp("wa-lab"))
    deployment.up()
    yield deployment
    deployment.down()


def test_image_recipe_uses_only_applets_this_busybox_has():
    listed = subprocess.run(["busybox", "--list"], capture_output=True, text=True, check=True,
                            timeout=30).stdout.split()
    assert set(BUSYBOX_APPLETS) <= set(listed)


def test_up_is_idempotent_and_keeps_the_password(lab):
    password, ids = lab.db_password, container_ids(lab)
    started = time.monotonic()
    lab.up()
    assert time.monotonic() - started < 10
    assert lab.db_password == password and len(password) >= 24
    assert container_ids(lab) == ids


def test_meta_compose_file_is_copied_unmodified(lab):
    for relative, digest in META_SHA256.items():
        assert hashlib.sha256((META_DIR / relative).read_bytes()).hexdigest() == digest, relative
    assert lab.compose_file.read_bytes() == (META_DIR / "docker-compose.yml").read_bytes()


def test_containers_are_compose_made_from_the_tagged_images(lab):
    names = lab.container_names()
    project = lab.project
    assert names == {"webapp": [f"{project}_waweb_1"], "coreapp": [f"{project}_wacore_1"],
                     "master": []}
    for service, name in (("waweb", names["webapp"][0]), ("wacore", names["coreapp"][0])):
        container = inspect(name)
        labels = container["Config"]["Labels"]
        assert labels["com.docker.compose.project"] == project
        assert labels["com.docker.compose.service"] == service
        assert labels["com.docker.compose.project.config_files"].startswith("docker-compose.yml")
        assert labels["com.docker.compose.project.working_dir"] == str(lab.dir)
        role = "web" if service == "waweb" else "coreapp"
        assert container["Config"]["Image"] == f"docker.whatsapp.biz/{role}:v{lab.version}"
        assert container["State"]["Running"]
        assert container["HostConfig"]["NetworkMode"] == "none"
        [media] = [m for m in container["Mounts"] if m["Destination"] == "/usr/local/wamedia"]
        assert (media["Type"], media["Name"], media["RW"]) == (
            "volume", f"{project}_whatsappMedia", True)
        listing = docker("exec", name, "ls", "/opt/whatsapp/bin", "/var/log/whatsapp")
        for expected in ("cleanup.sh", "wait_on_mysql.sh", "launch_within_docker.sh", "archive"):
            assert expected in listing
        assert container_env(name)["WA_DB_USERNAME"] == lab.db_user


def test_db_env_is_private_and_its_credentials_log_in(lab):
    assert lab.db_env_path.stat().st_mode & 0o777 == 0o600
    values = file_values(lab.db_env_path)
    assert values == {**lab.db_env_variables(), "WA_DB_PASSWORD": lab.db_password}
    assert values["WA_DB_CONNECTION_IDLE_TIMEOUT"] == "180000"
    connection = lab.connect_db(values["WA_DB_PASSWORD"])
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT CURRENT_USER(), DATABASE()")
            assert cursor.fetchone() == (f"{lab.db_user}@%", lab.db_name)
    finally:
        connection.close()


def test_password_deviation_applies_for_real_and_restores(lab):
    ids = container_ids(lab)
    with lab.deviation("env.sample_password"):
        assert file_values(lab.db_env_path)["WA_DB_PASSWORD"] == "testpass"
        assert container_env(lab.container_names()["webapp"][0])["WA_DB_PASSWORD"] == "testpass"
        lab.connect_db("testpass").close()
        assert lab.active_deviations() == ["env.sample_password"]
    assert lab.active_deviations() == []
    assert file_values(lab.db_env_path)["WA_DB_PASSWORD"] == lab.db_password
    assert container_env(lab.container_names()["webapp"][0])["WA_DB_PASSWORD"] == lab.db_password
    assert container_ids(lab) != ids            # recreated back from the compliant db.env
    lab.connect_db().close()


def test_file_and_server_deviations_restore_even_on_error(lab):
    compliant = lab.db_env_path.read_text()
    ids = container_ids(lab)
    with pytest.raises(RuntimeError):
        with lab.deviation("env.drift"), lab.deviation("env.world_readable"):
            assert file_values(lab.db_env_path)["WA_DB_HOSTNAME"] == "db-replica"
            assert lab.db_env_path.stat().st_mode & 0o777 == 0o644
            webapp = lab.container_names()["webapp"][0]
            assert container_env(webapp)["WA_DB_HOSTNAME"] == "db"   # containers untouched
            raise RuntimeError("a failing check")
    assert lab.db_env_path.read_text() == compliant
    assert lab.db_env_path.stat().st_mode & 0o777 == 0o600
    assert container_ids(lab) == ids
    lab.deviate("env.wrong_password")
    with pytest.raises(Exception):
        lab.connect_db().close()
    lab.restore()
    lab.connect_db().close()


def test_unknown_or_inapplicable_deviation_is_a_clear_error(lab):
    with pytest.raises(LabError, match="did you mean env.drift"):
        lab.deviate("env.drfit")
    with pytest.raises(LabError, match="pgsql"):
        lab.deviate("env.idle_timeout_pgsql")
    assert lab.active_deviations() == []


def test_written_profile_loads_with_overrides(lab, tmp_path):
    from wa_compliance.profile import load_profile
    path = lab.write_profile(tmp_path / "mine.yaml", deployment={"db_env": "/tmp/x/db.env"},
                             database=REMOVE)
    profile = load_profile(path)
    assert profile.name == "mine"
    assert profile.deployment.db_env == "/tmp/x/db.env"
    assert profile.deployment.compose_project == lab.project
    assert profile.database.host is None


@pytest.mark.parametrize("name", sorted(LAB_PROFILES))
def test_committed_profiles_match_their_deployments(name):
    committed = yaml.safe_load((REPO / "profiles" / f"{name}.yaml").read_text())
    assert committed == Lab(**LAB_PROFILES[name]).profile(name=name)


def test_multiconnect_on_postgres_comes_up_and_down_leaves_nothing(tmp_path):
    deployment = Lab(project=f"labmc{os.getpid()}", topology="multiconnect", engine="pgsql",
                     root=tmp_path)
    project_filter = f"label=com.docker.compose.project={deployment.project}"
    try:
        deployment.up()
        names = deployment.container_names()
        assert [len(names[role]) for role in ("webapp", "master", "coreapp")] == [1, 2, 3]
        assert container_env(names["master"][0])["WA_MASTER_NODE"] == "1"
        values = file_values(deployment.db_env_path)
        assert values["WA_DB_ENGINE"] == "PGSQL" and "WA_DB_CONNECTION_IDLE_TIMEOUT" not in values
        deployment.connect_db(values["WA_DB_PASSWORD"]).close()
    finally:
        deployment.down()
    assert not deployment.dir.exists()
    for kind in (["ps", "-a"], ["volume", "ls"], ["network", "ls"]):
        assert docker(*kind, "-q", "--filter", project_filter).strip() == "", kind
    assert not deployment.server.account_exists(deployment.db_user)
    assert deployment.server.databases(deployment.db_name_prefix) == []


# --- media volume (VOL-001..005) -------------------------------------------------------------
MEDIA_PATH = "/usr/local/wamedia"
# The service media deviations change: the first Coreapp that is not a Master.
AFFECTED_SERVICE = {"single": "wacore", "multiconnect": "wacore1"}


def media_mount(name: str) -> tuple[str, str, bool] | None:
    """(type, volume name or host path, read-write) of the mount at the media path."""
    mounts = [m for m in inspect(name)["Mounts"] if m["Destination"] == MEDIA_PATH]
    assert len(mounts) <= 1
    return next(((m["Type"], m.get("Name") or m["Source"], m["RW"]) for m in mounts), None)


def compliant_mount(deployment: Lab) -> tuple[str, str, bool]:
    if deployment.media == "bind":
        return ("bind", str(deployment.dir / "media"), True)
    return ("volume", f"{deployment.project}_whatsappMedia", True)


def all_containers(deployment: Lab) -> list[str]:
    return [name for names in deployment.container_names().values() for name in names]


def test_bind_media_is_one_host_folder_in_every_container(bind_lab):
    names = all_containers(bind_lab)
    assert len(names) == 6
    folder = bind_lab.dir / "media"
    assert bind_lab.media_source() == folder and folder.is_dir()
    assert {name: media_mount(name) for name in names} == {
        name: ("bind", str(folder), True) for name in names}
    # Meta's file is untouched: the lab's override does the binding.
    meta = compose_source("multiconnect", "mysql").read_bytes()
    assert bind_lab.compose_file.read_bytes() == meta
    assert Lab.open(bind_lab.project, bind_lab.root).media == "bind"
    # One folder for real: what one container writes, the host and every other container see.
    probe = f"lab-test-{os.getpid()}"
    docker("exec", names[0], "sh", "-c", f"echo shared > {MEDIA_PATH}/{probe}")
    try:
        assert (folder / probe).read_text() == "shared\n"
        for name in names[1:]:
            assert docker("exec", name, "cat", f"{MEDIA_PATH}/{probe}") == "shared\n"
    finally:
        (folder / probe).unlink()


def test_volume_media_source_is_the_named_volume(lab):
    source = lab.media_source()
    assert source == Path(json.loads(docker("volume", "inspect", f"{lab.project}_whatsappMedia"))
                          [0]["Mountpoint"])
    assert source.is_dir()


CONTAINER_DEVIATIONS = {
    # name -> the affected container's media mount while it is on
    "vol.mount_missing": lambda d: None,
    "vol.read_only": lambda d: (*compliant_mount(d)[:2], False),
    "vol.other_volume": lambda d: ("volume", f"{d.project}_otherMedia", True),
    "vol.bind_path_differs": lambda d: ("bind", str(d.dir / "media-other"), True),
}
COMPOSE_DEVIATIONS = {
    # name -> the affected service's media entries in the compose file while it is on
    "vol.compose_read_only": ["whatsappMedia:/usr/local/wamedia:ro"],
    "vol.compose_missing": [],
}


@pytest.mark.parametrize("deployment_name", ["lab", "bind_lab"])
@pytest.mark.parametrize("deviation", [*CONTAINER_DEVIATIONS, *COMPOSE_DEVIATIONS])
def test_media_deviation_applies_for_real_and_restores(request, deployment_name, deviation):
    deployment: Lab = request.getfixturevalue(deployment_name)
    if deviation == "vol.bind_path_differs" and deployment.media == "volume":
        with pytest.raises(LabError, match="bind media"):
            deployment.deviate(deviation)
        assert deployment.active_deviations() == []
        return
    service = AFFECTED_SERVICE[deployment.topology]
    affected = f"{deployment.project}_{service}_1"
    meta = compose_source(deployment.topology, deployment.engine).read_bytes()
    ids = {name: inspect(name)["Id"] for name in all_containers(deployment)}
    with deployment.deviation(deviation):
        now = {name: inspect(name)["Id"] for name in all_containers(deployment)}
        assert now.keys() == ids.keys()          # still discovered by image and project
        if deviation in CONTAINER_DEVIATIONS:
            assert media_mount(affected) == CONTAINER_DEVIATIONS[deviation](deployment)
            assert {n for n in ids if now[n] != ids[n]} == {affected}
            container = inspect(affected)
            assert container["State"]["Running"]
            assert container["HostConfig"]["NetworkMode"] == "none"
            labels = container["Config"]["Labels"]
            assert labels["com.docker.compose.project"] == deployment.project
            assert labels["com.docker.compose.service"] == service
            assert container_env(affected)["WA_DB_USERNAME"] == deployment.db_user
            assert deployment.compose_file.read_bytes() == meta
        else:
            assert now == ids                    # containers untouched
            text = deployment.compose_file.read_text()
            assert media_volumes(text, service) == COMPOSE_DEVIATIONS[deviation]
            others = [s for s in deployment.services if s != service]
            assert all(media_volumes(text, s) == ["whatsappMedia:/usr/local/wamedia"]
                       for s in others)
            changed = [line for line in difflib.ndiff(meta.decode().splitlines(),
                                                      text.splitlines()) if line[:1] in "+-"]
            assert 1 <= len(changed) <= 3, changed   # a minimal edit
        for name in all_containers(deployment):
            if name != affected:
                assert media_mount(name) == compliant_mount(deployment)
    assert deployment.active_deviations() == []
    assert deployment.compose_file.read_bytes() == meta
    assert {name: media_mount(name) for name in all_containers(deployment)} == {
        name: compliant_mount(deployment) for name in ids}
    assert all(inspect(name)["State"]["Running"] for name in ids)


def test_restoring_containers_reapplies_a_compose_file_deviation(lab):
    meta = compose_source("single", "mysql").read_bytes()
    lab.deviate("vol.compose_missing")
    lab.deviate("vol.read_only")
    try:
        lab.restore("vol.read_only")        # rebuilds wacore from the compliant compose file
        assert media_mount(f"{lab.project}_wacore_1") == compliant_mount(lab)
        assert media_volumes(lab.compose_file.read_text(), "wacore") == []
        assert lab.active_deviations() == ["vol.compose_missing"]
    finally:
        lab.restore()
    assert lab.compose_file.read_bytes() == meta


def test_up_ends_media_deviations(bind_lab):
    bind_lab.deviate("vol.bind_path_differs")
    bind_lab.deviate("vol.compose_read_only")
    bind_lab.up()
    assert bind_lab.active_deviations() == []
    meta = compose_source("multiconnect", "mysql").read_bytes()
    assert bind_lab.compose_file.read_bytes() == meta
    assert {name: media_mount(name) for name in all_containers(bind_lab)} == {
        name: compliant_mount(bind_lab) for name in all_containers(bind_lab)}
    assert not (bind_lab.dir / ".lab" / "compose").exists()
