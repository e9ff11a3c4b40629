"""The SSRF guard's decisions: address classes, the exact allow-list, the refusal message."""

from __future__ import annotations

import shutil
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from monitor.config import FetchSettings, load_config
from monitor.errors import ConfigError
from tests.support import ROOT
from workers.guard import (
    AllowList,
    classify_address,
    display_address,
    is_allowed,
    parse_allow_entry,
    refusal,
)

CLASSES = {
    "loopback",
    "private",
    "link-local",
    "multicast",
    "reserved",
    "unspecified",
    "shared",
    "unique-local",
    "site-local",
}
NOTHING = AllowList()
addresses = st.ip_addresses()
ports = st.integers(min_value=1, max_value=65535)
blocked_v4 = st.ip_addresses(v=4).filter(lambda ip: classify_address(ip) is not None)


@pytest.mark.parametrize(
    ("address", "expected"),
    [
        ("127.0.0.1", "loopback"),
        ("127.255.0.9", "loopback"),
        ("10.0.0.1", "private"),
        ("172.16.5.4", "private"),
        ("192.168.1.1", "private"),
        ("100.64.0.1", "shared"),
        ("169.254.169.254", "link-local"),
        ("224.0.0.251", "multicast"),
        ("240.0.0.1", "reserved"),
        ("255.255.255.255", "reserved"),
        ("192.0.2.10", "reserved"),
        ("0.0.0.0", "unspecified"),
        ("::", "unspecified"),
        ("::1", "loopback"),
        ("fe80::1", "link-local"),
        ("fd00::1", "unique-local"),
        ("fc00::1", "unique-local"),
        ("fec0::1", "site-local"),
        ("ff02::1", "multicast"),
        ("2001:db8::1", "reserved"),
        ("::ffff:127.0.0.1", "loopback"),
        ("::ffff:169.254.169.254", "link-local"),
        ("64:ff9b::a00:1", "private"),  # NAT64 of 10.0.0.1
        ("2002:7f00:1::", "loopback"),  # 6to4 of 127.0.0.1
        ("2002:a9fe:a9fe::1", "link-local"),  # 6to4 of 169.254.169.254
        ("::127.0.0.1", "reserved"),  # IPv4-compatible, deprecated
    ],
)
def test_non_public_address_is_named_by_its_class(address: str, expected: str) -> None:
    assert classify_address(address) == expected


@pytest.mark.parametrize(
    "address",
    ["93.184.215.14", "1.1.1.1", "2606:4700:4700::1111", "::ffff:1.1.1.1", "2002:101:101::1"],
)
def test_public_address_has_no_class(address: str) -> None:
    assert classify_address(address) is None


@given(addresses)
def test_every_address_is_public_or_has_a_named_class(address: IPv4Address | IPv6Address) -> None:
    name = classify_address(address)
    assert name is None or name in CLASSES


@given(addresses, ports)
def test_without_an_allow_list_an_address_is_allowed_exactly_when_public(
    address: IPv4Address | IPv6Address, port: int
) -> None:
    assert is_allowed(address, port, NOTHING) == (classify_address(address) is None)


@given(addresses, ports)
def test_refusal_names_the_class_and_the_address(
    address: IPv4Address | IPv6Address, port: int
) -> None:
    name = classify_address(address)
    expected = None if name is None else f"blocked: {name} address {display_address(address)}"
    assert refusal(address, port, NOTHING) == expected


@given(blocked_v4)
def test_ipv4_mapped_form_has_the_class_of_its_ipv4_address(address: IPv4Address) -> None:
    assert classify_address(IPv6Address(f"::ffff:{address}")) == classify_address(address)


@given(blocked_v4)
def test_nat64_form_has_the_class_of_its_ipv4_address(address: IPv4Address) -> None:
    assert classify_address(IPv6Address(f"64:ff9b::{address}")) == classify_address(address)


@given(blocked_v4)
def test_6to4_form_has_the_class_of_its_ipv4_address(address: IPv4Address) -> None:
    six_to_four = IPv6Address((0x2002 << 112) | (int(address) << 80) | 1)
    assert classify_address(six_to_four) == classify_address(address)


