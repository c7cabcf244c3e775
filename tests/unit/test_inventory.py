"""wa_compliance.inventory: static Ansible inventories (INI and YAML) read as Ansible reads them."""

from __future__ import annotations

import textwrap
from dataclasses import dataclass

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from wa_compliance.errors import UsageError
from wa_compliance.inventory import InventoryError, InventoryHost, parse_inventory, read_inventory, select

PROPS = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def parse(text: str) -> dict[str, InventoryHost]:
    return {host.name: host for host in parse_inventory(textwrap.dedent(text), "inv")}


def error(text: str) -> InventoryError:
    with pytest.raises(InventoryError) as caught:
        parse_inventory(textwrap.dedent(text), "inv")
    return caught.value


def host_vars(text: str) -> dict[str, dict]:
    return {name: host.vars for name, host in parse(text).items()}


def host_groups(text: str) -> dict[str, tuple[str, ...]]:
    return {name: host.groups for name, host in parse(text).items()}


# --- the error type -------------------------------------------------------------


def test_error_is_one_usage_line():
    exc = InventoryError("hosts.ini", 3, "expected key=value, got 'port'")
    assert isinstance(exc, UsageError)
    assert str(exc) == "hosts.ini:3: expected key=value, got 'port'"
    assert (exc.path, exc.line, exc.problem) == ("hosts.ini", 3, "expected key=value, got 'port'")
    assert str(InventoryError("hosts.yml", None, "no hosts")) == "hosts.yml: no hosts"


# --- INI ------------------------------------------------------------------------


def test_ini_sections_hosts_and_first_seen_order():
    hosts = parse_inventory("[web]\nweb2\nweb1\n[db]\ndb1\nweb2\n", "hosts.ini")
    assert [h.name for h in hosts] == ["web2", "web1", "db1"]
    assert hosts[0] == InventoryHost("web2", {}, ("all", "db", "web"))
    assert hosts[2] == InventoryHost("db1", {}, ("all", "db"))


def test_ini_hosts_before_any_section_are_ungrouped():
    assert host_groups("""\
        lonely
        both
        [web]
        both
        """) == {"lonely": ("all", "ungrouped"), "both": ("all", "web")}


def test_ini_comments_and_blank_lines():
    assert host_vars("""\
        # a comment
          ; another, indented

        [web]   # trailing comment on a header
        web1 a=1 # shlex drops the rest
        web2 b="x # y"
        """) == {"web1": {"a": 1}, "web2": {"b": "x # y"}}


def test_ini_unquoted_hash_ends_the_line_as_shlex_says():
    # Ansible splits host lines with shlex(comments=True): quote a value holding '#'.
    assert host_vars("h pw=abc#def\nh2 pw='abc#def'\n") == {"h": {"pw": "abc"}, "h2": {"pw": "abc#def"}}


@pytest.mark.parametrize(
    "written, value",
    [
        ("2222", 2222),
        ("-3", -3),
        ("1.5", 1.5),
        ("True", True),
        ("None", None),
        ("'x'", "x"),
        ("'2222'", "2222"),  # quoting keeps a number a string
        ("[1, 2]", [1, 2]),
        ("(1, 2)", [1, 2]),  # Ansible turns tuples and sets into lists
        ("{'a': (1,)}", {"a": [1]}),
        ("b'raw'", "raw"),
        ("yes", "yes"),  # not a Python literal: the text itself
        ("abc", "abc"),
        ("1 + ", "1 +"),
        ("{[1]: 2}", "{[1]: 2}"),  # literal_eval raises TypeError: still just text
        ("8080 # comment", 8080),  # literal_eval reads Python comments, so Ansible gets 8080
        ("", ""),
    ],
)
def test_ini_group_vars_are_typed_with_literal_eval(written, value):
    assert host_vars(f"[web]\nh\n[web:vars]\nv = {written}\n") == {"h": {"v": value}}


def test_ini_host_vars_are_typed_with_literal_eval():
    assert host_vars("""h port=22 name='x' quoted="'22'" list=[1,2] flag=False text=abc""") == {
        "h": {"port": 22, "name": "x", "quoted": "22", "list": [1, 2], "flag": False, "text": "abc"}
    }


