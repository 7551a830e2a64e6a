"""Runs the Glue job's own pure functions over raw lines, for the parity test with the local lake.

stdin: {"spec": {...}, "batches": [[line, ...], ...]}, the curation spec as the job receives it and one batch per job run.
stdout: {"rows": [row, ...], "errors": [{"reason", "line"}, ...]}, timestamps as ISO-8601 UTC.
"""
import importlib.util
import json
import os
import sys

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
spec = importlib.util.spec_from_file_location("usage_events_job", os.path.join(ROOT, "glue-scripts", "usage_events_job.py"))
job = importlib.util.module_from_spec(spec)
spec.loader.exec_module(job)

request = json.load(sys.stdin)
curated, errors = [], []
for batch in request["batches"]:
    rows = []
    for line in batch:
        if job.is_blank(line):
            continue
        outcome, value = job.curate_line(line, request["spec"])
        (rows if outcome == "ok" else errors).append(value)
    # Copies share occurred_at, so ids curated by earlier runs are those of the touched days.
    curated.extend(job.dedup_records(rows, existing_event_ids={row["event_id"] for row in curated}))


def plain(value):
    return value.isoformat() + "Z" if hasattr(value, "isoformat") else value


json.dump({"rows": [{k: plain(v) for k, v in row.items()} for row in curated], "errors": errors}, sys.stdout)
