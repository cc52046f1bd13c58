"""``python -m bench queue [--rows N] [--queries N] [--cases N] [--seed N] [--json]``
``python -m bench export [--frames N] [--json]``

The PostgreSQL server is reached through an admin URL in OFFSITE_BENCH_POSTGRES_URL (default: the local server,
user postgres); the benchmark creates its own database there and drops it at the end. With ``--json`` the last
line printed is one JSON object with every figure.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any

from sqlalchemy.engine import make_url

DEFAULT_POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n\n")[1])
    commands = parser.add_subparsers(dest="command", required=True)
    queue = commands.add_parser(
        "queue",
        help="the review queue with and without its indexes, and case transitions per second",
        description="Time DetectionService.queue on a database of --rows detections with the ix_detections_queue_* "
        "indexes and without them (the baseline), and walk cases through their steps on PostgreSQL and SQLite.",
    )
    queue.add_argument("--rows", type=int, default=1_000_000, help="detections to generate (default 1,000,000)")
    queue.add_argument("--queries", type=int, default=200, help="timed queue requests with the indexes (default 200)")
    queue.add_argument("--cases", type=int, default=200, help="cases walked from detection to closing (default 200)")
    queue.add_argument("--seed", type=int, default=1, help="seed of the request mix (default 1)")
    queue.add_argument("--json", action="store_true", help="end with one line of JSON holding every figure")
    export = commands.add_parser(
        "export",
        help="the training export of reviewed frames against copying the same files",
        description="Write --frames reviewed key frames as a YOLO dataset (read and checked by hash, labelled, split "
        "by camera-minute) and copy the same files (the baseline): seconds and peak memory of each.",
    )
    export.add_argument("--frames", type=int, default=100_000, help="labelled frames (default 100,000)")
    export.add_argument("--json", action="store_true", help="end with one line of JSON holding every figure")
    args = parser.parse_args(argv)
    if args.command == "export":
        return _export(args.frames, args.json)

    from bench import review_queue

    url = os.environ.get("OFFSITE_BENCH_POSTGRES_URL", DEFAULT_POSTGRES)
    print(
        f"review queue: {args.rows:,} detections on {make_url(url).render_as_string(hide_password=True)}, "
        f"{args.queries} requests, {args.cases} cases (this takes a while) …",
        file=sys.stderr,
        flush=True,
    )
    result = review_queue.run(url, rows=args.rows, queries=args.queries, seed=args.seed, cases=args.cases)
    print(summary(result))
    if args.json:
        print(json.dumps(result, ensure_ascii=False, separators=(",", ":")))
    return 0


def _export(frames: int, as_json: bool) -> int:
    from bench import review_export

    print(f"review export: {frames:,} frames (this takes a while) …", file=sys.stderr, flush=True)
    r = review_export.run(frames)
    machine = r["machine"]
    print(
        f"review export, {r['frames']:,} frames: {r['export_s']} s ({r['frames_per_s']:,} frames/s), peak "
        f"{r['export_peak_mb']} MB\n  copying the same files (baseline): {r['copy_s']} s, peak {r['copy_peak_mb']} MB"
        f"\n  ratio (export / copy): {r['ratio']}x\nmachine: {machine['platform']}, {machine['cpu']} × {machine['cpus']}"
    )
    if as_json:
        print(json.dumps(r, ensure_ascii=False, separators=(",", ":")))
    return 0


def summary(r: dict[str, Any]) -> str:
    machine = r["machine"]
    lines = [
        f"review queue, {r['rows']:,} detections (generated in {r['load_s']} s)",
        f"  with ix_detections_queue_*   p50 {r['indexed_p50_ms']:>9.2f} ms   p99 {r['indexed_p99_ms']:>9.2f} ms"
        f"   ({r['queries']} requests)",
        f"  without (baseline)           p50 {r['unindexed_p50_ms']:>9.2f} ms   p99 {r['unindexed_p99_ms']:>9.2f} ms"
        f"   ({r['unindexed_queries']} requests)",
        f"  ratio (baseline p50 / indexed p50): {r['ratio']}x",
        "  p50 by request shape (indexed / baseline, ms) and the indexed plan:",
    ]
    for shape, p50 in r["by_shape_p50_ms"].items():
        plan = r["plans"].get(shape, {}).get("indexed", "")
        lines.append(f"    {shape:<25} {p50['indexed']:>9.2f} / {p50['unindexed']:>9.2f}   {plan}")
    deep = r["deep_page"]
    lines += [
        f"keyset paging, confirmed detections: first page p50 {deep['first_page_p50_ms']:.2f} ms, the page after "
        f"{deep['rows_skipped']:,} rows p50 {deep['deep_page_p50_ms']:.2f} ms ({deep['ratio']}x)   {deep['plan']}",
        f"case transitions ({r['cases']} cases, {r['transitions'] // r['cases']} steps each)",
        f"  PostgreSQL {r['transitions_per_s']:>8.1f} /s    SQLite {r['transitions_per_s_sqlite']:>8.1f} /s",
        f"machine: {machine['platform']}, {machine['cpu']} × {machine['cpus']}, Python {machine['python']}, "
        f"PostgreSQL {machine['postgresql']}",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
