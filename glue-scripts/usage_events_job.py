"""Glue job: raw usage events (newline-delimited EventBridge envelopes, gzip) to curated Parquet.

Reads ``raw/`` with a job bookmark (only objects new since the last successful run), checks each
envelope against the usage event contract, flattens it to the curated columns, drops duplicate
``eventId``s within the run and against the curated days the run touches, partitions by event time
(``occurredAt``) and appends Snappy Parquet to ``curated/usage_events/``. A record the contract
refuses goes to ``errors/glue/`` with its reason instead of failing the job, and the run publishes
how many it refused as a CloudWatch metric.

The curation spec arrives as the ``--curated_columns`` job argument, generated from the TypeScript
contracts (contracts/curation-spec.ts): the columns with the constraints the contract puts on each
field (JSON Schema keywords: type, const, lengths, pattern, bounds, map sizes), the detail-type and
schema version a usage event carries, the objects that take no unknown keys, the event-time window,
the partition layout (names, date parts, digits), the reasons, the lake prefixes, the metric names
and the table's parameters: the job knows none of these facts itself. The local DuckDB twin (local/lake/curation-sql.ts) interprets the same spec in
the same order, so both accept exactly what the contract accepts and give the same reasons. Before
it reads anything the job brings the catalogue table up to the contract (new columns,
``partition_filtering.enabled``): the crawler's incremental mode never changes a table's schema,
and Athena reads only the columns the table lists.

Everything above ``main()`` is plain Python with no Spark import, so the transformation is unit
tested with ``python3 -m unittest`` on a machine without Spark, and Spark runs exactly that code.
"""

import hashlib
import json
import math
import posixpath
import re
import sys
from collections import Counter
from datetime import datetime, timedelta, timezone
from functools import lru_cache

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

# The order in which a value's constraints are checked (the DuckDB twin uses the same): the first
# that fails is the reason. Over a map's keys or values, each keyword is checked on every entry
# before the next keyword.
VALUE_CHECK_ORDER = ("type", "const", "minLength", "maxLength", "pattern", "minimum", "maximum")

# A field that is not in the record at all (JSON null is a value, and the wrong type).
ABSENT = object()


class MalformedRecord(Exception):
    """A raw record that cannot become a curated row; the message is the reason recorded."""


class JsonObject(dict):
    """A parsed JSON object that remembers its repeated keys: json.loads keeps the last value of a
    repeated key, other parsers the first, so a record with one is ambiguous and refused."""

    __slots__ = ("repeated_keys",)


def _json_object(pairs):
    for key, value in pairs:
        # A lone surrogate (\\ud800) parses, but no UTF-8 file (Parquet, errors/) can hold it:
        # refused as not JSON, as DuckDB's parser refuses the line.
        for text in (key, value) if isinstance(value, str) else (key,):
            if not text.isascii():
                text.encode("utf-8")
    obj = JsonObject(pairs)
    obj.repeated_keys = ()
    if len(obj) != len(pairs):
        counts = Counter(key for key, _ in pairs)
        obj.repeated_keys = tuple(dict.fromkeys(key for key, _ in pairs if counts[key] > 1))
    return obj


def _refuse_constant(name):
    # json.loads accepts NaN and Infinity, which JSON (and JSON.parse) does not.
    raise ValueError("%s is not JSON" % name)


def is_blank(line):
    """A blank line holds no record (Firehose writes none); it is skipped, not an error. Blank is
    JSON whitespace only (as in the DuckDB twin): a line of other white space is not JSON."""
    return line is None or not line.strip(" \t\n\r")


def reason_text(template, field, limit=None):
    """Fills a reason template's ``{field}`` and ``{limit}`` (as contracts/curation-spec.ts does)."""
    return template.replace("{field}", field, 1).replace("{limit}", "" if limit is None else str(limit), 1)


def reason_with_key(spec, template, field, key):
    """A reason naming an offending key, cut to the spec's length; the key is data, filled in last."""
    head, _, tail = reason_text(template, field).partition("{key}")
    return head + key[: spec["maxKeyInReason"]] + tail


def parse_line(line, spec):
    """Parses one newline-delimited record into an envelope dict."""
    reasons = spec["reasons"]
    if is_blank(line):
        raise MalformedRecord(reasons["notJson"])
    try:
        envelope = json.loads(line, object_pairs_hook=_json_object, parse_constant=_refuse_constant)
    except (ValueError, RecursionError):  # UnicodeEncodeError is a ValueError
        raise MalformedRecord(reasons["notJson"])
    if not isinstance(envelope, dict):
        raise MalformedRecord(reasons["notObject"])
    return envelope


