"""A cluster role's first contact with its broker: connect, and open the streams and buckets it works with.

The broker may be down, or restarting, when a role starts (a machine booting, the broker's own upgrade). A role
that died then would need a supervisor to start it again; a role that waits is up the moment the broker is. So
each role (``offsite worker``, ``offsite sealer``, ``offsite scheduler``) opens through ``open_with_broker``:
- the connection waits for a broker to answer (the NATS client tries every server again every 0.5 s), and says
  once that it waits; a stop asked for meanwhile (SIGTERM) ends the wait at once;
- the role's parts (streams, buckets) are opened on it; when that fails (the broker went away again, or its
  JetStream is not ready yet) the connection is closed and the whole opening tried again, after a pause growing
  from 0.5 s to at most 5 s, each failure logged. The retrying is tenacity's (decision 0031).
The connection's own errors later on (a lost server, a reconnect that failed) are logged as one line each, at most
one a ``QUIET_S`` for the same problem, instead of the client's traceback every half second.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

import nats
from nats.aio.client import Client
from tenacity import AsyncRetrying, RetryCallState, retry_if_not_exception_type, wait_exponential

log = logging.getLogger("offsite.cluster.opening")
T = TypeVar("T")
FIRST_PAUSE_S, LONGEST_PAUSE_S = 0.5, 5.0
SAY_WAITING_AFTER_S = 2.0  # a connection not made by then is waiting for the broker: the log says so
QUIET_S = 30.0


class _Stopped(Exception):
    """The role was asked to stop before the broker answered."""


async def open_with_broker(
    role: str,
    servers: list[str],
    parts: Callable[[Client], Awaitable[T]],
    stopping: asyncio.Event,
) -> tuple[Client, T] | None:
    """A connection to the broker and the role's ``parts`` opened on it, once the broker lets both succeed;
    ``None`` when ``stopping`` is set first. ``role`` ("sealer s1") names the connection and the log lines."""

    async def opening() -> tuple[Client, T]:
        connection = await _connected(role, servers, stopping)
        try:
            return connection, await parts(connection)
        except BaseException:
            with contextlib.suppress(Exception):
                await connection.close()
            raise

    async def pause(seconds: float) -> None:  # a stop asked for during the pause ends it at once
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stopping.wait(), seconds)

    def told(state: RetryCallState) -> None:
        problem = state.outcome.exception() if state.outcome is not None else None
        log.warning("%s: waiting for the broker: opening failed (attempt %d, %s: %s)", role, state.attempt_number,
                    problem.__class__.__name__, problem)  # fmt: skip

    retrying: AsyncRetrying = AsyncRetrying(
        sleep=pause,
        stop=lambda _state: stopping.is_set(),
        wait=wait_exponential(multiplier=FIRST_PAUSE_S, max=LONGEST_PAUSE_S),
        retry=retry_if_not_exception_type(_Stopped),
        before_sleep=told,
        retry_error_callback=lambda _state: None,
    )
    try:
        opened: tuple[Client, T] | None = await retrying(opening)
    except _Stopped:
        opened = None
    if opened is None:
        log.info("%s: stopped before the broker answered", role)
    return opened


async def _connected(role: str, servers: list[str], stopping: asyncio.Event) -> Client:
    """A connection, once a server answers (the client tries again on its own); ``_Stopped`` if asked first."""
    connect = nats.connect(servers, name=f"offsite-{role.replace(' ', '-')}", max_reconnect_attempts=-1,
                           reconnect_time_wait=0.5, error_cb=_one_line_errors(role))  # fmt: skip
    connecting = asyncio.ensure_future(connect)
    stopped = asyncio.ensure_future(stopping.wait())
    try:
        done, _ = await asyncio.wait({connecting, stopped}, timeout=SAY_WAITING_AFTER_S,
                                     return_when=asyncio.FIRST_COMPLETED)  # fmt: skip
        if not done:
            log.warning("%s: waiting for the broker (%s)", role, ", ".join(servers))
            done, _ = await asyncio.wait({connecting, stopped}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        stopped.cancel()
    if connecting in done:
        return connecting.result()
    connecting.cancel()
    with contextlib.suppress(BaseException):
        await connecting
    raise _Stopped(role)


def _one_line_errors(role: str) -> Callable[[Exception], Awaitable[None]]:
    """The connection's error callback: one warning line a problem, the same one again after ``QUIET_S``."""
    last_said: dict[str, float] = {}

    async def said(error: Exception) -> None:
        problem = f"{error.__class__.__name__}: {error}"
        now = time.monotonic()
        if now - last_said.get(problem, -QUIET_S) >= QUIET_S:
            last_said[problem] = now
            log.warning("%s: the broker: %s", role, problem)

    return said
