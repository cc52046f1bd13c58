"""Prometheus metrics at /metrics: HTTP traffic by route template, and the state of the work at scrape time
(detections by review status, cases by stage, overdue deadlines). Each app has its own registry."""

from __future__ import annotations

import time
from collections.abc import Iterator

from fastapi import FastAPI, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from starlette.middleware.base import BaseHTTPMiddleware, RequestResponseEndpoint

from offsite.bootstrap import Components


class WorkCollector(Collector):
    """Reads the queues when Prometheus scrapes, so the figures are never stale."""

    def __init__(self, components: Components) -> None:
        self.components = components

    def collect(self) -> Iterator[GaugeMetricFamily]:
        detections = GaugeMetricFamily("offsite_detections", "Detections by review status", labels=["status"])
        for status, count in self.components.detections.count_by_status().items():
            detections.add_metric([status], count)
        yield detections
        cases = GaugeMetricFamily("offsite_cases", "Cases by stage", labels=["status"])
        for status, count in self.components.cases.count_by_status().items():
            cases.add_metric([status], count)
        yield cases
        overdue = GaugeMetricFamily("offsite_deadlines_overdue", "Running deadlines already past", labels=["deadline"])
        counts: dict[str, int] = {}
        for item in self.components.cases.deadlines(0):
            if item.overdue:
                counts[item.deadline] = counts.get(item.deadline, 0) + 1
        for deadline, count in counts.items():
            overdue.add_metric([deadline], count)
        yield overdue


def install_metrics(app: FastAPI, components: Components) -> None:
    registry = CollectorRegistry()
    requests = Counter(
        "offsite_http_requests", "HTTP requests by route and status", ["method", "route", "status"], registry=registry
    )
    latency = Histogram(
        "offsite_http_request_seconds", "Time to answer, by route", ["method", "route"], registry=registry
    )
    registry.register(WorkCollector(components))

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
