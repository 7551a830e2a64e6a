"""Glue job: raw usage events (newline-delimited EventBridge envelopes, gzip) to curated Parquet.

Reads ``raw/`` with a job bookmark (only objects new since the last successful run), flattens each
envelope to the curated columns, casts the types, drops duplicate ``eventId``s within the run and
against the curated days the run touches, partitions by event time (``occurredAt``) and appends
Snappy Parquet to ``curated/usage_events/``. A record that cannot become a row goes to
``errors/glue/`` with its reason instead of failing the job.

The column list, the lake prefixes, the event-time window and the table's parameters arrive as
the ``--curated_columns`` job argument, generated from the TypeScript contracts, so the job and its
local DuckDB twin write the same table. Before it reads anything the job brings the catalogue
table up to the contract (new columns, ``partition_filtering.enabled``): the crawler's incremental
mode never changes a table's schema, and Athena reads only the columns the table lists.

Everything above ``main()`` is plain Python with no Spark import, so the transformation is unit
tested with ``python3 -m unittest`` on a machine without Spark, and Spark runs exactly that code.
"""

import json
import sys
from datetime import datetime, timedelta, timezone
from functools import lru_cache

EXPECTED_DETAIL_TYPE = "api-usage-event"
EXPECTED_SCHEMA_VERSION = "1"
# Longest raw line copied into an error record: enough to diagnose, bounded so one bad producer
# cannot bloat errors/.
MAX_ERROR_LINE_CHARS = 8192
INT32_MIN, INT32_MAX = -(2**31), 2**31 - 1
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1

# Spark settings the job depends on, applied to its session before anything is read or written.
# Spark 3.5 (Glue 5.0) refuses to write a timestamp before 1900-01-01T00:00:00Z to Parquet while
# spark.sql.parquet.datetimeRebaseModeInWrite is EXCEPTION, its default (WRITE_ANCIENT_DATETIME:
# https://spark.apache.org/docs/3.5.4/sql-error-conditions-inconsistent-behavior-cross-version-error-class.html).
# The event-time window keeps such rows out; the modes are still set so that Spark writes and reads
# timestamps as they are (proleptic Gregorian, as Athena and DuckDB read them) instead of failing
# the run, which would stall the bookmark on the same raw objects for good.
SPARK_SESSION_CONF = {
    "spark.sql.session.timeZone": "UTC",
    "spark.sql.parquet.outputTimestampType": "TIMESTAMP_MICROS",
    "spark.sql.sources.partitionColumnTypeInference.enabled": "false",
    "spark.sql.parquet.datetimeRebaseModeInWrite": "CORRECTED",
    "spark.sql.parquet.datetimeRebaseModeInRead": "CORRECTED",
    "spark.sql.parquet.int96RebaseModeInWrite": "CORRECTED",
    "spark.sql.parquet.int96RebaseModeInRead": "CORRECTED",
}

# The TableInput fields of a GetTable answer that UpdateTable takes back.
TABLE_INPUT_KEYS = (
    "Name", "Description", "Owner", "LastAccessTime", "LastAnalyzedTime", "Retention", "StorageDescriptor",
    "PartitionKeys", "ViewOriginalText", "ViewExpandedText", "TableType", "Parameters", "TargetTable",
)


class MalformedRecord(Exception):
    """A raw record that cannot become a curated row; the message is the reason recorded."""


def is_blank(line):
    """A blank line holds no record (Firehose writes none); it is skipped, not an error."""
    return line is None or not line.strip()


def parse_line(line):
    """Parses one newline-delimited record into an envelope dict."""
    if is_blank(line):
        raise MalformedRecord("empty line")
    try:
        envelope = json.loads(line)
    except ValueError as error:
        raise MalformedRecord("not JSON: %s" % error)
    if not isinstance(envelope, dict):
        raise MalformedRecord("not a JSON object")
    return envelope