def lookup(envelope, dotted_path):
    """The value at a ``detail.eventId``-style path, or ABSENT when any step is missing."""
    value = envelope
    for key in dotted_path.split("."):
        if not isinstance(value, dict) or key not in value:
            return ABSENT
        value = value[key]
    return value


def parse_timestamp(text):
    """ISO-8601 with ``Z`` (or an offset) to a naive UTC datetime (Spark's session zone is UTC)."""
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


@lru_cache(maxsize=64)
def compiled_pattern(pattern):
    # ASCII: \d is [0-9] in JavaScript (the contract's regexes) and RE2 (DuckDB), not any digit.
    return re.compile(pattern, re.ASCII)


def _as_number(value):
    """A JSON number as JavaScript reads it (a finite double), or None for anything else."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    try:
        number = float(value)
    except OverflowError:
        return None
    return number if math.isfinite(number) else None


def violates(keyword, value, constraints):
    """True when ``value`` breaks one keyword of its constraints (a JSON Schema subset)."""
    if keyword == "type":
        kind = constraints["type"]
        if kind == "string":
            return not isinstance(value, str)
        if kind == "number":
            return _as_number(value) is None
        if kind == "integer":
            number = _as_number(value)
            return number is None or not number.is_integer()
        return not isinstance(value, dict)
    if keyword == "const":
        return value != constraints["const"]
    if keyword == "minLength":
        return len(value) < constraints["minLength"]
    if keyword == "maxLength":
        return len(value) > constraints["maxLength"]
    if keyword == "pattern":
        return compiled_pattern(constraints["pattern"]).fullmatch(value) is None
    if keyword == "minimum":
        return _as_number(value) < constraints["minimum"]
    if keyword == "maximum":
        return _as_number(value) > constraints["maximum"]
    raise ValueError("unsupported constraint %s" % keyword)


def check_entries(values, constraints, field, spec):
    """Checks values against constraints, keyword by keyword; raises MalformedRecord with the first failure."""
    reasons = spec["reasons"]
    for keyword in VALUE_CHECK_ORDER:
        if keyword not in constraints:
            continue
        if any(violates(keyword, value, constraints) for value in values):
            if keyword == "type":
                raise MalformedRecord(reason_text(reasons["type"][constraints["type"]], field))
            if keyword == "pattern" and constraints.get("format") == "date-time":
                raise MalformedRecord(reason_text(reasons["dateTime"], field))
            limit = json.dumps(constraints["const"]) if keyword == "const" else constraints[keyword]
            raise MalformedRecord(reason_text(reasons[keyword], field, limit))
        if keyword == "type" and constraints["type"] == "object":
            check_map(values[0], constraints, field, spec)


def check_map(value, constraints, field, spec):
    """A map's own checks, after its type: repeated keys, size, then every key, then every value."""
    reasons = spec["reasons"]
    repeated = getattr(value, "repeated_keys", ())
    if repeated:
        raise MalformedRecord(reason_with_key(spec, reasons["duplicateKey"], field, repeated[0]))
    if "maxProperties" in constraints and len(value) > constraints["maxProperties"]:
        raise MalformedRecord(reason_text(reasons["maxProperties"], field, constraints["maxProperties"]))
    if "propertyNames" in constraints:
        check_entries(list(value.keys()), constraints["propertyNames"], field + " key", spec)
    if "additionalProperties" in constraints:
        check_entries(list(value.values()), constraints["additionalProperties"], field + " value", spec)


def typed_value(value, column):
    """A checked JSON value as the column stores it."""
    column_type = column["type"]
    if column_type == "timestamp":
        try:
            return parse_timestamp(value)
        except ValueError:
            # The contract's pattern passed, so only year 0000 is beyond Python's datetime: it lies
            # before any event-time window, which refuses it as the DuckDB twin does.
            return datetime.min
    if column_type in ("int", "bigint"):
        return int(value)
    if column_type == "double":
        return float(value)
    if column_type == "map<string,string>":
        return dict(value)
    return value


@lru_cache(maxsize=4)
def parse_bound(text):
    """A window bound, parsed once per worker rather than once per record."""
    return parse_timestamp(text)


