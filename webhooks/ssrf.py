"""May Huiqian send a request to this URL?  The server-side request forgery guard.

A webhook URL is chosen by an API user, and the worker that calls it sits inside
the government network, next to the database and the cloud's metadata service.
So every address a URL resolves to must be a public one: loopback, private,
carrier-grade NAT, link-local, multicast, unspecified, reserved and the cloud
metadata addresses are refused, unless the operator's allow-list
(``HUIQIAN_WEBHOOK_ALLOW_HOSTS``: host names, addresses or CIDRs) names them.

The check runs on the *resolved* addresses, and the caller connects to the
address that was checked (``Target.address``) with the original host in the
``Host`` header and TLS SNI, so DNS cannot answer differently at connect time
(rebinding).  HTTPS is required except in demo mode or for an allow-listed host.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from engine.errors import InvalidInput

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
Resolver = Callable[[str, int], Sequence[str]]

# Metadata services that answer on addresses a generic rule might let through.
CLOUD_METADATA = frozenset(
    ipaddress.ip_address(a)
    for a in (
        "169.254.169.254",  # AWS, GCP, Azure, OpenStack, Tencent Cloud
        "169.254.170.2",  # AWS ECS task metadata
        "100.100.100.200",  # Alibaba Cloud
        "fd00:ec2::254",  # AWS over IPv6
    )
)


class TargetRefused(InvalidInput):
    """The webhook URL is not one Huiqian may call (scheme, address class or resolution)."""

    type_slug = "webhook-target-refused"
    title = "Webhook target refused"


@dataclass(frozen=True)
class AllowList:
    """Hosts and networks an operator permits despite the rules (e.g. a receiver on the LAN)."""

    hosts: frozenset[str] = frozenset()
    networks: tuple[IPNetwork, ...] = ()

    @classmethod
    def parse(cls, text: str) -> AllowList:
        hosts: set[str] = set()
        networks: list[IPNetwork] = []
        for item in (part.strip() for part in text.split(",")):
            if not item:
                continue
            try:
                networks.append(ipaddress.ip_network(item, strict=False))
            except ValueError:
                hosts.add(item.lower().rstrip("."))
        return cls(frozenset(hosts), tuple(networks))

    def permits_host(self, host: str) -> bool:
        return host.lower().rstrip(".") in self.hosts or self._literal_permitted(host)

    def permits_address(self, address: IPAddress) -> bool:
        return any(address in network for network in self.networks)

    def _literal_permitted(self, host: str) -> bool:
        try:
            return self.permits_address(ipaddress.ip_address(host))
        except ValueError:
            return False


@dataclass(frozen=True)
class Target:
    """A checked URL: connect to ``address``, send ``Host: host``."""

    url: str
    scheme: str
    host: str
    port: int
    path: str
    address: str


def system_resolve(host: str, port: int) -> list[str]:
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


@dataclass(frozen=True)
class TargetPolicy:
    """What ``check_url`` permits: the operator's allow-list, demo mode, and the resolver."""

    allow: AllowList = field(default_factory=AllowList)
    demo: bool = False
    resolve: Resolver = system_resolve


def refusal(address: IPAddress) -> str | None:
    """Why an address may not be called, or None for a public unicast address."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return refusal(address.ipv4_mapped)
    if address in CLOUD_METADATA:
        return "a cloud metadata address"
    checks = (
        ("is_unspecified", "an unspecified address"),
        ("is_loopback", "a loopback address"),
        ("is_link_local", "a link-local address"),
        ("is_multicast", "a multicast address"),
        ("is_private", "a private address"),
        ("is_reserved", "a reserved address"),
    )
    for attribute, reason in checks:
        if getattr(address, attribute):
            return reason
    if not address.is_global:
        return "not a public address"
    return None


def check_url(url: str, policy: TargetPolicy) -> Target:
    """Resolve ``url`` once and return the target to connect to, or raise TargetRefused."""
    parts = urlsplit(url)
    host = parts.hostname
    if parts.scheme not in ("http", "https") or not host:
        raise TargetRefused(f"{url!r} is not an http(s) URL with a host")
    if parts.username or parts.password:
        raise TargetRefused("webhook URLs may not carry credentials; use the signature")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise TargetRefused(f"{url!r} has an invalid port") from None
    host_allowed = policy.allow.permits_host(host)
    if parts.scheme != "https" and not (policy.demo or host_allowed):
        raise TargetRefused("webhook URLs must use https (http only in demo mode or allow-listed)")
    try:
        addresses = [ipaddress.ip_address(a.split("%")[0]) for a in policy.resolve(host, port)]
    except (OSError, UnicodeError, ValueError) as exc:
        raise TargetRefused(f"host {host!r} cannot be resolved: {exc}") from None
    if not addresses:
        raise TargetRefused(f"host {host!r} has no address")
    for address in addresses:
        reason = refusal(address)
        if reason and not (host_allowed or policy.allow.permits_address(address)):
            raise TargetRefused(
                f"host {host!r} resolves to {address}, {reason}; "
                "add it to HUIQIAN_WEBHOOK_ALLOW_HOSTS to permit it",
                address=str(address),
            )
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return Target(url, parts.scheme, host, port, path, str(addresses[0]))
