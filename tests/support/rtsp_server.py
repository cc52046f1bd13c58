#!/usr/bin/python3
"""A real RTSP server for the stream tests: GStreamer's, serving an H.264 MP4 at rtsp://HOST:PORT/MOUNT.

It runs under the system Python (``/usr/bin/python3``, where Debian's python3-gi lives), not the project's venv:

    /usr/bin/python3 tests/support/rtsp_server.py VIDEO.mp4 PORT [--host 127.0.0.1] [--mount /cam1]

Debian packages: gstreamer1.0-rtsp gir1.2-gst-rtsp-server-1.0 python3-gi gstreamer1.0-plugins-{base,good,ugly,bad}
gstreamer1.0-libav. Each client gets its own pipeline, so every connection plays the file from its start, paced in
real time. Once the port is bound it prints one line, ``ready rtsp://...``, which a test waits for; it stops on
SIGTERM or SIGINT.
"""

from __future__ import annotations

import argparse
import signal
import sys
from pathlib import Path

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstRtspServer", "1.0")
from gi.repository import GLib, Gst, GstRtspServer  # noqa: E402  (after require_version, as gi demands)


def pipeline(video: Path) -> str:
    # config-interval=1: SPS and PPS again every second, so a client that joins late still decodes. (-1, before every
    # IDR slice, makes FFmpeg's parser split a key frame of two slices into two packets.)
    return f'( filesrc location="{video}" ! qtdemux ! h264parse ! rtph264pay name=pay0 pt=96 config-interval=1 )'


def serve(video: Path, host: str, port: int, mount: str) -> None:
    Gst.init(None)
    server = GstRtspServer.RTSPServer()
    server.set_address(host)
    server.set_service(str(port))
    factory = GstRtspServer.RTSPMediaFactory()
    factory.set_launch(pipeline(video))
    factory.set_shared(False)
    server.get_mount_points().add_factory(mount, factory)
    if server.attach(None) == 0:
        sys.exit(f"rtsp_server: cannot listen on {host}:{port}")
    loop = GLib.MainLoop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        GLib.unix_signal_add(GLib.PRIORITY_DEFAULT, signum, loop.quit)
    print(f"ready rtsp://{host}:{server.get_bound_port()}{mount}", flush=True)
    loop.run()


def main() -> None:
    parser = argparse.ArgumentParser(description="Serve an H.264 MP4 over RTSP (GStreamer).")
    parser.add_argument("video", type=Path, help="an MP4 file with one H.264 video stream")
    parser.add_argument("port", type=int, help="TCP port to listen on")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--mount", default="/cam1", help="the path of the stream, e.g. /cam1")
    args = parser.parse_args()
    if not args.video.is_file():
        sys.exit(f"rtsp_server: no such video: {args.video}")
    serve(args.video.resolve(), args.host, args.port, args.mount)


if __name__ == "__main__":
    main()