def check_event_time(row, window, reasons):
    """Raises MalformedRecord when the row's event time lies outside the contract's window."""
    occurred, received = row[window["eventTimeColumn"]], row[window["receiptTimeColumn"]]
    field = window["eventTimeSource"]
    if occurred < parse_bound(window["earliest"]):
        raise MalformedRecord(reason_text(reasons["beforeEarliest"], field, window["earliest"]))
    ahead = window["maxAheadOfReceiptSeconds"]
    if occurred - received > timedelta(seconds=ahead):
        raise MalformedRecord(reason_text(reasons["aheadOfReceipt"], field, ahead))
    late = window["lateEventWindowDays"]
    if received - occurred > timedelta(days=late):
        raise MalformedRecord(reason_text(reasons["lateForReceipt"], field, late))


def check_envelope(envelope, spec):
    """The record-level checks, in order: repeated keys the curation reads, the detail-type, the
    detail object and its repeated keys, the schema version, unknown keys of closed objects."""
    reasons, expected = spec["reasons"], spec["envelope"]
    repeated = [key for key in getattr(envelope, "repeated_keys", ()) if key in expected["keysRead"]]
    if repeated:
        raise MalformedRecord(reason_with_key(spec, reasons["duplicateKey"], "envelope", repeated[0]))
    if envelope.get("detail-type") != expected["detailType"]:
        raise MalformedRecord(reasons["detailType"])
    detail = envelope.get("detail")
    if not isinstance(detail, dict):
        raise MalformedRecord(reasons["detailNotObject"])
    if getattr(detail, "repeated_keys", ()):
        raise MalformedRecord(reason_with_key(spec, reasons["duplicateKey"], "detail", detail.repeated_keys[0]))
    if detail.get("schemaVersion") != expected["schemaVersion"]:
        raise MalformedRecord(reasons["schemaVersion"])
    for closed in spec["closedObjects"]:
        obj = lookup(envelope, closed["source"])
        if isinstance(obj, dict):
            known = set(closed["keys"])
            unknown = [key for key in obj if key not in known]
            if unknown:
                raise MalformedRecord(reason_with_key(spec, reasons["unknownKey"], closed["source"], unknown[0]))


def flatten_envelope(envelope, spec):
    """Checks an EventBridge envelope against the contract and flattens it to curated column values.

    Whatever the contract refuses (see check_envelope, then each column's constraints in column
    order, then the event-time window) raises MalformedRecord with the reason.
    """
    reasons = spec["reasons"]
    check_envelope(envelope, spec)
    row = {}
    for column in spec["columns"]:
        value = lookup(envelope, column["source"])
        if value is ABSENT and "default" in column:
            value = column["default"]
        if value is ABSENT:
            if column["required"]:
                raise MalformedRecord(reason_text(reasons["missing"], column["source"]))
            row[column["name"]] = None
            continue
        check_entries([value], column["constraints"], column["source"], spec)
        row[column["name"]] = typed_value(value, column)
    check_event_time(row, spec["eventTimeWindow"], reasons)
    return row


def event_time_partition(at, partitions):
    """The partition values of a (naive UTC) time, by partition name, as the spec's layout cuts
    them: each partition holds one date part, zero-padded to its digits (``"2026"``, ``"03"``)."""
    return {p["name"]: "%0*d" % (p["digits"], getattr(at, p["datePart"])) for p in partitions}


def curate_line(line, spec):
    """One raw line to ``("ok", row)`` with partition columns, or ``("error", error_record)``."""
    try:
        row = flatten_envelope(parse_line(line, spec), spec)
    except MalformedRecord as error:
        text = line if isinstance(line, str) else repr(line)
        return ("error", {"reason": str(error), "line": text[: spec["maxErrorLineChars"]]})
    row.update(event_time_partition(row[spec["eventTimeWindow"]["eventTimeColumn"]], spec["partitions"]))
    return ("ok", row)


def partition_folders(partitions, values):
    """Hive-style folders of partition values, in the spec's order: ``year=2026/month=01/day=05/``
    (the folders Spark's ``partitionBy`` writes)."""
    return "".join("%s=%s/" % (p["name"], values[p["name"]]) for p in partitions)


def errors_partition_path(spec, run_at):
    """The run day's (UTC) folder under ``errors/glue/``: the rejects table's partition."""
    return spec["prefixes"]["glueErrors"] + partition_folders(spec["partitions"], event_time_partition(run_at, spec["partitions"]))