def test_ini_vars_value_is_the_rest_of_the_line():
    assert host_vars("[g]\nh\n[g:vars]\na=b=c\nb =  two words \nc=\n") == {
        "h": {"a": "b=c", "b": "two words", "c": ""}
    }


def test_ini_children_nest_and_may_come_first():
    text = """\
        [site:children]
        front
        back
        [front:children]
        web
        [web]
        web1
        [back]
        db1
        [front]
        """
    assert host_groups(text) == {"web1": ("all", "front", "site", "web"), "db1": ("all", "back", "site")}


@pytest.mark.parametrize(
    "text, line, words",
    [
        ("[web]\nh1 port\n", 2, "expected key=value after the host name, got 'port'"),
        ("[web]\nh1 =1\n", 2, "empty name"),
        ("[web]\nh1 a='open\n", 2, "cannot split host line"),
        ("[web]\nh1\n[web:vars]\njust_a_word\n", 4, "expected key=value in [web:vars]"),
        ("[web]\nh1\n[web:vars]\n = 1\n", 4, "empty name"),
        ("[web:foo]\nh1\n", 1, "unknown suffix 'foo'"),
        ("[web]\nh1\n[we b]\n", 3, "invalid section header"),
        ("[web]\nh1\n[web:]\n", 3, "invalid section header"),
        ("[a:children]\nb c\n", 2, "expected a group name in [a:children]"),
        ("[a:children]\nb\n", 2, "[a:children] lists group 'b', which no [b] section declares"),
        ("[web]\nh1\n[db:vars]\nx=1\n", 3, "[db:vars] is for group 'db'"),
        ("[a]\nh\n[a:children]\na\n", 4, "group 'a' cannot be a child of itself"),
        ("[web]\n'web 1'\n", 2, "invalid host name 'web 1'"),
        ("[web]\n''\n", 2, "invalid host name ''"),
        ("[web]\nweb1:\n", 2, "':' is reserved for a port number"),
        ("[web]\nh\n[web:vars]\nansible_group_priority=high\n", 4, "must be an integer"),
    ],
)
def test_ini_errors_name_the_line(text, line, words):
    exc = error(text)
    assert exc.line == line and exc.path == "inv"
    assert words in exc.problem
    assert "\n" not in str(exc)


def test_ini_vars_of_a_group_declared_later_are_fine():
    assert host_vars("[web:vars]\nx=1\n[web]\nh\n") == {"h": {"x": 1}}


def test_children_cycles_are_errors_not_recursion():
    exc = error("[a:children]\nb\n[b:children]\na\n[a]\nh\n")
    assert exc.line == 4
    assert "groups contain each other: 'a' -> 'b' -> 'a'" in exc.problem
    longer = error("[a:children]\nb\n[b:children]\nc\n[c:children]\na\n[c]\nh\n")
    assert longer.line == 6 and "'a' -> 'b' -> 'c' -> 'a'" in longer.problem
    # 'all' is everyone's parent: listing it as a child closes a loop too.
    assert "groups contain each other" in error("[web]\nh\n[web:children]\nall\n").problem


def test_ini_all_vars_section_needs_no_declaration():
    assert host_vars("[all:vars]\nx=1\n[web]\nh\n") == {"h": {"x": 1}}


# --- YAML -----------------------------------------------------------------------


YAML_INVENTORY = """\
    all:
      hosts:
        bastion:
          ansible_host: 10.0.0.1
      vars:
        ntp: pool.ntp.org
        level: all
      children:
        web:
          hosts:
            web1:
            web2:
              ansible_port: 2222
          vars:
            level: web
        db:
          hosts: db1
    """