def lookup(envelope, dotted_path):
    """Returns the value at ``detail.eventId``-style paths, or None when any step is missing."""
    value = envelope
    for key in dotted_path.split("."):
        if not isinstance(value, dict):
            return None
        value = value.get(key)
    return value


def parse_timestamp(text):
    """ISO-8601 with ``Z`` or an offset, to a naive UTC datetime (Spark's session zone is UTC)."""
    if not isinstance(text, str):
        raise ValueError("expected an ISO-8601 string")
    normalised = text.strip()
    if normalised.endswith("Z") or normalised.endswith("z"):
        normalised = normalised[:-1] + "+00:00"
    # Python 3.7-3.10 fromisoformat accepts 0, 3 or 6 fractional digits only: normalise to 6.
    head, sep, rest = normalised.partition(".")
    if sep:
        digits = ""
        while rest and rest[0].isdigit():
            digits, rest = digits + rest[0], rest[1:]
        normalised = head + "." + (digits + "000000")[:6] + rest
    parsed = datetime.fromisoformat(normalised)
    if parsed.tzinfo is None:
        raise ValueError("timestamp has no time zone")
    return parsed.astimezone(timezone.utc).replace(tzinfo=None)


def cast_value(value, column_type):
    """Casts a JSON value to the column's type; raises ValueError naming what was expected."""
    if column_type == "string":
        if not isinstance(value, str):
            raise ValueError("expected a string")
        return value
    if column_type == "timestamp":
        try:
            return parse_timestamp(value)
        except ValueError as error:
            raise ValueError("expected an ISO-8601 timestamp with a time zone (%s)" % error)
    if column_type in ("int", "bigint"):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ValueError("expected a whole number")
        if isinstance(value, float):
            if not value.is_integer():
                raise ValueError("expected a whole number")
            value = int(value)
        low, high = (INT32_MIN, INT32_MAX) if column_type == "int" else (INT64_MIN, INT64_MAX)
        if not low <= value <= high:
            raise ValueError("out of range for %s" % column_type)
        return value
    if column_type == "double":
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ValueError("expected a number")
        return float(value)
    if column_type == "map<string,string>":
        if not isinstance(value, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in value.items()
        ):
            raise ValueError("expected an object of string values")
        return dict(value)
    raise ValueError("unsupported column type %s" % column_type)


@lru_cache(maxsize=4)
def parse_bound(text):
    """A window bound, parsed once per worker rather than once per record."""
    return parse_timestamp(text)


def check_event_time(row, window):
    """Raises MalformedRecord when the row's event time lies outside the contract's window."""
    occurred = row[window["eventTimeColumn"]]
    if occurred < parse_bound(window["earliest"]):
        raise MalformedRecord("%s: before %s, the earliest event time accepted" % (window["eventTimeSource"], window["earliest"]))
    ahead = window["maxAheadOfReceiptSeconds"]
    if occurred - row[window["receiptTimeColumn"]] > timedelta(seconds=ahead):
        raise MalformedRecord("%s: more than %d s after the envelope time" % (window["eventTimeSource"], ahead))


def flatten_envelope(envelope, columns, window=None):
    """Flattens an EventBridge envelope to a dict of curated column values.

    A required column without a value, a value of the wrong type, an event time outside
    ``window`` (when given), or an envelope that is not a version-1 usage event raises
    MalformedRecord.
    """
    detail_type = envelope.get("detail-type")
    if detail_type != EXPECTED_DETAIL_TYPE:
        raise MalformedRecord("detail-type is not %r (got %r)" % (EXPECTED_DETAIL_TYPE, detail_type))
    if not isinstance(envelope.get("detail"), dict):
        raise MalformedRecord("detail is missing or not an object")
    version = lookup(envelope, "detail.schemaVersion")
    if version != EXPECTED_SCHEMA_VERSION:
        raise MalformedRecord("unsupported schemaVersion %r" % (version,))
    row = {}
    for column in columns:
        value = lookup(envelope, column["source"])
        if value is None and "default" in column:
            value = column["default"]
        if value is None:
            if column["required"]:
                raise MalformedRecord("missing %s" % column["source"])
            row[column["name"]] = None
            continue
        try:
            row[column["name"]] = cast_value(value, column["type"])
        except ValueError as error:
            raise MalformedRecord("%s: %s" % (column["source"], error))
    if window is not None:
        check_event_time(row, window)
    return row


