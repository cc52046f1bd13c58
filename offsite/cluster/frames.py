"""Frames pushed by gateways, carried to the worker that holds the camera (issue 16).

A gateway pushes its camera's JPEG to whichever API node the load balancer picks. In a cluster that node runs no
pipeline. So it relays the frame as a NATS request on the camera's subject, ``{prefix}.frames.{camera}``. Only the
worker holding the camera's lease listens there. That worker puts the frame into its own intake, exactly as
``offsite serve --cameras`` does with a frame it receives itself, and replies with the outcome:
- accepted, with its ``seq``;
- or refused as ``NoPipeline``, ``FrameQueueFull`` (with when to retry) or ``PushedFrameError`` (which problem).

The API node raises the same exception that a local intake would raise, so the gateway sees the same answers either
way. Nobody listening (no worker holds the camera yet, or it is a pulled camera) is ``NoPipeline``. A broker that
cannot be reached, or a worker that does not answer in time, is ``FramesUnreachable``: 503, try again.

A frame is live data, so it goes over core NATS request/reply, not JetStream: it is accepted only when the worker
says so, and a gateway keeps a frame until it is accepted. NATS holds nothing.

A gateway that registers a new stream address is told to the holder the same way. This is fire-and-forget, on
``{prefix}.streams.{camera}``. The holder pulls the new address at once; any other worker reads the registry when
it takes the camera.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
import logging
from collections.abc import Callable
from typing import Any

from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription
from nats.errors import NoRespondersError
from nats.errors import TimeoutError as NatsTimeout

from cases import messages
from offsite.cluster.interest import server_has_seen
from offsite.cluster.link import CONNECT_TIMEOUT_S, BrokerLink, BrokerUnreachable
from vision import pushed
from vision.pushed import FrameIntake, FramesUnreachable, PushedFrameError

log = logging.getLogger("offsite.cluster.frames")
REPLY_TIMEOUT_S = 5.0  # a worker decodes and queues a frame in milliseconds; longer means it is stuck or gone
TS_HEADER = "Offsite-Captured-At"
UNSUBSCRIBE_CONFIRM_S = 2  # how long a worker giving a camera up waits for the broker to confirm it


def subject_token(camera_id: str) -> str:
    """A camera id as one subject token ('.' separates tokens; '~' and '=' are in no device id)."""
    return camera_id.replace(".", "~").replace(":", "=")


def frames_subject(prefix: str, camera_id: str) -> str:
    return f"{prefix}.frames.{subject_token(camera_id)}"


def streams_subject(prefix: str, camera_id: str) -> str:
    return f"{prefix}.streams.{subject_token(camera_id)}"


# ---- the worker's side ------------------------------------------------------------------------------------------
def answer(intake: FrameIntake, camera_id: str, jpeg: bytes, captured_at: str | None) -> dict[str, Any]:
    """Put a relayed frame into this worker's intake; the outcome as the reply says it."""
    try:
        ts = dt.datetime.fromisoformat(captured_at or "")
    except ValueError:
        return {"refused": "bad_frame", "key": "no_time_zone", "problem": "has no capture time with its zone",
                "params": {"timestamp": repr(captured_at)}}  # fmt: skip
    return pushed.reply_of(lambda: intake.push(camera_id, jpeg, ts))