def test_yaml_inventory():
    hosts = parse_inventory(textwrap.dedent(YAML_INVENTORY), "hosts.yml")
    assert hosts == [
        InventoryHost("bastion", {"ntp": "pool.ntp.org", "level": "all", "ansible_host": "10.0.0.1"},
                      ("all", "ungrouped")),
        InventoryHost("web1", {"ntp": "pool.ntp.org", "level": "web"}, ("all", "web")),
        InventoryHost("web2", {"ntp": "pool.ntp.org", "level": "web", "ansible_port": 2222}, ("all", "web")),
        InventoryHost("db1", {"ntp": "pool.ntp.org", "level": "all"}, ("all", "db")),
    ]


def test_yaml_values_keep_yaml_types():
    text = "all:\n  hosts:\n    h:\n      a: '22'\n      b: 22\n      c: [1, x]\n      d: yes\n"
    assert host_vars(text) == {"h": {"a": "22", "b": 22, "c": [1, "x"], "d": True}}


def test_yaml_host_in_several_groups_merges_vars():
    text = """\
        web:
          hosts:
            h: {a: 1, b: 1}
        db:
          hosts:
            h: {b: 2, c: 2}
        """
    assert parse(text)["h"] == InventoryHost("h", {"a": 1, "b": 2, "c": 2}, ("all", "db", "web"))


def test_yaml_top_level_groups_and_nested_children():
    text = """\
        site:
          children:
            front:
              children:
                web:
                  hosts:
                    web1:
        web:
          hosts:
            web2:
        """
    everywhere = ("all", "front", "site", "web")
    assert host_groups(text) == {"web1": everywhere, "web2": everywhere}


def test_yaml_merge_keys_and_anchors():
    text = """\
        all:
          vars: &common
            a: 1
          children:
            web:
              vars:
                <<: *common
                b: 2
              hosts:
                h:
        """
    assert host_vars(text) == {"h": {"a": 1, "b": 2}}


def test_yaml_hosts_and_children_may_name_one_entry_bare():
    # Ansible's yaml plugin turns a string into {name: None} for hosts and children.
    assert host_groups("all:\n  children: web\n  hosts: h0\nweb:\n  hosts: h1\n") == {
        "h0": ("all", "ungrouped"), "h1": ("all", "web")
    }


def test_json_inventory_reads_as_yaml():
    assert host_vars('{"all": {"hosts": {"h": {"x": 1}}}}') == {"h": {"x": 1}}


@pytest.mark.parametrize(
    "text, line, words",
    [
        ("all:\n  hosts:\n    h:\n  childrn:\n    x:\n", 4,
         "group 'all': unknown key 'childrn' (expected hosts, vars or children)"),
        ("all:\n  hosts: [a, b]\n", 2, "hosts of group 'all' must be a mapping, got a list"),
        ("all:\n  vars: [a]\n  hosts: {h: }\n", 2, "vars of group 'all' must be a mapping"),
        ("all:\n  vars: x\n  hosts: {h: }\n", 2, "vars of group 'all' must be a mapping"),
        ("all:\n  hosts:\n    h: 5\n", 3, "variables of host 'h' must be a mapping"),
        ("all:\n  children:\n    web: [h]\n", 3, "group 'web' must be a mapping of hosts, vars and children"),
        ("all:\n  hosts:\n    1234:\n", 3, "names must be strings, got a number 1234"),
        ("all:\n  hosts:\n    'web 1':\n", 3, "invalid host name 'web 1'"),
        ("all:\n  hosts:\n    '':\n", 3, "invalid host name ''"),
        ("all:\n  hosts:\n    h: {1: x}\n", 3, "variable name must be a string"),
        ("all:\n  hosts:\n    h:\n      d: 2020-13-01\n", 4, "invalid value: month must be in 1..12"),
        ("all:\n  hosts:\n    h:\n      p: !vault |\n        $ANSIBLE_VAULT;1.1;AES256\n", 4,
         "vault-encrypted values are not supported"),
        ("all: &a\n  children:\n    x: *a\n", 3, "group 'x' contains itself through a YAML alias"),
        ("all:\n  children:\n    all:\n", 3, "group 'all' cannot be a child of itself"),
        ("plugin: amazon.aws.aws_ec2\nregions: [eu-west-1]\n", 1, "inventory plugin configuration"),
    ],
)
def test_yaml_errors_name_the_line(text, line, words):
    exc = error(text)
    assert (exc.path, exc.line) == ("inv", line)
    assert words in exc.problem
    assert "\n" not in str(exc)