def event_time_partition(occurred_at):
    """The curated partition of an event time: zero-padded (year, month, day) strings."""
    return ("%04d" % occurred_at.year, "%02d" % occurred_at.month, "%02d" % occurred_at.day)


def curate_line(line, columns, window=None):
    """One raw line to ``("ok", row)`` with partition columns, or ``("error", error_record)``."""
    try:
        row = flatten_envelope(parse_line(line), columns, window)
    except MalformedRecord as error:
        text = line if isinstance(line, str) else repr(line)
        return ("error", {"reason": str(error), "line": text[:MAX_ERROR_LINE_CHARS]})
    row["year"], row["month"], row["day"] = event_time_partition(row["occurred_at"])
    return ("ok", row)


def delivery_order(row):
    """Sort key of copies of one event: the first one received wins, ties broken by source."""
    return (row["received_at"], row.get("source") or "")


def prefer_record(first, second):
    """Of two copies of one event, the one to keep; commutative, so Spark may reduce in any order."""
    return first if delivery_order(first) <= delivery_order(second) else second


def dedup_records(rows, existing_event_ids=()):
    """Keeps one row per event_id, dropping ids already present in the curated days touched."""
    existing = set(existing_event_ids)
    kept = {}
    for row in rows:
        key = row["event_id"]
        if key in existing:
            continue
        kept[key] = prefer_record(kept[key], row) if key in kept else row
    return list(kept.values())


def touched_partitions(rows):
    """The distinct (year, month, day) partitions of some rows, sorted."""
    return sorted({(row["year"], row["month"], row["day"]) for row in rows})


def spark_type_name(column_type):
    """The Spark SQL DDL type of a curated column type."""
    return {
        "string": "string",
        "timestamp": "timestamp",
        "int": "int",
        "bigint": "bigint",
        "double": "double",
        "map<string,string>": "map<string,string>",
    }[column_type]


def curated_ddl_schema(columns, partitions):
    """The DataFrame schema as a DDL string: curated columns, then partition columns."""
    fields = ["`%s` %s" % (c["name"], spark_type_name(c["type"])) for c in columns]
    fields += ["`%s` string" % p["name"] for p in partitions]
    return ", ".join(fields)


def row_values(row, columns, partitions):
    """A row dict as a tuple in schema order."""
    return tuple(row.get(c["name"]) for c in columns) + tuple(row[p["name"]] for p in partitions)


def plan_table_update(table, columns, parameters):
    """The TableInput that brings a catalogue table (a GetTable ``Table``) up to the contract, or None.

    Columns of the contract the table lacks are appended (existing ones are left as the crawler
    typed them), and the table parameters the contract names are set. Everything else is kept.
    """
    descriptor = dict(table.get("StorageDescriptor") or {})
    existing = list(descriptor.get("Columns") or [])
    known = {c["Name"].lower() for c in existing} | {p["Name"].lower() for p in table.get("PartitionKeys") or []}
    missing = [
        {"Name": c["name"], "Type": c["type"], "Comment": c["comment"][:255]}
        for c in columns
        if c["name"].lower() not in known
    ]
    current = dict(table.get("Parameters") or {})
    changed = {k: v for k, v in parameters.items() if current.get(k) != v}
    if not missing and not changed:
        return None
    table_input = {k: table[k] for k in TABLE_INPUT_KEYS if k in table}
    descriptor["Columns"] = existing + missing
    table_input["StorageDescriptor"] = descriptor
    current.update(changed)
    table_input["Parameters"] = current
    return table_input


