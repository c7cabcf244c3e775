"""Running as another account: `ansible_become` read as Ansible reads it, testinfra's --sudo, and
the relay that reaches the Docker engine through a program (transport/relay.py)."""

from __future__ import annotations

import socket
import sys
from types import SimpleNamespace

import pytest
from hypothesis import given
from hypothesis import strategies as st

from wa_compliance.errors import UsageError
from wa_compliance.inventory import InventoryHost
from wa_compliance.inventory_hosts import _become, _boolean
from wa_compliance.plugin import _become as sudo_option
from wa_compliance.transport.children import telling_line
from wa_compliance.transport.relay import CommandRelay


def host(**variables) -> InventoryHost:
    return InventoryHost("wa1", variables, ("all",))


@pytest.mark.parametrize("variables, otherwise, account", [
    ({}, None, None),
    ({}, "root", "root"),                                     # --sudo applies where the host says nothing
    ({"ansible_become": True}, None, "root"),
    ({"ansible_become": "yes", "ansible_become_user": "wa"}, None, "wa"),
    ({"ansible_become": "True", "ansible_become_method": "sudo"}, None, "root"),
    ({"ansible_become": "no"}, "root", None),                 # the host's own variable wins, as in Ansible
    ({"ansible_become": 0}, "root", None),
    ({"ansible_become": False, "ansible_become_method": "su"}, None, None),   # not becoming: no method needed
])
def test_become_as_ansible_reads_it(variables, otherwise, account):
    assert _become(host(**variables), "hosts.ini", otherwise) == account


@pytest.mark.parametrize("variables, said", [
    ({"ansible_become": True, "ansible_become_method": "su"},
     "hosts.ini: host wa1: ansible_become_method=su cannot be used (the audit becomes through sudo only)"),
    ({"ansible_become": "maybe"}, "hosts.ini: host wa1: ansible_become='maybe' is not a boolean (true or false)"),
    ({"ansible_become": True, "ansible_become_user": ["root"]},
     "hosts.ini: host wa1: ansible_become_user must name an account"),
])
def test_become_that_cannot_be_honoured_is_one_line(variables, said):
    with pytest.raises(UsageError) as caught:
        _become(host(**variables), "hosts.ini", None)
    assert str(caught.value) == said


@given(st.one_of(st.text(max_size=12), st.integers(-3, 3), st.booleans(), st.none()))
def test_boolean_is_ansibles_or_one_usage_line(value):
    words = {"y", "yes", "on", "1", "true", "t", "n", "no", "off", "0", "false", "f"}
    try:
        answer = _boolean(value, "ansible_become")
    except UsageError as exc:
        assert "\n" not in str(exc) and str(exc).startswith("ansible_become=")
        assert not isinstance(value, bool) and str(value).strip().lower() not in words
    else:
        assert answer == (str(value).strip().lower() in {"y", "yes", "on", "1", "true", "t"})


@pytest.mark.parametrize("sudo, user, account", [(False, None, None), (True, None, "root"),
                                                 (True, "wa", "wa"), (False, "wa", "wa")])
def test_testinfra_sudo_and_sudo_user(sudo, user, account):
    config = SimpleNamespace(option=SimpleNamespace(sudo=sudo, sudo_user=user))
    assert sudo_option(config) == account


def talk(relay: CommandRelay, data: bytes) -> bytes:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as connection:
        connection.connect(relay.path)
        connection.sendall(data)
        connection.shutdown(socket.SHUT_WR)
        answer = b""
        try:
            while chunk := connection.recv(65536):
                answer += chunk
        except ConnectionResetError:      # the program ended without reading what was sent
            pass
    return answer


def test_each_connection_to_the_relay_is_one_run_of_its_program():
    relay = CommandRelay([sys.executable, "-c", "import sys; sys.stdout.buffer.write(sys.stdin.buffer.read()[::-1])"])
    try:
        big = bytes(range(256)) * 2000                          # more than a pipe holds
        assert talk(relay, big) == big[::-1]
        assert talk(relay, b"abc") == b"cba"
        assert relay.failure is None
    finally:
        relay.close()


def test_a_relay_program_that_fails_is_said_in_its_own_words():
    relay = CommandRelay(["sh", "-c", "echo 'sudo: a password is required' >&2; exit 1"])
    try:
        assert talk(relay, b"GET /version HTTP/1.1\r\n\r\n") == b""
        assert relay.failure == "sudo: a password is required"
    finally:
        relay.close()
    chatty = CommandRelay(["sh", "-c", "head -c 1000000 /dev/zero | tr '\\0' x >&2; echo >&2; echo 'last words' >&2; exit 2"])
    try:
        assert talk(chatty, b"") == b""                       # more than a pipe holds: no deadlock
        assert chatty.failure == "last words"
    finally:
        chatty.close()
    missing = CommandRelay(["/nonexistent/docker"])
    try:
        assert talk(missing, b"x") == b""
        assert missing.failure.startswith("cannot run /nonexistent/docker: ")
    finally:
        missing.close()


@pytest.mark.parametrize("stderr, line", [
    ("sudo: a password is required\n", "sudo: a password is required"),
    ("sudo: unknown user x\nsudo: error initializing audit plugin sudoers_audit\n", "sudo: unknown user x"),
    ("sudo: unable to resolve host wa-b: Name or service not known\npermission denied while trying to connect\n",
     "permission denied while trying to connect"),
    ("", None),
])
def test_the_line_that_says_why(stderr, line):
    assert telling_line(stderr) == line
