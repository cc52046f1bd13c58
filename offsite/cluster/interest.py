"""When a subscription taken or given up is known to the broker, so that the next request is routed by it.

A worker that takes a camera must be reached by the very next frame for it; one that gives a camera up must not be:
the frame would reach a client that no longer listens, which drops it unanswered, and the API node relaying it
would wait out its reply timeout instead of hearing at once that no pipeline takes it. The same holds for the
sealer taking its role. NATS's way to know is a flush: the server answers a PING after every command sent before it.

nats-py (2.16) writes ``flush``'s PING straight to the socket, while SUB and UNSUB wait in the client's buffer for its
flusher task; so the PONG can come back before the server has read them (seen here under load: a frame sent just
after a worker gave its camera up went unanswered in 11 of 69 runs of a test, and twice one sent just after it took
the camera was told "no responders"). The first flush sets the flusher going, which writes the
buffered commands behind its PING, before that PING's PONG can be read; the second flush's PING follows them, and
its PONG means the server has them.
"""

from __future__ import annotations

from nats.aio.client import Client

CONFIRM_TIMEOUT_S = 5


async def server_has_seen(connection: Client, timeout_s: int = CONFIRM_TIMEOUT_S) -> None:
    """Return once the broker has read every command this connection sent so far (``nats.errors.TimeoutError``
    when it does not answer in ``timeout_s``, each way)."""
    await connection.flush(timeout=timeout_s)
    await connection.flush(timeout=timeout_s)
