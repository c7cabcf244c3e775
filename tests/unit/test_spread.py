"""Deployments spread over several hosts: the profile's `hosts:`, the inventory's
`wa_compliance_deployment`, and the rules that compare hosts (ENV-012, VOL-003)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from wa_compliance.errors import ProfileError
from wa_compliance.facts.media import MediaMount, parse_mounts
from wa_compliance.facts.spread import SpreadDeploymentFacts
from wa_compliance.inventory_hosts import inventory_profiles
from wa_compliance.profile import load_profile
from wa_compliance.rules.env import host_disagreements
from wa_compliance.rules.volumes import host_of, storage_of

VOLUME = MediaMount("volume", "whatsapp_whatsappMedia", True, "local")


def write(tmp_path, text, name="p.yaml"):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_hosts_get_their_names_targets_and_overrides(tmp_path):
    profile = load_profile(write(tmp_path, """\
hosts:
  - target: ssh://ops@wa-a.example.com
  - target: ssh://ops@10.0.0.12:2222
    deployment: {db_env: /etc/wa/db.env}
  - target: ssh://ops@wa-c
    name: third
    docker_host: unix:///run/other.sock
deployment: {compose_project: whatsapp}
"""))
    hosts = profile.host_profiles()
    assert list(hosts) == ["wa-a", "10.0.0.12", "third"]
    assert hosts["10.0.0.12"].deployment.db_env == "/etc/wa/db.env"
    assert hosts["wa-a"].deployment.db_env == "/opt/whatsapp/db.env"
    assert {h.deployment.compose_project for h in hosts.values()} == {"whatsapp"}
    assert hosts["third"].docker_host == "unix:///run/other.sock" and hosts["wa-a"].docker_host is None
    assert all(not h.hosts for h in hosts.values())


def test_a_profile_without_hosts_is_one_unnamed_host():
    profile = load_profile("profiles/lab.yaml")
    assert list(profile.host_profiles()) == [""] and profile.host_profiles()[""] is profile


@pytest.mark.parametrize("text, problem", [
    ("target: local\nhosts:\n  - target: ssh://a\n", "1: target and hosts are exclusive"),
    ("hosts:\n  - target: ssh://a.x\n  - target: ssh://a.y\n", "3: hosts[1] is named 'a' like hosts[0]"),
    ("hosts:\n  - target: sh://a\n", "2: hosts[0].target must be 'local' or 'ssh://"),
    ("hosts:\n  - name: a\n", "hosts[0] is missing 'target'"),
    ("hosts:\n  - target: ssh://a\n    deployment: {db_env: relative}\n", "hosts[0].deployment.db_env must be an absolute path"),
    ("hosts:\n  - target: ssh://a\n    name: 'a b'\n", "hosts[0].name must be letters"),
])
def test_hosts_mistakes_are_one_line_naming_the_place(tmp_path, text, problem):
    with pytest.raises(ProfileError) as raised:
        load_profile(write(tmp_path, text))
    assert problem in str(raised.value)


def test_inventory_hosts_of_one_deployment_become_one_profile(tmp_path):
    inventory = write(tmp_path, """\
[wa]
wa-a ansible_host=10.0.0.11 wa_compliance_deployment=prod-mc
solo ansible_host=10.0.0.1
wa-b ansible_host=10.0.0.12 ansible_user=ops wa_compliance_deployment=prod-mc
""", "fleet.ini")
    profiles = [profile for profile, _ in inventory_profiles(str(inventory), str(tmp_path))]
    assert [p.name for p in profiles] == ["prod-mc", "solo"]
    assert [(h.name, h.target) for h in profiles[0].hosts] == [
        ("wa-a", "ssh://10.0.0.11"), ("wa-b", "ssh://ops@10.0.0.12")]
    assert profiles[1].target == "ssh://10.0.0.1" and not profiles[1].hosts


def test_each_inventory_host_of_one_deployment_keeps_its_own_ssh_options(tmp_path):
    inventory = write(tmp_path, """\
