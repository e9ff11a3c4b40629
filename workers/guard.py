"""The SSRF guard's decisions (pure): which addresses a fetch may connect to.

    classify_address(ip)              the class of a non-public address ("loopback", "private",
                                      …), or None for a public one
    AllowList.parse(entries)          the exact allow-list: "host:port", "[v6]:port", an
                                      address, or a CIDR network ("10.1.0.0/16")
    is_allowed(ip, port, allow)       public, or listed exactly in the allow-list
    refusal(ip, port, allow)          why not: "blocked: loopback address 127.0.0.1"

Addresses that embed an IPv4 address (IPv4-mapped ``::ffff:a.b.c.d``, NAT64
``64:ff9b::/96``, 6to4 ``2002::/16``) take the class of the address they embed, so a
mapped or translated form of a blocked address is blocked too. Everything outside the
IPv6 global unicast range (``2000::/3``) that is not named otherwise is "reserved".
The network I/O that applies these decisions lives in ``workers.fetch``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network, ip_address, ip_network

IPAddress = IPv4Address | IPv6Address
IPNetwork = IPv4Network | IPv6Network

_V4_CLASSES: tuple[tuple[IPv4Network, str], ...] = tuple(
    (IPv4Network(net), name)
    for net, name in (
        ("0.0.0.0/8", "unspecified"),  # "this network"; Linux connects 0.x to the host itself
        ("10.0.0.0/8", "private"),
        ("100.64.0.0/10", "shared"),  # carrier-grade NAT
        ("127.0.0.0/8", "loopback"),
        ("169.254.0.0/16", "link-local"),  # cloud metadata services: 169.254.169.254
        ("172.16.0.0/12", "private"),
        ("192.0.0.0/24", "reserved"),  # IETF protocol assignments
        ("192.0.2.0/24", "reserved"),  # documentation (TEST-NET-1)
        ("192.168.0.0/16", "private"),
        ("198.18.0.0/15", "reserved"),  # benchmarking
        ("198.51.100.0/24", "reserved"),  # documentation (TEST-NET-2)
        ("203.0.113.0/24", "reserved"),  # documentation (TEST-NET-3)
        ("224.0.0.0/4", "multicast"),
        ("240.0.0.0/4", "reserved"),  # and the broadcast address 255.255.255.255
    )
)
_V6_CLASSES: tuple[tuple[IPv6Network, str], ...] = tuple(
    (IPv6Network(net), name)
    for net, name in (
        ("::/128", "unspecified"),
        ("::1/128", "loopback"),
        ("64:ff9b:1::/48", "private"),  # local-use NAT64 (RFC 8215)
        ("fc00::/7", "unique-local"),
        ("fe80::/10", "link-local"),
        ("fec0::/10", "site-local"),
        ("ff00::/8", "multicast"),
    )
)
_V6_GLOBAL = IPv6Network("2000::/3")
_V6_RESERVED_IN_GLOBAL = tuple(
    IPv6Network(net)
    for net in (
        "2001::/23",  # IETF protocol assignments (Teredo, ORCHID, …)
        "2001:db8::/32",  # documentation
        "3fff::/20",  # documentation (RFC 9637)
    )
)
_NAT64 = IPv6Network("64:ff9b::/96")
_SIX_TO_FOUR = IPv6Network("2002::/16")
_HOST_NAME = re.compile(r"[a-z0-9_]([a-z0-9_.-]*[a-z0-9_.])?")  # as monitor.config checks


def classify_address(ip: IPAddress | str) -> str | None:
    """The class of an address a fetch must not reach, or None for a public address."""
    address = ip_address(ip) if isinstance(ip, str) else ip
    if isinstance(address, IPv4Address):
        return next((name for net, name in _V4_CLASSES if address in net), None)
    embedded = _embedded_ipv4(address)
    if embedded is not None:
        return classify_address(embedded)
    for net, name in _V6_CLASSES:
        if address in net:
            return name
    if address not in _V6_GLOBAL or any(address in net for net in _V6_RESERVED_IN_GLOBAL):
        return "reserved"
    return None


def _embedded_ipv4(address: IPv6Address) -> IPv4Address | None:
    """The IPv4 address an IPv4-mapped, NAT64 or 6to4 address stands for."""
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address in _NAT64:
        return IPv4Address(int(address) & 0xFFFFFFFF)
    if address in _SIX_TO_FOUR:
        return address.sixtofour
    return None


@dataclass(frozen=True)
class AllowList:
    """Addresses the guard lets through although they are not public: exact, nothing implied.

    ``endpoints`` are (address or host name, port) pairs; ``networks`` admit any port.
    """

    endpoints: frozenset[tuple[str, int]] = frozenset()
    networks: tuple[IPNetwork, ...] = ()

    @classmethod
    def parse(cls, entries: Iterable[str]) -> AllowList:
        """Parse allow-list entries; a ``ValueError`` names the first one that is malformed."""
        endpoints: set[tuple[str, int]] = set()
        networks: list[IPNetwork] = []
        for entry in entries:
            parsed = parse_allow_entry(entry)
            if isinstance(parsed, tuple):
                endpoints.add(parsed)
            else:
                networks.append(parsed)
        return cls(frozenset(endpoints), tuple(networks))

    def admits(self, address: IPAddress, port: int, host: str | None = None) -> bool:
        candidates = [address]
        if isinstance(address, IPv6Address) and address.ipv4_mapped is not None:
            candidates.append(address.ipv4_mapped)  # the same endpoint, reached over IPv6
        for candidate in candidates:
            if (str(candidate), port) in self.endpoints:
                return True
            if any(candidate in net for net in self.networks if net.version == candidate.version):
                return True
        return host is not None and (host.lower().rstrip("."), port) in self.endpoints


def parse_allow_entry(entry: str) -> tuple[str, int] | IPNetwork:
    """One allow-list entry: ``(address or host, port)`` for "host:port", else a network.

    "127.0.0.1:8765", "[::1]:8765" and "intranet.example:443" admit one port of one
    endpoint; "10.1.0.0/16" and a bare address ("10.1.2.3", "fd00::1") admit every port.
    """
    text = entry.strip()
    if "/" in text:
        try:
            return ip_network(text, strict=True)
        except ValueError as exc:
            raise ValueError(f"{entry!r} is not a CIDR network: {exc}") from exc
    try:
        return ip_network(ip_address(text))
    except ValueError:
        pass
    host, sep, port_text = text.rpartition(":")
    if not sep or not port_text.isdigit() or not 0 < int(port_text) < 65536:
        raise ValueError(f"{entry!r} is not host:port (port 1-65535), an address or a CIDR network")
    if host.startswith("[") and host.endswith("]"):
        try:
            return str(IPv6Address(host[1:-1])), int(port_text)
        except ValueError as exc:
            raise ValueError(f"{entry!r}: {host} is not an IPv6 address") from exc
    try:
        return str(IPv4Address(host)), int(port_text)
    except ValueError:
        pass
    name = host.lower().rstrip(".")
    if not _HOST_NAME.fullmatch(name):
        raise ValueError(f"{entry!r}: {host!r} is not an IPv4 address, [IPv6] address or host name")
    return name, int(port_text)


def is_allowed(
    ip: IPAddress | str, port: int, allow: AllowList, *, host: str | None = None
) -> bool:
    """Whether a fetch may connect to ``ip:port`` (reached as ``host``, when a name was used)."""
    return refusal(ip, port, allow, host=host) is None


def refusal(
    ip: IPAddress | str, port: int, allow: AllowList, *, host: str | None = None
) -> str | None:
    """Why a fetch must not connect to ``ip:port``, or None when it may."""
    address = ip_address(ip) if isinstance(ip, str) else ip
    name = classify_address(address)
    if name is None or allow.admits(address, port, host):
        return None
    return f"blocked: {name} address {display_address(address)}"


def display_address(address: IPAddress) -> str:
    """An address as people write it: IPv4-mapped addresses end in dotted IPv4."""
    if isinstance(address, IPv6Address) and address.ipv4_mapped is not None:
        return f"::ffff:{address.ipv4_mapped}"
    return str(address)
