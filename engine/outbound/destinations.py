"""Where a webhook may go: a host on the public internet, or one the operator allows.

A webhook's address is typed by a user, so without a check anyone could make the server call itself, the cloud's
metadata service (169.254.169.254) or the private network behind it. A host is refused when any address it
resolves to is loopback, link-local, private, multicast, reserved, unspecified or otherwise not public, unless
``VALUEFLOW_WEBHOOK_ALLOW_HOSTS`` allows it: comma-separated host names (allowed whatever they resolve to) and
addresses or networks in CIDR notation (``hooks.internal,10.20.0.0/16``). The check answers with the address it
passed, for the caller to connect to, so that no second DNS answer slips in between the check and the call.
"""

from __future__ import annotations

import ipaddress
import os
import re
import socket
from dataclasses import dataclass
from typing import Mapping, Optional, Union
from urllib.parse import SplitResult

ALLOW_HOSTS = "VALUEFLOW_WEBHOOK_ALLOW_HOSTS"
IPAddress = Union[ipaddress.IPv4Address, ipaddress.IPv6Address]
IPNetwork = Union[ipaddress.IPv4Network, ipaddress.IPv6Network]
_HOST_NAME = re.compile(r"[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*\.?")
# The kinds of address a webhook may not reach, in the order a refusal names them.
_INTERNAL_KINDS = (("unspecified", "is_unspecified"), ("loopback", "is_loopback"), ("link-local", "is_link_local"),
                   ("multicast", "is_multicast"), ("reserved", "is_reserved"), ("private", "is_private"))


class DestinationRefused(Exception):
    """The host may not be called (``lasting``: it is internal, or the allowlist cannot be read), or could not be
    found (worth trying again later); the message says which and why."""

    def __init__(self, message: str, lasting: bool = True) -> None:
        super().__init__(message)
        self.lasting = lasting


@dataclass(frozen=True)
class Allowlist:
    """The hosts and networks the operator allows webhooks to reach although they are internal."""

    hosts: frozenset[str] = frozenset()
    networks: tuple[IPNetwork, ...] = ()

    @classmethod
    def from_environ(cls, environ: Mapping[str, str] = os.environ) -> "Allowlist":
        hosts, networks = set(), []
        for entry in (item.strip().lower() for item in environ.get(ALLOW_HOSTS, "").split(",")):
            if not entry:
                continue
            try:
                networks.append(ipaddress.ip_network(entry, strict=False))
            except ValueError:
                if not _HOST_NAME.fullmatch(entry):
                    raise DestinationRefused(f"{ALLOW_HOSTS} holds {entry[:80]!r}, which is neither a host name nor "
                                             "an address or network (like 10.20.0.0/16)") from None
                hosts.add(entry.rstrip("."))
        return cls(frozenset(hosts), tuple(networks))

    def names(self, host: str) -> bool:
        return host.lower().rstrip(".") in self.hosts

    def allows(self, host: str, address: IPAddress) -> bool:
        return self.names(host) or any(address in network for network in self.networks)


def check_to_save(url: SplitResult, environ: Mapping[str, str] = os.environ) -> None:
    """Refuse (DestinationRefused) a webhook address before it is saved: its host must be found and pass the check.
    A host name the allowlist names passes without a lookup, as it may resolve only on the workers' network."""
    if not Allowlist.from_environ(environ).names(url.hostname or ""):
        checked_destination(url, environ)


def checked_destination(url: SplitResult, environ: Mapping[str, str] = os.environ) -> tuple[int, str]:
    """The port and the checked address to connect to for an http(s) address with a host (``checked_address``);
    ValueError when its port is not a port."""
    port = url.port or (443 if url.scheme.lower() == "https" else 80)
    return port, checked_address(url.hostname or "", port, environ)


def checked_address(host: str, port: int, environ: Mapping[str, str] = os.environ) -> str:
    """The address to connect to for ``host``: the first it resolves to, once each of them passed the check."""
    allowlist = Allowlist.from_environ(environ)
    try:
        found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError):
        raise DestinationRefused(f"the host {host} could not be found", lasting=False) from None
    addresses = list(dict.fromkeys(str(info[4][0]) for info in found))
    for text in addresses:
        address = ipaddress.ip_address(text)
        kind = internal_kind(address)
        if kind is not None and not allowlist.allows(host, address):
            named = host if host == text else f"{host} ({text})"
            raise DestinationRefused(f"{named} is an internal address ({kind}); webhooks go only to public "
                                     f"addresses unless the operator allows this host in {ALLOW_HOSTS}")
    return addresses[0]


def internal_kind(address: IPAddress) -> Optional[str]:
    """Which kind of internal address ``address`` is (``loopback``, ``private``...), or None when it is public."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    for kind, test in _INTERNAL_KINDS:
        if getattr(address, test):
            return kind
    return None if address.is_global else "not public"