def test_yaml_children_cycle():
    text = """\
        all:
          children:
            a:
              children:
                b:
                  hosts:
                    h:
                  children:
                    a:
        """
    exc = error(text)
    assert exc.line == 9 and "groups contain each other: 'a' -> 'b' -> 'a'" in exc.problem


def test_broken_yaml_is_reported_as_yaml_not_as_odd_ini_hosts():
    # INI would read "all:" as a host; the YAML error is what the author needs.
    exc = error("all:\n  hosts:\n    web1:\n   web2:\n")
    assert exc.line == 4 and exc.problem.startswith("invalid YAML:")
    assert error("---\nall: [\n").problem.startswith("invalid YAML:")


# --- the examples of Ansible's own plugin documentation ---------------------------------


def test_the_ini_plugin_documentation_example():
    text = """\
        [web]
        host1
        host2 ansible_port=222 # defined inline, interpreted as an integer

        [web:vars]
        http_port=8080 # all members of 'web' will inherit these

        [web:children] # child groups will automatically add their hosts to parent group
        apache
        nginx

        [apache]
        tomcat1
        tomcat2 myvar=34 # host specific vars override group vars
        tomcat3 mysecret="'03#pa33w0rd'" # proper quoting to prevent value changes

        [nginx]
        jenkins1

        [nginx:vars]
        has_java = True # vars in child groups override same in parent

        [all:vars]
        has_java = False # 'all' is 'top' parent
        """
    hosts = parse(text)
    assert list(hosts) == ["host1", "host2", "tomcat1", "tomcat2", "tomcat3", "jenkins1"]
    assert hosts["host2"].vars == {"has_java": False, "http_port": 8080, "ansible_port": 222}
    assert hosts["tomcat2"].vars == {"has_java": False, "http_port": 8080, "myvar": 34}
    assert hosts["tomcat3"].vars["mysecret"] == "03#pa33w0rd"
    assert hosts["jenkins1"].vars == {"has_java": True, "http_port": 8080}
    assert hosts["jenkins1"].groups == ("all", "nginx", "web")


def test_the_yaml_plugin_documentation_example():
    text = """\
        all: # keys must be unique, i.e. only one 'hosts' per group
            hosts:
                test1:
                test2:
                    host_var: value
            vars:
                group_all_var: value
            children:   # key order does not matter, indentation does
                other_group:
                    children:
                        group_x:
                            hosts:
                                test5   # Note that one machine will work without a colon
                        group_y:
                            hosts:
                                test6:  # So always use a colon
                    vars:
                        g2_var2: value3
                    hosts:
                        test4:
                            ansible_host: 127.0.0.1
                last_group:
                    hosts:
                        test1 # same host as above, additional group membership
                    vars:
                        group_last_var: value
        """
    assert [(h.name, h.groups, h.vars) for h in parse_inventory(textwrap.dedent(text), "inv")] == [
        ("test1", ("all", "last_group"), {"group_all_var": "value", "group_last_var": "value"}),
        ("test2", ("all", "ungrouped"), {"group_all_var": "value", "host_var": "value"}),
        ("test5", ("all", "group_x", "other_group"), {"group_all_var": "value", "g2_var2": "value3"}),
        ("test6", ("all", "group_y", "other_group"), {"group_all_var": "value", "g2_var2": "value3"}),
        ("test4", ("all", "other_group"),
         {"group_all_var": "value", "g2_var2": "value3", "ansible_host": "127.0.0.1"}),
    ]


# --- format detection -------------------------------------------------------------


def test_ini_that_parses_as_a_yaml_list_or_string_stays_ini():
    assert yaml.safe_load("[web]\n") == ["web"]
    with pytest.raises(InventoryError, match="inventory has no hosts"):
        parse_inventory("[web]\n", "inv")
    assert isinstance(yaml.safe_load("web1\nweb2 a=1\n"), str)
    assert host_vars("web1\nweb2 a=1\n") == {"web1": {}, "web2": {"a": 1}}