def curation_metric_data(spec, job_name, rejected, curated):
    """The run's PutMetricData entries: records refused and records curated, by job name."""
    metrics = spec["metrics"]
    dimensions = [{"Name": metrics["jobNameDimension"], "Value": job_name}]
    return [
        {"MetricName": metrics["rejectedRecords"], "Dimensions": dimensions, "Value": float(rejected), "Unit": "Count"},
        {"MetricName": metrics["curatedRecords"], "Dimensions": dimensions, "Value": float(curated), "Unit": "Count"},
    ]


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


def touched_partitions(rows, partitions):
    """The distinct partitions of some rows (tuples of values in the spec's order), sorted."""
    return sorted({tuple(row[p["name"]] for p in partitions) for row in rows})


# The index of curated event ids (the DuckDB twin keeps the same, see local/lake/event-id-index.ts).
# Each curated Parquet file has a segment: the sorted keys of its event ids (60 bits of their MD5,
# the spec's eventIdIndex), under the index prefix in the same partition folders, in a folder
# ``file=<the curated file's name>/``. A run reads the keys of the days it touches (8 bytes an
# event, not the day's event_id columns) and reads event_ids only from the curated files whose keys
# it found: two ids may share a key, so the ids decide. Spark writes a segment through its commit
# protocol, and a failed job may leave part of one behind, so the driver marks a segment complete
# (INDEX_SEGMENT_COMPLETE) once its write has returned; an unmarked segment, or a curated file with
# none (a crash between the data and the index, a lake curated before the index), is built again
# from the curated file before anything is looked up. A segment is trusted only while its curated
# file exists.
INDEX_SEGMENT_COMPLETE = "_COMPLETE"
INDEX_FILE_PARTITION = "file"


def event_id_key(event_id, digits):
    """An event id's index key: the first ``digits`` hex digits of the MD5 of its UTF-8 bytes."""
    return int(hashlib.md5(event_id.encode("utf-8")).hexdigest()[:digits], 16)


def index_segment_key(spec, curated_key):
    """The folder (key ending in ``/``) of a curated file's index segment."""
    prefixes = spec["prefixes"]
    if not curated_key.startswith(prefixes["curated"]):
        raise ValueError("%s is not under %s" % (curated_key, prefixes["curated"]))
    folder, name = posixpath.split(curated_key[len(prefixes["curated"]):])
    return "%s%s/%s=%s/" % (prefixes["curatedIndex"], folder, INDEX_FILE_PARTITION, name)


def segment_write_order(spec):
    """How the index is written: the columns that name a segment's folder (the partitions, then
    ``file``), by which the rows are repartitioned so each segment is one task's one file, and the
    order within a task (those columns, then the key), which begins with the order Spark's
    partitioned write requires."""
    folder = [p["name"] for p in spec["partitions"]] + [INDEX_FILE_PARTITION]
    return folder, folder + [spec["eventIdIndex"]["column"]]


def plan_index(spec, curated_keys, index_keys):
    """Which segments a run may trust and which curated files need one.

    ``curated_keys`` are the curated Parquet files of the days touched, ``index_keys`` every object
    under those days' index folders. Returns ``(trusted, missing)``: (curated file, segment folder)
    pairs whose segment is marked complete, and the curated files whose segment is absent or
    unmarked. Segments of curated files that no longer exist are left out.
    """
    complete = {key[: -len(INDEX_SEGMENT_COMPLETE)] for key in index_keys if key.endswith("/" + INDEX_SEGMENT_COMPLETE)}
    trusted, missing = [], []
    for curated in sorted(curated_keys):
        segment = index_segment_key(spec, curated)
        if segment in complete:
            trusted.append((curated, segment))
        else:
            missing.append(curated)
    return trusted, missing