def sync_catalog_table(glue, database, spec):
    """Applies plan_table_update to the curated table; returns what changed (None: nothing to do).

    Before the first crawl there is no table: the crawler creates it from the Parquet, which
    already holds every column of the contract.
    """
    try:
        table = glue.get_table(DatabaseName=database, Name=spec["table"]["name"])["Table"]
    except glue.exceptions.EntityNotFoundException:
        return None
    table_input = plan_table_update(table, spec["columns"], spec["table"]["parameters"])
    if table_input is not None:
        glue.update_table(DatabaseName=database, TableInput=table_input)
    return table_input


def main():  # pragma: no cover - runs on AWS Glue only
    import boto3
    from awsglue.context import GlueContext
    from awsglue.job import Job
    from awsglue.utils import getResolvedOptions
    from pyspark.context import SparkContext
    from pyspark.sql.utils import AnalysisException

    args = getResolvedOptions(sys.argv, ["JOB_NAME", "JOB_RUN_ID", "lake_bucket", "database_name", "curated_columns"])
    spec = json.loads(args["curated_columns"])
    columns, partitions, prefixes = spec["columns"], spec["partitions"], spec["prefixes"]
    window = spec["eventTimeWindow"]
    partition_names = [p["name"] for p in partitions]
    base = "s3://%s/" % args["lake_bucket"]
    curated_path = base + prefixes["curated"]

    sc = SparkContext.getOrCreate()
    glue_context = GlueContext(sc)
    spark = glue_context.spark_session
    for key, value in SPARK_SESSION_CONF.items():
        spark.conf.set(key, value)
    job = Job(glue_context)
    job.init(args["JOB_NAME"], args)
    sync_catalog_table(boto3.client("glue"), args["database_name"], spec)

    # Each line is one column: \x01 cannot occur unescaped in valid JSON, and quoting is off.
    raw = glue_context.create_dynamic_frame.from_options(
        connection_type="s3",
        connection_options={"paths": [base + prefixes["raw"]], "recurse": True, "groupFiles": "inPartition"},
        format="csv",
        format_options={"separator": "\u0001", "quoteChar": -1, "withHeader": False},
        transformation_ctx="raw_usage_events",
    )
    lines = raw.toDF()
    if len(lines.columns) == 0 or lines.rdd.isEmpty():
        job.commit()
        return

    results = lines.rdd.filter(lambda r: not is_blank(r[0])).map(lambda r: curate_line(r[0], columns, window)).cache()
    rows = results.filter(lambda r: r[0] == "ok").map(lambda r: r[1])
    errors = results.filter(lambda r: r[0] == "error").map(lambda r: r[1])

    unique = rows.keyBy(lambda row: row["event_id"]).reduceByKey(prefer_record).cache()
    touched = unique.map(lambda kv: tuple(kv[1][p] for p in partition_names)).distinct().collect()
    if touched:
        try:
            existing_df = spark.read.parquet(curated_path).select("event_id", *partition_names)
            condition = " OR ".join(
                "(" + " AND ".join("%s = '%s'" % (n, v) for n, v in zip(partition_names, values)) + ")"
                for values in touched
            )
            existing = existing_df.where(condition).select("event_id").rdd.map(lambda r: (r[0], None))
            unique = unique.subtractByKey(existing)
        except AnalysisException:
            pass  # no curated data yet

    new_rows = unique.values().map(lambda row: row_values(row, columns, partitions))
    frame = spark.createDataFrame(new_rows, curated_ddl_schema(columns, partitions))
    frame.write.mode("append").partitionBy(*partition_names).option("compression", "snappy").parquet(curated_path)

    if not errors.isEmpty():
        run_day = datetime.now(timezone.utc).strftime("year=%Y/month=%m/day=%d")
        error_path = "%s%s%s/run=%s/" % (base, prefixes["glueErrors"], run_day, args["JOB_RUN_ID"])
        spark.createDataFrame(errors.map(lambda e: (json.dumps(e),)), "value string").write.mode(
            "append"
        ).option("compression", "gzip").text(error_path)

    job.commit()


if __name__ == "__main__":
    main()