@pytest.mark.parametrize(
    "text", ["", "\n\n", "# nothing\n", "---\n", "{}", "all:\n", "[web]\n[db:children]\nweb\n"]
)
def test_no_hosts_is_an_error(text):
    exc = error(text)
    assert exc.problem == "inventory has no hosts" and exc.line is None


def test_leading_bom_is_ignored():
    assert host_vars("\ufeff[web]\nh\n") == {"h": {}}
    assert host_vars("\ufeffall:\n  hosts:\n    h:\n") == {"h": {}}


# --- host ranges and ports ----------------------------------------------------------


@pytest.mark.parametrize(
    "pattern, names",
    [
        ("web[01:03].example.com", ["web01.example.com", "web02.example.com", "web03.example.com"]),
        ("web[1:3]", ["web1", "web2", "web3"]),
        ("web[8:10]", ["web8", "web9", "web10"]),  # no leading zero: no padding
        ("db-[a:c]", ["db-a", "db-b", "db-c"]),
        ("n[1:10:4]", ["n1", "n5", "n9"]),
        ("n[:2]", ["n0", "n1", "n2"]),  # as Ansible: an empty start is 0
        ("r[1:2]-[a:b]", ["r1-a", "r1-b", "r2-a", "r2-b"]),
        ("[1:2].example.com", ["1.example.com", "2.example.com"]),
        ("x[y:B]", ["xy", "xz", "xA", "xB"]),  # Ansible's letter order: a-z then A-Z
    ],
)
def test_host_ranges_in_both_formats(pattern, names):
    assert list(parse(f"[g]\n{pattern}\n")) == names
    assert list(parse(f"g:\n  hosts:\n    '{pattern}':\n")) == names


@pytest.mark.parametrize(
    "pattern, words",
    [
        ("web[3:1]", "starts after its end"),
        ("web[c:a]", "starts after its end"),
        ("web[a:3]", "both numbers or both single letters"),
        ("web[aa:bb]", "both numbers or both single letters"),
        ("web[1:3:0]", "stride must be a positive integer"),
        ("web[1:3:x]", "stride must be a positive integer"),
        ("web[01:100]", "same width"),
        ("web[1:3", "no closing ']'"),
        ("web[1]", "must be [start:end] or [start:end:stride]"),
        ("web[1:2:3:4]", "must be [start:end] or [start:end:stride]"),
        ("web[1:]", "has no end"),
        ("web[0:99999999]", "gives more than 100000 hosts"),
    ],
)
def test_malformed_ranges_name_the_line(pattern, words):
    ini = error(f"[g]\nok\n{pattern}\n")
    assert ini.line == 3 and words in ini.problem and repr(pattern) in ini.problem
    yml = error(f"g:\n  hosts:\n    ok:\n    '{pattern}':\n")
    assert yml.line == 4 and words in yml.problem


def test_host_port_sets_ansible_port():
    text = """\
        [web]
        web[1:2]:2222
        db:5432 ansible_port=5433
        [2001:db8::1]:22
        fe80::1
        """
    assert host_vars(text) == {
        "web1": {"ansible_port": 2222},
        "web2": {"ansible_port": 2222},
        "db": {"ansible_port": 5433},  # an explicit variable on the same line wins
        "2001:db8::1": {"ansible_port": 22},
        "fe80::1": {},
    }
    assert host_vars("all:\n  hosts:\n    web1:2222:\n") == {"web1": {"ansible_port": 2222}}


# --- variable precedence ------------------------------------------------------------


def test_precedence_all_parent_child_host():
    text = """\
        [all:vars]
        v=all
        a=all
        [parent:children]
        child
        [parent:vars]
        v=parent
        p=parent
        [child:vars]
        v=child
        [child]
        h1
        h2 v=host
        """
    assert host_vars(text) == {
        "h1": {"v": "child", "a": "all", "p": "parent"},
        "h2": {"v": "host", "a": "all", "p": "parent"},
    }