def curated_parquet_keys(keys):
    """The Parquet data files among some object keys (not Spark's markers or temporary files)."""
    return [k for k in keys if k.endswith(".parquet") and "/_" not in k and not posixpath.basename(k).startswith((".", "_"))]


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

    args = getResolvedOptions(sys.argv, ["JOB_NAME", "JOB_RUN_ID", "lake_bucket", "database_name", "curated_columns"])
    spec = json.loads(args["curated_columns"])
    columns, partitions, prefixes = spec["columns"], spec["partitions"], spec["prefixes"]
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

    results = lines.rdd.filter(lambda r: not is_blank(r[0])).map(lambda r: curate_line(r[0], spec)).cache()
    rows = results.filter(lambda r: r[0] == "ok").map(lambda r: r[1])
    errors = results.filter(lambda r: r[0] == "error").map(lambda r: r[1])

    unique = rows.keyBy(lambda row: row["event_id"]).reduceByKey(prefer_record).cache()
    touched = unique.map(lambda kv: tuple(kv[1][p] for p in partition_names)).distinct().collect()
    index = CuratedIndex(spark, sc, base, spec, touched)
    # Segments for curated files that lack one (a crash between data and index, a lake curated
    # before the index) before anything is looked up.
    existing = index.curated_ids_among(unique, index.ensure())
    if existing is not None:
        # Lazy: Spark reads the segments' curated files when the write below runs; nothing writes
        # to the days touched in between, so it reads what the lookup found.
        unique = unique.subtractByKey(existing)

    new_rows = unique.values().map(lambda row: row_values(row, columns, partitions))
    frame = spark.createDataFrame(new_rows, curated_ddl_schema(columns, partitions))
    # One file per day partition per run, as the local twin writes: Spark writes a file for each
    # task and partition value it holds, so rows of one day spread over many tasks make many small
    # files, each with its own index segment for the next runs to open
    # (https://github.com/awslabs/aws-glue-samples/blob/master/FAQ_and_How_to.md,
    # https://repost.aws/knowledge-center/glue-job-output-large-files). Repartitioning by the
    # partition columns puts every row of a day in one task
    # (https://spark.apache.org/docs/latest/api/python/reference/pyspark.sql/api/pyspark.sql.DataFrame.repartition.html).
    frame.repartition(*partition_names).write.mode("append").partitionBy(*partition_names).option("compression", "snappy").parquet(curated_path)
    # The new files' segments, read back from what the commit protocol put in place, after the
    # data and before job.commit(): a crash in between leaves files the next run indexes.
    index.ensure()

    rejected = errors.count()
    if rejected > 0:
        # One folder per run day, shared by that day's runs: Spark names each part file with a
        # fresh UUID, so an append never overwrites another run's records, and the rejects table
        # projects its partitions from these folder names.
        error_path = base + errors_partition_path(spec, datetime.now(timezone.utc))
        spark.createDataFrame(errors.map(lambda e: (json.dumps(e),)), "value string").write.mode(
            "append"
        ).option("compression", "gzip").text(error_path)
    publish_curation_metrics(boto3.client("cloudwatch"), spec, args["JOB_NAME"], rejected, rows.count())

    job.commit()


