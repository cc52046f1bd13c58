"""A subscription taken or given up is known to the broker once ``server_has_seen`` returns (a real nats-server):
the next request from another connection is answered by it, or is told at once that nobody listens."""

from __future__ import annotations

import asyncio

import nats
import pytest
from nats.aio.msg import Msg
from nats.errors import NoRespondersError

from offsite.cluster.interest import server_has_seen
from tests.support.nats_server import NatsServer


def test_a_request_just_after_a_confirmed_subscribe_is_answered_and_just_after_a_confirmed_unsubscribe_has_no_responders(
    nats_server: NatsServer,
) -> None:
    async def echo(message: Msg) -> None:
        await message.respond(message.data)

    async def turns() -> None:
        holder, asker = await nats.connect(nats_server.url), await nats.connect(nats_server.url)
        try:
            for turn in range(200):
                subscription = await holder.subscribe("t.frames.cam-1", cb=echo)
                await server_has_seen(holder)
                reply = await asker.request("t.frames.cam-1", str(turn).encode(), timeout=5)
                assert reply.data == str(turn).encode()
                await subscription.unsubscribe()
                await server_has_seen(holder)
                with pytest.raises(NoRespondersError):
                    await asker.request("t.frames.cam-1", b"after", timeout=5)
        finally:
            await asker.close()
            await holder.close()

    asyncio.run(turns())