def test_precedence_same_depth_later_name_wins():
    # Ansible sorts groups by depth, then name: 'beta' is applied after 'alpha'.
    text = """\
        [beta]
        h
        [alpha]
        h
        [beta:vars]
        v=beta
        [alpha:vars]
        v=alpha
        """
    assert host_vars(text) == {"h": {"v": "beta"}}
    yaml_text = "beta:\n  hosts: {h: }\n  vars: {v: beta}\nalpha:\n  hosts: {h: }\n  vars: {v: alpha}\n"
    assert host_vars(yaml_text) == {"h": {"v": "beta"}}


def test_precedence_depth_beats_name():
    # 'a' is a child of 'z': deeper, so it wins although its name sorts first.
    text = "[z:children]\na\n[a]\nh\n[z]\nh\n[a:vars]\nv=a\n[z:vars]\nv=z\n"
    assert host_vars(text) == {"h": {"v": "a"}}


def test_ansible_group_priority_orders_groups_of_the_same_depth():
    text = "[alpha]\nh\n[beta]\nh\n[alpha:vars]\nv=alpha\nansible_group_priority=10\n[beta:vars]\nv=beta\n"
    assert host_vars(text) == {"h": {"v": "alpha"}}  # and it is no variable itself


def test_host_vars_later_occurrence_wins_key_by_key():
    text = "[a]\nh x=1 y=1\n[b]\nh y=2 z=2\n"
    assert host_vars(text) == {"h": {"x": 1, "y": 2, "z": 2}}


def test_depth_is_the_longest_path_from_all():
    # 'deep' is both a child of 'all' (top level) and of 'mid': its depth is 2, above mid's 1.
    text = """\
        all:
          children:
            mid:
              vars: {v: mid}
              children:
                deep:
            deep:
              hosts: {h: }
              vars: {v: deep}
        """
    assert host_vars(text) == {"h": {"v": "deep"}}


# --- reading files ------------------------------------------------------------------------


def test_read_inventory(tmp_path):
    path = tmp_path / "hosts"
    path.write_bytes(b"\xef\xbb\xbf# caf\xe9 in Latin-1, in a comment: Ansible forgives it\n[web]\nh a=1\n")
    assert read_inventory(path) == [InventoryHost("h", {"a": 1}, ("all", "web"))]
    assert read_inventory(str(path))[0].name == "h"


def test_read_inventory_errors(tmp_path):
    with pytest.raises(InventoryError) as missing:
        read_inventory(tmp_path / "nope.ini")
    assert str(missing.value) == f"{tmp_path / 'nope.ini'}: cannot read: No such file or directory"
    with pytest.raises(InventoryError, match="cannot read: Is a directory"):
        read_inventory(tmp_path)
    bad = tmp_path / "bad.ini"
    bad.write_bytes(b"[web]\nh a=caf\xe9\n")
    with pytest.raises(InventoryError) as not_utf8:
        read_inventory(bad)
    assert (not_utf8.value.line, not_utf8.value.problem) == (2, "not UTF-8 text (byte 0xe9)")


# --- select (--limit) ------------------------------------------------------------------------


HOSTS = parse_inventory("[web]\nweb1\nweb2\n[db]\ndb1\n[backup:children]\ndb\n[backup]\nnas\n", "inv")


@pytest.mark.parametrize(
    "limit, names",
    [
        (None, ["web1", "web2", "db1", "nas"]),
        ("", ["web1", "web2", "db1", "nas"]),
        ("all", ["web1", "web2", "db1", "nas"]),
        ("web1", ["web1"]),
        ("db", ["db1"]),
        ("backup", ["db1", "nas"]),
        ("web*", ["web1", "web2"]),
        ("web?,nas", ["web1", "web2", "nas"]),
        ("web:db", ["web1", "web2", "db1"]),
        ("all,!db", ["web1", "web2", "nas"]),
        ("!web*", ["db1", "nas"]),  # only exclusions: from all hosts
        ("backup:&db", ["db1"]),
        ("nas , web2", ["web2", "nas"]),  # the inventory's order, not the limit's
        ("nothing", []),
        ("!all", []),
        (",", []),
    ],
)
def test_select(limit, names):
    assert [h.name for h in select(HOSTS, limit)] == names