class CuratedIndex:  # pragma: no cover - runs on AWS Glue only
    """The index of curated event ids in S3 (see plan_index), for the days a run touches.

    Listing and the completion markers go through the Hadoop file system Spark writes with
    (EMRFS, Glue's s3://). Where the EMRFS S3-optimized committer writes (Spark's Parquet output on
    EMRFS), each task's files become visible when that task commits, not all at job commit
    (https://docs.aws.amazon.com/emr/latest/ReleaseGuide/emr-spark-s3-optimized-committer.html,
    https://docs.aws.amazon.com/emr/latest/ReleaseGuide/emr-spark-committer-multipart.html), so
    a failed write can leave part of a segment behind: hence the driver's marker, written once the
    write has returned, and the rebuild of any segment without one (an append: the leftover part
    holds keys of the same curated file, so the segment stays exact).
    """

    def __init__(self, spark, sc, base, spec, touched):
        self.spark, self.base, self.spec = spark, base, spec
        names = [p["name"] for p in spec["partitions"]]
        self.folders = [partition_folders(spec["partitions"], dict(zip(names, values))) for values in touched]
        jvm = sc._jvm
        self.Path = jvm.org.apache.hadoop.fs.Path
        self.fs = self.Path(base).getFileSystem(sc._jsc.hadoopConfiguration())

    def keys_under(self, prefix):
        """Every object key under a prefix (recursively); none when it does not exist."""
        path = self.Path(self.base + prefix)
        if not self.fs.exists(path):
            return []
        found, files = [], self.fs.listFiles(path, True)
        while files.hasNext():
            found.append(files.next().getPath().toUri().getPath().lstrip("/"))
        return found

    def ensure(self):
        """Builds the segments missing in the days touched; returns every (curated file, segment) pair."""
        prefixes = self.spec["prefixes"]
        curated, index = [], []
        for folder in self.folders:
            curated += curated_parquet_keys(self.keys_under(prefixes["curated"] + folder))
            index += self.keys_under(prefixes["curatedIndex"] + folder)
        trusted, missing = plan_index(self.spec, curated, index)
        if missing:
            self.build(missing)
            trusted += [(key, index_segment_key(self.spec, key)) for key in missing]
        return trusted

    def key_column(self, column):
        from pyspark.sql import functions as F

        digits = self.spec["eventIdIndex"]["hexDigits"]
        return F.conv(F.substring(F.md5(F.col(column)), 1, digits), 16, 10).cast("bigint")

    def build(self, curated_keys):
        """Writes the segments of some curated files (partition folders, then file=<name>), then marks them complete."""
        from pyspark.sql import functions as F

        key, names = self.spec["eventIdIndex"]["column"], [p["name"] for p in self.spec["partitions"]]
        segment_columns, order = segment_write_order(self.spec)
        frame = self.spark.read.parquet(*[self.base + k for k in curated_keys]).select(F.input_file_name().alias("source"), self.key_column("event_id").alias(key))
        for name in names:
            frame = frame.withColumn(name, F.regexp_extract("source", "/%s=([^/]+)/" % re.escape(name), 1))
        frame = frame.withColumn(INDEX_FILE_PARTITION, F.regexp_extract("source", "([^/]+)$", 1)).drop("source")
        # One task per segment, so one file in it rather than one per task of the distinct's
        # shuffle (DataFrame.repartition by the folder columns, as the curated write above). Keys
        # sorted after the folder columns, the order the partitioned write requires: Spark adds no
        # sort of its own when the plan's order starts with it (V1Writes,
        # https://github.com/apache/spark/blob/master/sql/core/src/main/scala/org/apache/spark/sql/execution/datasources/V1Writes.scala).
        # The order only helps compression; the lookup reads a segment whole either way.
        frame = frame.repartition(*segment_columns).dropDuplicates().sortWithinPartitions(*order)
        frame.write.mode("append").partitionBy(*segment_columns).option("compression", "snappy").parquet(self.base + self.spec["prefixes"]["curatedIndex"])
        for curated in curated_keys:
            self.fs.create(self.Path(self.base + index_segment_key(self.spec, curated) + INDEX_SEGMENT_COMPLETE), True).close()

    def curated_ids_among(self, unique, trusted):
        """The (event_id, None) pairs of ``unique``'s ids curated before, or None when there are none."""
        from pyspark.sql import functions as F

        if not trusted:
            return None
        key, digits = self.spec["eventIdIndex"]["column"], self.spec["eventIdIndex"]["hexDigits"]
        candidates = self.spark.createDataFrame(unique.keys().map(lambda e: (e, event_id_key(e, digits))), "event_id string, %s bigint" % key)
        segments = self.spark.read.parquet(*[self.base + segment for _, segment in trusted])
        found = segments.select(key, F.input_file_name().alias("segment")).join(F.broadcast(candidates.select(key)), key, "left_semi")
        hit = {posixpath.dirname(row[0].split(self.base, 1)[-1]) + "/" for row in found.select("segment").distinct().collect()}
        files = [self.base + curated for curated, segment in trusted if segment in hit]
        if not files:
            return None
        ids = self.spark.read.parquet(*files).select("event_id").join(F.broadcast(candidates.select("event_id")), "event_id", "left_semi")
        return ids.rdd.map(lambda r: (r[0], None))


def publish_curation_metrics(cloudwatch, spec, job_name, rejected, curated):  # pragma: no cover - runs on AWS Glue only
    """PutMetricData in the spec's namespace (the job role may publish there and in Glue's only:
    https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/iam-cw-condition-keys-namespace.html).
    A failure is logged, not raised: the curated rows and error records are written, and failing
    the run now would hold the bookmark back and write the same error records again next run."""
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        cloudwatch.put_metric_data(Namespace=spec["metrics"]["namespace"], MetricData=curation_metric_data(spec, job_name, rejected, curated))
    except (BotoCoreError, ClientError) as error:
        print("WARNING: could not publish the curation metrics (%d rejected, %d curated): %s" % (rejected, curated, error), file=sys.stderr)


if __name__ == "__main__":
    main()