[wa]
wa-a ansible_host=10.0.0.11 ansible_ssh_private_key_file=/keys/a wa_compliance_deployment=prod-mc
wa-b ansible_host=10.0.0.12 ansible_become=true ansible_ssh_common_args='-J bastion' wa_compliance_deployment=prod-mc
""", "fleet.ini")
    [(profile, options)] = inventory_profiles(str(inventory), str(tmp_path))
    a, b = options.for_host("wa-a"), options.for_host("wa-b")
    assert (a.identity_file, a.become, a.extra_args) == ("/keys/a", None, ())
    assert (b.identity_file, b.become, b.extra_args) == (None, "root", ("-J", "bastion"))
    facts = SpreadDeploymentFacts(profile, ssh_options=options)
    assert [(h.label, h.ssh_options.identity_file, h.ssh_options.become) for h in facts.hosts] == [
        ("wa-a", "/keys/a", None), ("wa-b", None, "root")]


def test_hosts_that_disagree_are_named_and_the_password_never_shown():
    problems = host_disagreements({
        "wa-a": {"WA_DB_HOSTNAME": "db", "WA_DB_PASSWORD": "s3cret-one"},
        "wa-b": {"WA_DB_HOSTNAME": "db-old", "WA_DB_PASSWORD": "s3cret-two"},
        "wa-c": {"WA_DB_HOSTNAME": "db", "WA_DB_PASSWORD": "s3cret-one", "WA_DB_PORT": "3306"}})
    assert problems == ["WA_DB_HOSTNAME: 'db' on wa-a, wa-c, 'db-old' on wa-b",
                        "WA_DB_PASSWORD differs: wa-a, wa-c's is not wa-b's",
                        "WA_DB_PORT: unset on wa-a, wa-b, '3306' on wa-c"]
    assert host_disagreements({"wa-a": {"WA_DB_PORT": "1"}, "wa-b": {"WA_DB_PORT": "1"}}) == []


@given(st.dictionaries(st.sampled_from(["wa-a", "wa-b", "wa-c"]), st.fixed_dictionaries(
    {"WA_DB_PASSWORD": st.text(min_size=1).map(lambda text: "pw-" + text)}), min_size=1))
def test_no_password_appears_in_what_env_012_says(values):
    said = " ".join(host_disagreements(values))
    assert "pw-" not in said


def test_a_local_volume_on_each_host_is_storage_of_that_host_only():
    assert storage_of(VOLUME, {}, "wa-b") == "volume whatsapp_whatsappMedia on wa-b"
    assert host_of("volume whatsapp_whatsappMedia on wa-b") == "wa-b"
    assert storage_of(VOLUME, {}) == "volume whatsapp_whatsappMedia"       # one host: as before


def test_a_bind_path_on_a_network_mount_is_the_export_whichever_host_mounts_it():
    mounts = [("/dev/sda1", "/", "ext4"), ("root@10.0.0.9:/srv/media", "/mnt/wamedia", "fuse.sshfs"),
              ("10.0.0.8:/exports/wa", "/mnt/nfs", "nfs4")]
    bind = MediaMount("bind", "/mnt/wamedia", True)
    assert storage_of(bind, None, "wa-a", mounts) == storage_of(bind, None, "wa-b", mounts) \
        == "fuse.sshfs 10.0.0.9:/srv/media"
    assert storage_of(MediaMount("bind", "/mnt/nfs/media/", True), None, "wa-a", mounts) == "nfs4 10.0.0.8:/exports/wa/media/"
    assert storage_of(MediaMount("bind", "/srv/media", True), None, "wa-a", mounts) == "bind /srv/media on wa-a"
    assert host_of("fuse.sshfs 10.0.0.9:/srv/media") is None


def test_a_local_volume_with_o_bind_is_judged_by_its_device_path():
    options = {"type": "none", "o": "bind", "device": "/mnt/wamedia"}
    mounts = [("root@10.0.0.9:/srv/media", "/mnt/wamedia", "fuse.sshfs")]
    assert storage_of(VOLUME, options, "wa-a", mounts) == "fuse.sshfs 10.0.0.9:/srv/media"
    assert storage_of(VOLUME, options, "wa-a", []) == "bind /mnt/wamedia on wa-a"


@given(st.lists(st.tuples(*[st.text(alphabet=st.characters(blacklist_categories=("Cs",)), min_size=1)] * 3),
                max_size=5))
def test_the_mount_table_reader_decodes_what_the_kernel_escapes(rows):
    def escape(text):
        return "".join(f"\\{ord(c):03o}" if c in " \t\n\\" else c for c in text)
    text = "".join(" ".join(escape(field) for field in row) + " rw 0 0\n" for row in rows)
    assert parse_mounts(text) == [tuple(row) for row in rows]


def test_all_means_the_users_deployments_not_the_labs(tmp_path):
    from wa_compliance.profile import NOT_IN_ALL, available_profiles, fleet_profiles
    (tmp_path / "prod1.yaml").write_text("target: local\n")
    (tmp_path / "lab.yaml").write_text(f"{NOT_IN_ALL} (the lab's)\ntarget: local\n")
    assert available_profiles(tmp_path) == ["lab", "prod1"]
    assert fleet_profiles(tmp_path) == ["prod1"]