class CameraInbox:
    """The subscriptions of the cameras one worker holds: their relayed frames, and their new stream addresses."""

    def __init__(
        self, connection: Client, prefix: str, intake: FrameIntake, stream_changed: Callable[[str], object]
    ) -> None:
        self.connection, self.prefix, self.intake = connection, prefix, intake
        self.stream_changed = stream_changed
        self.open: dict[str, tuple[Subscription, Subscription]] = {}

    async def listen(self, camera_id: str) -> None:
        """Take the camera's frames and stream changes from now on (idempotent)."""
        if camera_id in self.open:
            return

        async def frame(message: Msg) -> None:
            captured_at = (message.headers or {}).get(TS_HEADER)
            reply = await asyncio.to_thread(answer, self.intake, camera_id, message.data, captured_at)
            with contextlib.suppress(Exception):  # the asker gave up meanwhile: it answers the gateway itself
                await message.respond(json.dumps(reply).encode())

        async def stream(_message: Msg) -> None:
            log.info("camera %s: its gateway registered a new stream address", camera_id)
            await asyncio.to_thread(self.stream_changed, camera_id)

        frames = await self.connection.subscribe(frames_subject(self.prefix, camera_id), cb=frame)
        streams = await self.connection.subscribe(streams_subject(self.prefix, camera_id), cb=stream)
        await server_has_seen(self.connection)  # the next frame finds this worker, before the camera counts as held
        self.open[camera_id] = (frames, streams)

    async def stop(self, camera_id: str) -> None:
        """The camera is no longer held here: its frames go to whoever holds it next. When this returns the server
        has dropped the subscriptions, so a frame sent after it is not routed here: this client would discard it
        unanswered, and its sender would wait out the reply timeout for a camera it should be told has no
        pipeline here (``NoPipeline``, at once)."""
        subscriptions = self.open.pop(camera_id, ())
        for subscription in subscriptions:
            with contextlib.suppress(Exception):
                await subscription.unsubscribe()
        if subscriptions and self.connection.is_connected:  # cut off, the server drops them with the connection
            with contextlib.suppress(Exception):
                await server_has_seen(self.connection, UNSUBSCRIBE_CONFIRM_S)


# ---- the API node's side ----------------------------------------------------------------------------------------
class RelayedFrames:
    """``FramePush`` for an API node of a cluster: each frame goes to the worker holding the camera, through the
    node's link to the broker (``BrokerLink``: one connection, opened on the first frame). While the broker is down,
    pushes are ``FramesUnreachable`` at once."""

    def __init__(self, link: BrokerLink, prefix: str, reply_timeout_s: float = REPLY_TIMEOUT_S) -> None:
        self.link, self.prefix, self.reply_timeout_s = link, prefix, reply_timeout_s

    def push(self, camera_id: str, jpeg: bytes, ts: dt.datetime) -> int:
        connection = self._connected(camera_id)
        if len(jpeg) > connection.max_payload - 1024:  # the broker carries at most max_payload bytes a message
            raise PushedFrameError(camera_id, "too_many_bytes", f"is {len(jpeg)} bytes, over the broker's limit",
                                   too_large=True, size=len(jpeg), limit=connection.max_payload - 1024)  # fmt: skip
        request = connection.request(frames_subject(self.prefix, camera_id), jpeg, timeout=self.reply_timeout_s,
                                     headers={TS_HEADER: ts.isoformat()})  # fmt: skip
        try:
            reply = self.link.run(request, self.reply_timeout_s + 1)
        except NoRespondersError:  # no worker holds the camera (yet): as if no pipeline took its frames
            return _outcome(camera_id, {"refused": "no_pipeline"})
        except (NatsTimeout, TimeoutError) as exc:
            raise FramesUnreachable(camera_id, "the worker holding it did not answer in time") from exc
        except Exception as exc:  # the broker went away mid-request
            raise FramesUnreachable(camera_id, f"the broker: {exc.__class__.__name__}") from exc
        return _outcome(camera_id, json.loads(reply.data))

    def stream_changed(self, camera_id: str) -> None:
        """Tell the worker holding the camera that its gateway registered a new stream address (best effort: a
        worker that takes the camera later reads the address from the registry)."""
        try:
            connection = self._connected(camera_id)
            self.link.run(connection.publish(streams_subject(self.prefix, camera_id), b""), CONNECT_TIMEOUT_S)
        except Exception as exc:  # the next holder reads the registry; this one restarts on its own failures
            log.warning("camera %s: the new stream address could not be told to its worker: %s", camera_id, exc)

    def _connected(self, camera_id: str) -> Client:
        try:
            return self.link.connection()
        except BrokerUnreachable as exc:
            raise FramesUnreachable(camera_id, f"the broker: {exc}") from exc


def _outcome(camera_id: str, reply: dict[str, Any]) -> int:
    """The worker's reply as a local intake would have answered; a frame problem told from this node's catalogue."""
    return pushed.outcome_of(camera_id, reply, lambda key: messages.entry(f"frame.{key}", "en") is not None)
