"""The gauge records which connection carried each request (notebook 09 proves connection reuse with it)."""

from __future__ import annotations

import asyncio

import httpx

from helpers.services.gauge import ConnectionIds


def test_one_client_reuses_one_connection(lab):
    lab.reset_gauge()
    with httpx.Client(timeout=10) as client:
        for _ in range(5):
            client.get(lab.url("/uuid"))
    reading = lab.gauge()
    assert reading.count == 5 and reading.connections == 1


def test_a_client_per_request_opens_a_connection_each(lab):
    lab.reset_gauge()
    for _ in range(4):
        with httpx.Client(timeout=10) as client:
            client.get(lab.url("/uuid"))
    assert lab.gauge().connections == 4


def test_concurrent_requests_use_as_many_connections_as_are_in_flight(lab):
    async def run() -> None:
        async with httpx.AsyncClient(timeout=10) as client:
            await asyncio.gather(*(client.get(lab.url("/delay/0.2")) for _ in range(6)))

    lab.reset_gauge()
    asyncio.run(run())
    assert lab.gauge().connections == 6


class NoWeakrefs:
    __slots__ = ("peer",)

    def __init__(self, port: int) -> None:
        self.peer = ("127.0.0.1", port)

    def get_extra_info(self, name: str):
        return self.peer if name == "peername" else None


class Transport:
    pass


def test_connection_ids_number_transports_in_order_and_forget_closed_ones():
    ids = ConnectionIds()
    a, b = Transport(), Transport()
    assert [ids.of(a), ids.of(b), ids.of(a)] == [1, 2, 1]
    del a
    assert len(ids.ids) == 1, "a closed (collected) transport must not be remembered"
    assert ids.of(None) is None
    assert ids.of(NoWeakrefs(54321)) == 54321, "without weak references the client port identifies the connection"