# --- properties ----------------------------------------------------------------------------------

FRAGMENTS = [
    "all:", "  hosts:", "    h1:", "    web[1:3]:", "    'a b':", "      a: 1", "  vars:", "    x: [1, 2]",
    "  children:", "  children: g", "    g:", "      hosts: h2", "      children:", "        all:",
    "  - item", "&a {}", "*a", "<<: *a", "!vault x", "{", "}", "---", "[web]", "[web:vars]",
    "[web:children]", "[db]", "h ansible_port=22", "h:22", "web[01:03] x='y'", "x=1", "db", "a=(1,",
    "# c", "; c", "h a='", "[g:x]", "h[1:0]", "\t", "",
]
INVENTORY_ISH = st.lists(st.sampled_from(FRAGMENTS), max_size=12).map("\n".join)
PUNCTUATED = st.text(alphabet="[]:=#;'\"{}-&*!<> \n\tabh01\\", max_size=80)


def only_inventory_error(text):
    try:
        hosts = parse_inventory(text, "inv")
    except InventoryError as exc:
        assert "internal error" not in exc.problem  # the safety net must never be what catches it
        assert str(exc).startswith("inv") and "\n" not in str(exc)
        return
    assert hosts and all(isinstance(h, InventoryHost) and "all" in h.groups for h in hosts)


@PROPS
@given(st.one_of(st.text(max_size=200), INVENTORY_ISH, PUNCTUATED))
def test_any_text_gives_hosts_or_inventory_error(text):
    only_inventory_error(text)


@PROPS
@given(st.one_of(st.binary(max_size=200), INVENTORY_ISH.map(lambda t: t.encode() + b"\xff\xfe")))
def test_any_bytes_give_hosts_or_inventory_error(data):
    only_inventory_error(data.decode("utf-8", errors="replace"))


# Small pools of names (drawing from regexes would triple the run time).
GROUP = st.sampled_from(["web", "db", "app2", "eu", "prod", "x", "backup", "vars", "hosts", "children"])
HOST = st.builds("".join, st.tuples(
    st.sampled_from(["web1", "db-2", "a", "n01", "true", "null", "10.0.0.1", "h-x"]),
    st.sampled_from(["", ".example.com", "9"]),
))
VAR = st.sampled_from(["a", "port", "x1", "name", "no", "on"])
VALUE = st.one_of(st.integers(-10**6, 10**6), st.text(alphabet="abcXYZ019 -_./", max_size=10))
VARS = st.dictionaries(VAR, VALUE, max_size=3)


@dataclass
class Model:
    groups: list[str]
    children: dict[str, list[str]]  # only to groups later in the list: no cycles
    members: dict[str, list[str]]  # host -> groups listing it; [] means ungrouped
    group_vars: dict[str, dict]  # keys "<group>_<var>": unique, so precedence plays no part
    all_vars: dict
    host_vars: dict[str, dict]  # may repeat an all-group key: the host must win

    def expected(self) -> dict[str, tuple[tuple[str, ...], dict]]:
        parents = {g: [p for p in self.groups if g in self.children[p]] for g in self.groups}

        def with_ancestors(group):
            return {group}.union(*(with_ancestors(p) for p in parents[group]))

        result = {}
        for host, direct in self.members.items():
            groups = {"all"}.union(*(with_ancestors(g) for g in direct))
            if groups == {"all"}:
                groups.add("ungrouped")
            merged = dict(self.all_vars)
            for group in groups - {"all", "ungrouped"}:
                merged.update(self.group_vars[group])
            merged.update(self.host_vars[host])
            result[host] = (tuple(sorted(groups)), merged)
        return result


