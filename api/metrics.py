"""Prometheus metrics at /metrics: HTTP traffic by route template, and the state of the work at scrape time
(detections by review status, cases by stage, overdue deadlines). Each app has its own registry."""

from __future__ import annotations

import time
from collections.abc import Iterator

from fastapi import FastAPI, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector
from starlette.middleware.base import BaseHTTPMiddleware, RequestResponseEndpoint

from api.services import ApiServices


class WorkCollector(Collector):
    """Reads the queues when Prometheus scrapes, so the figures are never stale."""

    def __init__(self, services: ApiServices) -> None:
        self.services = services

    def collect(self) -> Iterator[GaugeMetricFamily | CounterMetricFamily]:
        detections = GaugeMetricFamily("offsite_detections", "Detections by review status", labels=["status"])
        for status, count in self.services.detections.count_by_status().items():
            detections.add_metric([status], count)
        yield detections
        cases = GaugeMetricFamily("offsite_cases", "Cases by stage", labels=["status"])
        for status, count in self.services.cases.count_by_status().items():
            cases.add_metric([status], count)
        yield cases
        overdue = GaugeMetricFamily("offsite_deadlines_overdue", "Running deadlines already past", labels=["deadline"])
        counts: dict[str, int] = {}
        for item in self.services.cases.deadlines(0):
            if item.overdue:
                counts[item.deadline] = counts.get(item.deadline, 0) + 1
        for deadline, count in counts.items():
            overdue.add_metric([deadline], count)
        yield overdue
        yield from self.camera_metrics()

    def camera_metrics(self) -> Iterator[GaugeMetricFamily | CounterMetricFamily]:
        """Per camera, when this process runs the pipelines: frames in, dropped, analysed, inference, events."""
        cameras = self.services.cameras
        if cameras is None:
            return
        figures = cameras.metrics()
        families: dict[str, GaugeMetricFamily | CounterMetricFamily] = {
            "frames_in": CounterMetricFamily("offsite_camera_frames", "Frames read from the source", labels=["camera"]),
            "frames_dropped": CounterMetricFamily(
                "offsite_camera_frames_dropped", "Frames dropped because the analyser fell behind", labels=["camera"]
            ),
            "frames_analysed": CounterMetricFamily(
                "offsite_camera_frames_analysed", "Frames detected, tracked and ruled on", labels=["camera"]
            ),
            "events": CounterMetricFamily("offsite_camera_events", "Violation events emitted", labels=["camera"]),
            "failures": CounterMetricFamily(
                "offsite_camera_failures", "Times the camera's pipeline stopped on an error", labels=["camera"]
            ),
            "restarts": CounterMetricFamily(
                "offsite_camera_restarts",
                "Times the camera's pipeline was started afresh after a failure",
                labels=["camera"],
            ),
            "inference_ms_mean": GaugeMetricFamily(
                "offsite_camera_inference_ms", "Mean inference time per analysed frame", labels=["camera"]
            ),
            "online": GaugeMetricFamily(
                "offsite_camera_online", "1 while the source delivers frames", labels=["camera"]
            ),
        }
        for camera_id, m in figures.items():
            for name, family in families.items():
                family.add_metric([camera_id], float(getattr(m, name)))
        yield from families.values()


def install_metrics(app: FastAPI, services: ApiServices) -> None:
    registry = CollectorRegistry()
    requests = Counter(
        "offsite_http_requests", "HTTP requests by route and status", ["method", "route", "status"], registry=registry
    )
    latency = Histogram(
        "offsite_http_request_seconds", "Time to answer, by route", ["method", "route"], registry=registry
    )
    registry.register(WorkCollector(services))

    def route_of(request: Request) -> str:
        """The route's template (/api/v1/cases/{case_id}/file): path parameters put back as names, so that ids
        do not make a label each; a path no route matched is "unmatched"."""
        if request.scope.get("route") is None:
            return "unmatched"
        names = {str(value): f"{{{name}}}" for name, value in request.path_params.items()}
        return "/".join(names.get(segment, segment) for segment in request.url.path.split("/"))

    async def measure(request: Request, call_next: RequestResponseEndpoint) -> Response:
        started = time.perf_counter()
        response = await call_next(request)
        route = route_of(request)
        requests.labels(request.method, route, str(response.status_code)).inc()
        latency.labels(request.method, route).observe(time.perf_counter() - started)
        return response

    app.add_middleware(BaseHTTPMiddleware, dispatch=measure)

    @app.get("/metrics", tags=["health"], include_in_schema=False)
    def metrics() -> Response:
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)
