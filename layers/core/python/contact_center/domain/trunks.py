"""Which source networks a carrier trunk may name.

An INVITE is taken only from a trunk's source networks, so a trunk's networks are the edge's
whole defence against toll fraud and spoofed carriers. A network wider than any one carrier can
hold opens the edge to the internet: refused unless the operator says so explicitly.

- IPv4: shorter than /8. A /8 (16.7 million addresses) is the largest block ever assigned to one
  organisation (the legacy class A blocks); anything wider spans unrelated networks by
  construction, so it cannot describe one carrier's signalling servers.
- IPv6: shorter than /32. A /32 is the regional registries' standard allocation to an operator
  (RIPE-738, ARIN NRPM 6.5.2): a carrier's whole network, let alone its SIP servers, fits in it.
- An IPv4-mapped IPv6 network (``::ffff:0:0/96``) is judged by the IPv4 network it maps, since a
  dual-stack socket reports IPv4 sources in that form.
"""

from __future__ import annotations

import ipaddress

WIDEST_IPV4_PREFIX = 8
WIDEST_IPV6_PREFIX = 32
_IPV4_MAPPED = ipaddress.IPv6Network("::ffff:0:0/96")

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def is_world_open(network: Network) -> bool:
    """Whether ``network`` is wider than one carrier can hold (see the module docstring)."""
    if isinstance(network, ipaddress.IPv4Network):
        return network.prefixlen < WIDEST_IPV4_PREFIX
    if network.subnet_of(_IPV4_MAPPED):
        return network.prefixlen - _IPV4_MAPPED.prefixlen < WIDEST_IPV4_PREFIX
    return network.prefixlen < WIDEST_IPV6_PREFIX