@st.composite
def models(draw) -> Model:
    groups = draw(st.lists(GROUP, unique=True, max_size=5))
    hosts = draw(st.lists(HOST, unique=True, min_size=1, max_size=6))
    children = {g: [c for c in groups[i + 1:] if draw(st.booleans())] for i, g in enumerate(groups)}
    members = {h: draw(st.lists(st.sampled_from(groups), unique=True)) if groups else [] for h in hosts}
    group_vars = {g: {f"{g}_{k}": v for k, v in draw(VARS).items()} for g in groups}
    return Model(groups, children, members, group_vars, draw(VARS), {h: draw(VARS) for h in hosts})


def ini_literal(value) -> str:
    return repr(value)  # ints as digits, strings quoted: literal_eval gives them back


def render_ini(model: Model) -> str:
    def host_line(host, with_vars):
        pairs = model.host_vars[host].items() if with_vars else ()
        # double quotes keep the single quotes of repr() through shlex
        return " ".join([host, *(f'{k}="{ini_literal(v)}"' for k, v in pairs)])

    lines = [host_line(h, True) for h, groups in model.members.items() if not groups]
    for group in model.groups:
        lines.append(f"[{group}]")
        lines += [host_line(h, groups[0] == group) for h, groups in model.members.items() if group in groups]
        lines.append(f"[{group}:vars]")
        lines += [f"{k} = {ini_literal(v)}" for k, v in model.group_vars[group].items()]
        lines.append(f"[{group}:children]")
        lines += model.children[group]
    lines.append("[all:vars]")
    lines += [f"{k}={ini_literal(v)}" for k, v in model.all_vars.items()]
    return "\n".join(lines) + "\n"


def render_yaml(model: Model) -> str:
    def hosts_of(group):  # None: the hosts in no group, listed under all
        listed = {}
        for host, groups in model.members.items():
            if (group in groups) if group else not groups:
                first = groups[0] if groups else None
                listed[host] = (model.host_vars[host] or None) if first == group else None
        return listed

    children = {
        g: {"hosts": hosts_of(g), "vars": model.group_vars[g], "children": dict.fromkeys(model.children[g])}
        for g in model.groups
    }
    document = {"all": {"vars": model.all_vars, "hosts": hosts_of(None), "children": children}}
    return yaml.safe_dump(document, sort_keys=False)


def as_found(hosts: list[InventoryHost]) -> dict[str, tuple[tuple[str, ...], dict]]:
    return {h.name: (h.groups, h.vars) for h in hosts}


@PROPS
@given(models())
def test_round_trip_through_ini_and_yaml(model):
    expected = model.expected()
    from_ini = parse_inventory(render_ini(model), "hosts.ini")
    from_yaml = parse_inventory(render_yaml(model), "hosts.yml")
    assert as_found(from_ini) == expected
    assert as_found(from_yaml) == expected
    assert {h.name for h in from_ini} == set(model.members)


@PROPS
@given(st.integers(0, 500), st.integers(0, 120), st.integers(1, 7), st.booleans())
def test_numeric_range_expansion(first, span, stride, padded):
    last = first + span
    width = len(str(last)) + 1 if padded else 0  # one more digit: the start begins with a zero
    start, end = str(first).zfill(width), str(last).zfill(width)
    expected = [f"web{str(n).zfill(width)}.lan" for n in range(first, last + 1, stride)]
    pattern = f"web[{start}:{end}:{stride}].lan"
    for text in (f"[g]\n{pattern}\n", f"g:\n  hosts:\n    {pattern}:\n"):
        names = [h.name for h in parse_inventory(text, "inv")]
        assert names == expected
        assert len(names) == (last - first) // stride + 1
    plain = parse_inventory(f"[g]\nweb[{start}:{end}]\n", "inv")
    assert len(plain) == last - first + 1


@PROPS
@given(st.lists(st.sampled_from(["web*", "db", "!web1", "&backup", "nas", "!db*", "x?"]), max_size=4))
def test_select_is_a_subset_honouring_exclusions(patterns):
    chosen = select(HOSTS, ",".join(patterns))
    assert [h for h in HOSTS if h in chosen] == chosen
    for pattern in patterns:
        if pattern.startswith("!"):
            assert not any(h.name.startswith(pattern[1:].rstrip("*")) for h in chosen)