@given(addresses, ports, ports)
def test_an_endpoint_entry_admits_its_port_and_no_other(
    address: IPv4Address | IPv6Address, port: int, other: int
) -> None:
    entry = f"[{address}]:{port}" if address.version == 6 else f"{address}:{port}"
    allow = AllowList.parse([entry])
    assert is_allowed(address, port, allow)
    if other != port:
        assert is_allowed(address, other, allow) == (classify_address(address) is None)


def test_demo_entry_admits_the_demo_port_only() -> None:
    allow = AllowList.parse(["127.0.0.1:8765"])
    assert is_allowed("127.0.0.1", 8765, allow)
    assert not is_allowed("127.0.0.1", 8766, allow)
    assert not is_allowed("127.0.0.2", 8765, allow)
    assert refusal("127.0.0.1", 8766, allow) == "blocked: loopback address 127.0.0.1"


def test_a_cidr_entry_admits_every_port_inside_it_and_nothing_outside() -> None:
    allow = AllowList.parse(["10.1.0.0/16"])
    assert is_allowed("10.1.200.3", 1, allow) and is_allowed("10.1.0.1", 65535, allow)
    assert not is_allowed("10.2.0.1", 80, allow)


def test_a_host_name_entry_admits_that_name_on_its_port() -> None:
    allow = AllowList.parse(["Intranet.Example:8080"])
    assert is_allowed("10.0.0.7", 8080, allow, host="intranet.example")
    assert not is_allowed("10.0.0.7", 8080, allow, host="other.example")
    assert not is_allowed("10.0.0.7", 8081, allow, host="intranet.example")


def test_an_ipv4_mapped_address_is_shown_in_dotted_form() -> None:
    assert refusal("::ffff:127.0.0.1", 80, NOTHING) == "blocked: loopback address ::ffff:127.0.0.1"


def test_an_ipv4_entry_also_admits_its_ipv4_mapped_form() -> None:
    allow = AllowList.parse(["127.0.0.1:8765"])
    assert is_allowed("::ffff:127.0.0.1", 8765, allow)


@pytest.mark.parametrize(
    ("entry", "parsed"),
    [
        ("127.0.0.1:8765", ("127.0.0.1", 8765)),
        ("[::1]:8765", ("::1", 8765)),
        ("Feeds.Intranet:443", ("feeds.intranet", 443)),
        ("10.0.0.0/8", IPv4Network("10.0.0.0/8")),
        ("10.1.2.3", IPv4Network("10.1.2.3/32")),
        ("fd00::/8", IPv6Network("fd00::/8")),
    ],
)
def test_allow_entries_parse_to_endpoints_or_networks(
    entry: str, parsed: tuple[str, int] | IPv4Network | IPv6Network
) -> None:
    assert parse_allow_entry(entry) == parsed


@pytest.mark.parametrize(("entry", "address"), [("10.1.2.3", "10.1.2.3"), ("fd00::/8", "fd12::7")])
def test_address_and_network_entries_admit_any_port(entry: str, address: str) -> None:
    allow = AllowList.parse([entry])
    assert is_allowed(address, 9, allow) and is_allowed(address, 65535, allow)


@pytest.mark.parametrize(
    "entry", ["127.0.0.1:0", "127.0.0.1:99999", "10.0.0.1/8", "[::1:80", "a b:80", "localhost", ""]
)
def test_malformed_allow_entries_are_refused(entry: str) -> None:
    with pytest.raises(ValueError, match="is not"):
        parse_allow_entry(entry)


def test_a_malformed_allow_entry_in_the_config_names_file_line_and_entry(tmp_path: Path) -> None:
    directory = tmp_path / "config"
    shutil.copytree(ROOT / "config", directory)
    (directory / "wirewatch.yaml").write_text(
        "fetch:\n  allow:\n    - 127.0.0.1:8765\n    - 10.0.0.1/8\n"
    )
    with pytest.raises(ConfigError) as caught:
        load_config(directory)
    (issue,) = caught.value.issues
    assert (issue.line, issue.field) == (4, "fetch.allow[1]")
    assert "'10.0.0.1/8' is not a CIDR network" in issue.message


@given(st.ip_addresses(), ports)
def test_every_entry_the_config_accepts_the_guard_parses(
    address: IPv4Address | IPv6Address, port: int
) -> None:
    entries = (f"[{address}]:{port}" if address.version == 6 else f"{address}:{port}", str(address))
    assert AllowList.parse(FetchSettings(allow=entries).allow).admits(address, port)
