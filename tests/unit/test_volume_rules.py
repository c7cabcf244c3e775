"""R-VOL rule logic and the compose-file reader, without a lab."""

from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings, strategies as st

from wa_compliance.composefile import ComposeFileError, media_declarations
from wa_compliance.facts.media import MediaMount, media_mount
from wa_compliance.rules import volumes as rules

META = Path(__file__).resolve().parents[2] / "lab" / "meta"
MEDIA = "/usr/local/wamedia"


def test_media_mount_reads_volume_bind_and_mode():
    mounts = [{"Type": "bind", "Source": "/srv/media", "Destination": "/usr/local/wamedia/", "RW": True},
              {"Type": "volume", "Name": "logs", "Destination": "/var/log", "RW": True}]
    assert media_mount(mounts, MEDIA) == MediaMount("bind", "/srv/media", True, None)
    assert media_mount(mounts[1:], MEDIA) is None


def test_storage_of_names_network_exports_so_two_volumes_on_one_export_match():
    nfs = {"type": "nfs", "o": "addr=10.1.2.3,nfsvers=4,rw", "device": ":/exports/wamedia"}
    a = rules.storage_of(MediaMount("volume", "host1_media", True, "local"), nfs)
    b = rules.storage_of(MediaMount("volume", "host2_media", True, "local"), nfs)
    assert a == b == "nfs 10.1.2.3:/exports/wamedia"
    assert rules.storage_of(MediaMount("volume", "m", True, "local"), None) == "volume m"
    assert rules.storage_of(MediaMount("volume", "m", True, "rexray"), {}) == "volume m (driver rexray)"
    assert rules.storage_of(MediaMount("bind", "/srv/m", True), None) == "bind /srv/m"


def test_odd_ones_out_keeps_the_majority_and_breaks_ties_by_order():
    assert rules.odd_ones_out({"web": "v a", "core1": "v a", "core2": "v b"}) == ("v a", {"core2": "v b"})
    assert rules.odd_ones_out({"web": "v a", "core": "v b"}) == ("v a", {"core": "v b"})
    assert rules.odd_ones_out({}) == (None, {})


def test_round_trip_blames_the_read_only_writer_only():
    problems = rules.round_trip_problems(
        {"web": None, "core": "sh: can't create /usr/local/wamedia/p: Read-only file system"},
        {"web": {}, "core": {"web": "identical"}}, MEDIA)
    assert problems == {"web": [], "core": ["cannot write to /usr/local/wamedia: sh: can't create "
                                            "/usr/local/wamedia/p: Read-only file system"]}


def test_round_trip_names_an_unreadable_probe_inside_the_shared_group():
    seen = {"a": {"b": "identical", "c": "identical"}, "b": {"a": "identical", "c": "identical"},
            "c": {"a": "identical", "b": "different"}}
    problems = rules.round_trip_problems({"a": None, "b": None, "c": None}, seen, MEDIA)
    assert problems["a"] == [] and problems["c"] == ["b's probe is different here"]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from("abcdef"), min_size=1, max_size=6, unique=True).flatmap(
    lambda names: st.tuples(st.just(names), st.lists(st.integers(0, 2), min_size=len(names), max_size=len(names)))))
def test_round_trip_blames_exactly_the_containers_outside_the_largest_storage(case):
    names, storage = case
    seen = {r: {w: "identical" if storage[names.index(r)] == storage[names.index(w)] else "missing"
                for w in names if w != r} for r in names}
    problems = rules.round_trip_problems({n: None for n in names}, seen, MEDIA)
    biggest = max(set(storage), key=lambda s: (storage.count(s), -storage.index(s)))
    for index, name in enumerate(names):
        assert (problems[name] == []) == (storage[index] == biggest)


@pytest.mark.parametrize("name, services", [
    ("docker-compose.yml", {"wacore": "coreapp", "waweb": "webapp"}),
    ("multiconnect-compose.yml", {"waweb": "webapp", "master1": "master", "master2": "master",
                                  "wacore1": "coreapp", "wacore2": "coreapp", "wacore3": "coreapp"}),
    ("postgres/docker-compose.yml", {"wacore": "coreapp", "waweb": "webapp"}),
])
def test_meta_compose_files_declare_the_media_volume_everywhere(name, services):
    declarations = media_declarations((META / name).read_text(), name, MEDIA)
    assert {d.service: d.role for d in declarations} == services
    assert all(d.entry == "whatsappMedia:/usr/local/wamedia" and not d.read_only for d in declarations)


def test_compose_read_only_long_syntax_and_missing_entries():
    text = yaml.safe_dump({"services": {
        "waweb": {"image": "docker.whatsapp.biz/web:v2", "volumes": [
            {"type": "volume", "source": "whatsappMedia", "target": "/usr/local/wamedia/", "read_only": True}]},
        "wacore": {"image": "docker.whatsapp.biz/coreapp:v2", "volumes": ["logs:/var/log"]},
        "master": {"image": "docker.whatsapp.biz/coreapp:v2", "environment": ["WA_MASTER_NODE=1"],
                   "volumes": ["/srv/media:/usr/local/wamedia:ro,z"]},
        "db": {"image": "mysql:8", "volumes": ["data:/var/lib/mysql"]}}})
    found = {d.service: d for d in media_declarations(text, "c.yml", MEDIA)}
    assert set(found) == {"waweb", "wacore", "master"}
    assert found["waweb"].read_only and found["master"].read_only and found["master"].role == "master"
    assert found["wacore"].entry is None and found["wacore"].line > 0


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=300))
def test_compose_reader_raises_only_its_own_error_on_any_text(text):
    try:
        media_declarations(text, "c.yml", MEDIA)
    except ComposeFileError as exc:
        assert str(exc).startswith("c.yml")


YAML_VALUES = st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=20),
                           lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
                           max_leaves=20)


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.sampled_from(["services", "volumes", "version"]), YAML_VALUES, max_size=3))
def test_compose_reader_raises_only_its_own_error_on_any_structure(document):
    try:
        media_declarations(yaml.safe_dump(document), "c.yml", MEDIA)
    except ComposeFileError:
        pass


SERVICE = st.fixed_dictionaries({"image": st.sampled_from(["docker.whatsapp.biz/web:v1", "docker.whatsapp.biz/coreapp:v1", "x"])},
                                optional={"volumes": st.lists(YAML_VALUES | st.text(max_size=40), max_size=4),
                                          "environment": YAML_VALUES})


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.text(min_size=1, max_size=8), SERVICE, max_size=4))
def test_compose_reader_handles_any_service_shape(services):
    declarations = media_declarations(yaml.safe_dump({"services": services}), "c.yml", MEDIA)
    assert {d.service for d in declarations} <= set(services)
