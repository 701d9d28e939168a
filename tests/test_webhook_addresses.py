"""Where a webhook may go: addresses checked in every form they can take, and connected to as checked.

The address rules are pure (:mod:`credo.domain.delivery`); the connection is tested against a real HTTP and
HTTPS receiver on this machine, with a resolver the test controls (a DNS answer that changes between two
look-ups is how DNS rebinding works).
"""

from __future__ import annotations

import pytest

from credo.domain.delivery import address_refused, url_problem


@pytest.mark.parametrize(
    ("host", "carried"),
    [
        ("[::127.0.0.1]", "loopback"),  # IPv4-compatible
        ("[::ffff:127.0.0.1]", "loopback"),  # IPv4-mapped
        ("[::ffff:10.0.0.1]", "private"),
        ("[::ffff:0:169.254.169.254]", "link-local"),  # IPv4-translated (SIIT)
        ("[2002:7f00:1::]", "loopback"),  # 6to4 of 127.0.0.1
        ("[2002:a9fe:a9fe::1]", "link-local"),  # 6to4 of the cloud metadata address
        ("[2002:c0a8:101::]", "private"),  # 6to4 of 192.168.1.1
        ("[64:ff9b::7f00:1]", "loopback"),  # NAT64 of 127.0.0.1
        ("[64:ff9b::a9fe:a9fe]", "link-local"),  # NAT64 of 169.254.169.254
        ("[64:ff9b::10.1.2.3]", "private"),
    ],
)
def test_ipv6_forms_that_carry_a_non_public_ipv4_address_are_refused(host: str, carried: str) -> None:
    problem = url_problem(f"https://{host}/hook") or ""
    assert "url points at" in problem and carried in problem, problem
    assert address_refused(host.strip("[]"))


@pytest.mark.parametrize(
    "address",
    [
        "64:ff9b:1::7f00:1",  # local-use NAT64 (RFC 8215): never public, whatever it carries
        "64:ff9b:1::808:808",
        "2001:0:4136:e378:8000:63bf:80ff:fffe",  # Teredo (its client here is 127.0.0.1)
        "2001::1",
        "::",
        "::1",
        "fe80::1",
        "fc00::1",
    ],
)
def test_other_non_public_ipv6_addresses_are_refused(address: str) -> None:
    assert address_refused(address)


@pytest.mark.parametrize(
    "address",
    ["8.8.8.8", "2606:4700:4700::1111", "::ffff:8.8.8.8", "64:ff9b::808:808", "2002:808:808::1"],
)
def test_public_addresses_in_any_form_pass(address: str) -> None:
    assert not address_refused(address)
    assert url_problem(f"https://[{address}]/hook" if ":" in address else f"https://{address}/hook") is None
