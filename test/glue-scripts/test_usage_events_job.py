"""Unit tests of the Glue job's pure transformation functions; plain python3, no Spark."""

import contextlib
import importlib.util
import io
import json
import os
import py_compile
import sys
import types
import unittest
from unittest import mock
from datetime import datetime, timedelta

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
SCRIPT = os.path.join(ROOT, "glue-scripts", "usage_events_job.py")
# Generated from contracts/curated-columns.ts: the same list the stack passes to the job.
SPEC = json.load(open(os.path.join(ROOT, "contracts", "generated", "curated-columns.json")))
COLUMNS = SPEC["columns"]
PARTITIONS = SPEC["partitions"]
WINDOW = SPEC["eventTimeWindow"]
REASONS = SPEC["reasons"]
# The detail-type and schema version the contract gives a usage event (contracts/usage-event.ts).
DETAIL_TYPE = SPEC["envelope"]["detailType"]
SCHEMA_VERSION = SPEC["envelope"]["schemaVersion"]


def load_job():
    spec = importlib.util.spec_from_file_location("usage_events_job", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


job = load_job()


# A detail field to leave out of the envelope (None stands for JSON null).
DROP = object()


def envelope(**detail_overrides):
    detail = {
        "schemaVersion": SCHEMA_VERSION,
        "eventId": "evt-00000001",
        "occurredAt": "2026-10-31T23:59:58.123Z",
        "service": "orders",
        "tenantId": "acme",
        "operation": "GET /v1/orders/{id}",
        "method": "GET",
        "statusCode": 200,
        "latencyMs": 12.5,
    }
    detail.update(detail_overrides)
    detail = {k: v for k, v in detail.items() if v is not DROP}
    return {
        "version": "0",
        "id": "6a7e8feb-b491-4cf7-a9f1-bf3703467718",
        "detail-type": DETAIL_TYPE,
        "source": "my-applications",
        "account": "111122223333",
        "time": "2026-11-01T00:00:05Z",
        "region": "eu-west-1",
        "resources": [],
        "detail": detail,
    }


class Describe_compile(unittest.TestCase):
    def test_script_compiles(self):
        py_compile.compile(SCRIPT, doraise=True)

    def test_module_imports_without_spark(self):
        self.assertTrue(callable(job.main))
        self.assertNotIn("pyspark", job.__dict__)


class Describe_flatten_envelope(unittest.TestCase):
    def test_maps_every_curated_column_from_the_envelope(self):
        row = job.flatten_envelope(
            envelope(
                userId="u-1",
                apiKeyId="key-1",
                feature="orders.read",
                requestBytes=10,
                responseBytes=2048,
                billableUnits=3,
                tier="premium",
                region="eu-west-1",
                attributes={"plan": "annual"},
            ),
            SPEC,
        )
        self.assertEqual([c["name"] for c in COLUMNS], list(row.keys()))
        self.assertEqual(row["event_id"], "evt-00000001")
        self.assertEqual(row["source"], "my-applications")
        self.assertEqual(row["tenant_id"], "acme")
        self.assertEqual(row["user_id"], "u-1")
        self.assertEqual(row["api_key_id"], "key-1")
        self.assertEqual(row["feature"], "orders.read")
        self.assertEqual(row["request_bytes"], 10)
        self.assertEqual(row["response_bytes"], 2048)
        self.assertEqual(row["billable_units"], 3.0)
        self.assertEqual(row["attributes"], {"plan": "annual"})
        self.assertEqual(row["received_at"], datetime(2026, 11, 1, 0, 0, 5))

    def test_optional_fields_are_null_and_billable_units_defaults_to_one(self):
        row = job.flatten_envelope(envelope(), SPEC)
        self.assertIsNone(row["user_id"])
        self.assertIsNone(row["attributes"])
        self.assertEqual(row["billable_units"], 1.0)

    def test_missing_required_field_names_it(self):
        with self.assertRaisesRegex(job.MalformedRecord, "missing detail.tenantId"):
            job.flatten_envelope(envelope(tenantId=DROP), SPEC)

    def test_refuses_other_detail_types_and_versions(self):
        other = envelope()
        other["detail-type"] = "order-placed"
        with self.assertRaisesRegex(job.MalformedRecord, "detail-type"):
            job.flatten_envelope(other, SPEC)
        with self.assertRaisesRegex(job.MalformedRecord, "schemaVersion"):
            job.flatten_envelope(envelope(schemaVersion="2"), SPEC)


class Describe_value_checks(unittest.TestCase):
    """Each column's constraints come from the contract (the spec); the job checks them in order."""

    def reason_for(self, **detail):
        status, error = job.curate_line(json.dumps(envelope(**detail)), SPEC)
        self.assertEqual(status, "error", detail)
        return error["reason"]

    def test_json_numbers_become_the_column_type(self):
        row = job.flatten_envelope(envelope(statusCode=200.0, latencyMs=7, requestBytes=2**40), SPEC)
        self.assertEqual(row["status_code"], 200)
        self.assertIsInstance(row["status_code"], int)
        self.assertIsInstance(row["latency_ms"], float)
        self.assertEqual(row["request_bytes"], 2**40)

    def test_refuses_wrong_types_naming_the_field(self):
        cases = {
            "detail.statusCode: expected a whole number": [dict(statusCode="200"), dict(statusCode=True), dict(statusCode=200.5)],
            "detail.latencyMs: expected a number": [dict(latencyMs="fast"), dict(latencyMs=None)],
            "detail.service: expected a string": [dict(service=5)],
            "detail.attributes: expected an object": [dict(attributes=["a"])],
            "detail.attributes value: expected a string": [dict(attributes={"a": 1})],
        }
        for reason, overrides in cases.items():
            for override in overrides:
                with self.subTest(override=override):
                    self.assertEqual(self.reason_for(**override), reason)

    def test_refuses_what_the_contract_bounds(self):
        cases = [
            (dict(statusCode=700), "detail.statusCode: above the maximum of 599"),
            (dict(statusCode=99), "detail.statusCode: below the minimum of 100"),
            (dict(latencyMs=-1), "detail.latencyMs: below the minimum of 0"),
            (dict(billableUnits=1000001), "detail.billableUnits: above the maximum of 1000000"),
            (dict(eventId="x"), "detail.eventId: does not match ^[A-Za-z0-9._:-]{8,128}$"),
            (dict(method="GET\n"), "detail.method: does not match ^[A-Z]{3,16}$"),
            (dict(tenantId=""), "detail.tenantId: length below the minimum of 1"),
            (dict(tier="t" * 65), "detail.tier: length above the maximum of 64"),
            (dict(occurredAt="2026-10-31T23:59:58+00:00"), "detail.occurredAt: expected an ISO-8601 date-time in UTC ending in Z"),
            (dict(attributes={"k%d" % i: "v" for i in range(21)}), "detail.attributes: more than 20 entries"),
            (dict(attributes={"": "v"}), "detail.attributes key: length below the minimum of 1"),
        ]
        for override, reason in cases:
            with self.subTest(override=override):
                self.assertEqual(self.reason_for(**override), reason)

    def test_digits_are_ascii_as_in_javascript(self):
        # \d in the contract's date-time pattern: Python's re would take Arabic-Indic digits too.
        self.assertIn("ISO-8601", self.reason_for(occurredAt="\u0662026-10-31T23:59:58Z"))

    def test_lengths_count_code_points_as_zod_does(self):
        row = job.flatten_envelope(envelope(service="\U0001F600" * 128), SPEC)
        self.assertEqual(len(row["service"]), 128)
        self.assertEqual(self.reason_for(service="\U0001F600" * 129), "detail.service: length above the maximum of 128")

    def test_refuses_unknown_and_repeated_keys(self):
        self.assertEqual(self.reason_for(tenantID="acme"), 'detail: unknown key "tenantID"')
        line = json.dumps(envelope()).replace('"statusCode": 200', '"statusCode": 700, "statusCode": 200')
        self.assertEqual(job.curate_line(line, SPEC)[1]["reason"], 'detail: duplicate key "statusCode"')

    def test_refuses_json_that_javascript_would_not_parse(self):
        line = json.dumps(envelope()).replace('"latencyMs": 12.5', '"latencyMs": NaN')
        self.assertEqual(job.curate_line(line, SPEC)[1]["reason"], "not JSON")

    def test_null_is_a_value_of_the_wrong_type_not_an_absent_field(self):
        self.assertEqual(self.reason_for(billableUnits=None), "detail.billableUnits: expected a number")

    def test_timestamps_become_naive_utc(self):
        self.assertEqual(job.parse_timestamp("2026-11-01T00:00:00.5Z"), datetime(2026, 11, 1, 0, 0, 0, 500000))


class Describe_event_time_partition(unittest.TestCase):
    def test_partitions_by_occurred_at_not_arrival(self):
        status, row = job.curate_line(json.dumps(envelope()), SPEC)
        self.assertEqual(status, "ok")
        # Occurred on 31 October, arrived on 1 November: billed (and partitioned) in October.
        self.assertEqual((row["year"], row["month"], row["day"]), ("2026", "10", "31"))

    def test_zero_pads(self):
        self.assertEqual(job.event_time_partition(datetime(2026, 1, 5, 3), PARTITIONS), {"year": "2026", "month": "01", "day": "05"})


def with_envelope(**overrides):
    """The spec with another detail-type or schema version, as a later contract might give it."""
    return dict(SPEC, envelope=dict(SPEC["envelope"], **overrides))


class Describe_contract_facts_come_from_the_spec(unittest.TestCase):
    """The job checks and lays out what the spec says, so the contract is their one source."""

    def test_checks_the_detail_type_the_spec_names(self):
        spec = with_envelope(detailType="usage-event-v2")
        renamed = envelope()
        renamed["detail-type"] = "usage-event-v2"
        self.assertEqual(job.curate_line(json.dumps(renamed), spec)[0], "ok")
        status, error = job.curate_line(json.dumps(envelope()), spec)
        self.assertEqual((status, error["reason"]), ("error", REASONS["detailType"]))

    def test_checks_the_schema_version_the_spec_names(self):
        # A version 2 contract: its envelope check, and the schema_version column's own constant.
        spec = with_envelope(schemaVersion="2")
        spec["columns"] = [dict(c, constraints=dict(c["constraints"], const="2")) if "const" in c["constraints"] else c for c in COLUMNS]
        self.assertEqual(job.curate_line(json.dumps(envelope(schemaVersion="2")), spec)[0], "ok")
        status, error = job.curate_line(json.dumps(envelope()), spec)
        self.assertEqual((status, error["reason"]), ("error", REASONS["schemaVersion"]))

    def test_partitions_rows_and_rejects_as_the_spec_lays_them_out(self):
        layout = [{"name": "yr", "type": "string", "datePart": "year", "digits": 5}, {"name": "mo", "type": "string", "datePart": "month", "digits": 3}]
        spec = dict(SPEC, partitions=layout)
        status, row = job.curate_line(json.dumps(envelope()), spec)
        self.assertEqual((status, row["yr"], row["mo"]), ("ok", "02026", "010"))
        self.assertNotIn("day", row)
        self.assertEqual(job.errors_partition_path(spec, datetime(2026, 1, 5)), SPEC["prefixes"]["glueErrors"] + "yr=02026/mo=001/")
        self.assertEqual(job.touched_partitions([row], layout), [("02026", "010")])

    def test_the_script_spells_none_of_these_facts(self):
        with open(SCRIPT) as source:
            text = source.read()
        for literal in [DETAIL_TYPE] + ['"%s"' % p["name"] for p in PARTITIONS] + ["'%s'" % p["name"] for p in PARTITIONS]:
            self.assertNotIn(literal, text)


class Describe_curate_line(unittest.TestCase):
    def test_malformed_lines_become_error_records_with_a_reason(self):
        cases = {
            "{not json": "not JSON",
            "[1, 2]": "not a JSON object",
            json.dumps(envelope(latencyMs=DROP)): "missing detail.latencyMs",
        }
        for line, reason in cases.items():
            with self.subTest(line=line):
                status, error = job.curate_line(line, SPEC)
                self.assertEqual(status, "error")
                self.assertIn(reason, error["reason"])
                self.assertEqual(error["line"], line)

    def test_blank_lines_hold_no_record(self):
        self.assertTrue(job.is_blank("   "))
        self.assertTrue(job.is_blank(" \t\r"))
        self.assertTrue(job.is_blank(None))
        self.assertFalse(job.is_blank("{}"))
        # Only JSON white space is blank (as in the DuckDB twin): a form feed is a line that is not JSON.
        self.assertFalse(job.is_blank("\f"))
        self.assertEqual(job.curate_line("\f", SPEC)[1]["reason"], REASONS["notJson"])

    def test_error_lines_are_truncated(self):
        status, error = job.curate_line("x" * (SPEC["maxErrorLineChars"] + 100), SPEC)
        self.assertEqual(status, "error")
        self.assertEqual(len(error["line"]), SPEC["maxErrorLineChars"])


def row_for(event_id, received, source="my-applications"):
    line = envelope(eventId=event_id)
    line["time"] = received
    line["source"] = source
    return job.curate_line(json.dumps(line), SPEC)[1]


class Describe_dedup(unittest.TestCase):
    def test_keeps_the_first_copy_received(self):
        late = row_for("evt-dup-0001", "2026-11-01T00:10:00Z")
        early = row_for("evt-dup-0001", "2026-11-01T00:00:01Z")
        other = row_for("evt-uni-0002", "2026-11-01T00:05:00Z")
        kept = job.dedup_records([late, other, early])
        self.assertEqual(sorted(r["event_id"] for r in kept), ["evt-dup-0001", "evt-uni-0002"])
        self.assertEqual(next(r for r in kept if r["event_id"] == "evt-dup-0001")["received_at"], early["received_at"])

    def test_prefer_record_is_commutative(self):
        a = row_for("evt-dup-0001", "2026-11-01T00:00:01Z", source="a-source")
        b = row_for("evt-dup-0001", "2026-11-01T00:00:01Z", source="b-source")
        self.assertIs(job.prefer_record(a, b), a)
        self.assertIs(job.prefer_record(b, a), a)

    def test_drops_ids_already_curated(self):
        rows = [row_for("evt-old-0001", "2026-11-01T00:00:01Z"), row_for("evt-new-0002", "2026-11-01T00:00:02Z")]
        kept = job.dedup_records(rows, existing_event_ids={"evt-old-0001"})
        self.assertEqual([r["event_id"] for r in kept], ["evt-new-0002"])

    def test_touched_partitions(self):
        rows = [row_for("evt-a-000001", "2026-11-01T00:00:01Z"), row_for("evt-b-000002", "2026-11-01T00:00:02Z")]
        self.assertEqual(job.touched_partitions(rows, PARTITIONS), [("2026", "10", "31")])


class Describe_event_time_window(unittest.TestCase):
    """Spark 3.5 fails a whole run on a Parquet timestamp before 1900; the window refuses them first."""

    def curate(self, occurred_at, received_at="2026-11-01T00:00:05Z"):
        line = envelope(occurredAt=occurred_at)
        line["time"] = received_at
        return job.curate_line(json.dumps(line), SPEC)

    def test_refuses_ancient_event_times_as_malformed_records(self):
        for occurred in ("0001-01-01T00:00:00Z", "1899-12-31T23:59:59Z", "1970-01-01T00:00:00Z", "1999-12-31T23:59:59.999Z"):
            status, error = self.curate(occurred)
            self.assertEqual(status, "error", occurred)
            self.assertEqual(error["reason"], "detail.occurredAt: before %s, the earliest event time accepted" % WINDOW["earliest"])

    def test_refuses_event_times_ahead_of_the_envelope(self):
        for occurred in ("2026-11-01T00:05:05.001Z", "2026-11-01T02:00:05Z", "9999-12-31T23:59:59Z"):
            status, error = self.curate(occurred)
            self.assertEqual(status, "error", occurred)
            self.assertEqual(error["reason"], "detail.occurredAt: more than %d s after the envelope time" % WINDOW["maxAheadOfReceiptSeconds"])

    def test_accepts_the_window_edges_and_late_events(self):
        self.assertEqual(self.curate(WINDOW["earliest"], received_at=WINDOW["earliest"])[0], "ok")
        for occurred in ("2026-11-01T00:05:05Z", "2026-10-01T00:00:00Z", "2026-09-27T00:00:05Z"):
            status, row = self.curate(occurred)
            self.assertEqual(status, "ok", occurred)

    def test_refuses_events_older_than_the_late_window(self):
        days = WINDOW["lateEventWindowDays"]
        oldest = datetime(2026, 11, 1, 0, 0, 5) - timedelta(days=days)
        iso = lambda at: at.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
        self.assertEqual(self.curate(iso(oldest))[0], "ok")
        status, error = self.curate(iso(oldest - timedelta(milliseconds=1)))
        self.assertEqual((status, error["reason"]), ("error", "detail.occurredAt: more than %d days before the envelope time" % days))

    def test_the_late_window_is_the_deployments_choice(self):
        spec = dict(SPEC, eventTimeWindow=dict(WINDOW, lateEventWindowDays=1))
        line = envelope(occurredAt="2026-10-30T00:00:04Z")
        status, error = job.curate_line(json.dumps(line), spec)
        self.assertEqual(error["reason"], "detail.occurredAt: more than 1 days before the envelope time")

    def test_main_curates_with_the_spec_and_sets_the_rebase_modes(self):
        import inspect

        source = inspect.getsource(job.main)
        self.assertIn("curate_line(r[0], spec)", source)
        self.assertIn("errors_partition_path(spec, datetime.now(timezone.utc))", source)
        self.assertIn('publish_curation_metrics(boto3.client("cloudwatch"), spec, args["JOB_NAME"], rejected, rows.count())', source)
        self.assertIn("for key, value in SPARK_SESSION_CONF.items():", source)
        for key in ("spark.sql.parquet.datetimeRebaseModeInWrite", "spark.sql.parquet.int96RebaseModeInWrite"):
            self.assertEqual(job.SPARK_SESSION_CONF[key], "CORRECTED")


class Describe_rejects_output(unittest.TestCase):
    def test_error_records_go_to_the_run_days_partition_of_the_rejects_table(self):
        self.assertEqual(job.errors_partition_path(SPEC, datetime(2026, 1, 5, 23, 59)), "errors/glue/year=2026/month=01/day=05/")

    def test_metrics_count_refused_and_curated_records_by_job(self):
        data = job.curation_metric_data(SPEC, "usage-job", 3, 1200)
        self.assertEqual(
            [(d["MetricName"], d["Value"], d["Unit"], d["Dimensions"]) for d in data],
            [
                ("RejectedRecords", 3.0, "Count", [{"Name": "JobName", "Value": "usage-job"}]),
                ("CuratedRecords", 1200.0, "Count", [{"Name": "JobName", "Value": "usage-job"}]),
            ],
        )


class FakeCloudWatch:
    """A CloudWatch client double: records put_metric_data calls, or raises ``error``."""

    def __init__(self, error=None):
        self.error, self.calls = error, []

    def put_metric_data(self, Namespace, MetricData):
        if self.error is not None:
            raise self.error
        self.calls.append((Namespace, MetricData))


def botocore_stand_in():
    """sys.modules entries standing in for botocore.exceptions where botocore is not installed
    (none where it is): the two classes publish_curation_metrics catches."""
    try:
        import botocore.exceptions  # noqa: F401
        return {}
    except ImportError:
        exceptions = types.ModuleType("botocore.exceptions")
        exceptions.BotoCoreError = type("BotoCoreError", (Exception,), {})
        exceptions.ClientError = type("ClientError", (Exception,), {})
        package = types.ModuleType("botocore")
        package.exceptions = exceptions
        return {"botocore": package, "botocore.exceptions": exceptions}


class Describe_publish_curation_metrics(unittest.TestCase):
    def setUp(self):
        patch = mock.patch.dict(sys.modules, botocore_stand_in())
        patch.start()
        self.addCleanup(patch.stop)

    def test_publishes_in_the_namespace_the_spec_names(self):
        cloudwatch = FakeCloudWatch()
        spec = dict(SPEC, metrics=dict(SPEC["metrics"], namespace="Elsewhere"))
        job.publish_curation_metrics(cloudwatch, spec, "usage-job", 3, 1200)
        self.assertEqual(cloudwatch.calls, [("Elsewhere", job.curation_metric_data(spec, "usage-job", 3, 1200))])

    def test_a_failed_publish_is_logged_and_does_not_fail_the_run(self):
        from botocore.exceptions import BotoCoreError

        log = io.StringIO()
        with contextlib.redirect_stderr(log):
            job.publish_curation_metrics(FakeCloudWatch(error=BotoCoreError()), SPEC, "usage-job", 3, 1200)
        self.assertIn("could not publish the curation metrics (3 rejected, 1200 curated)", log.getvalue())


class FakeGlue:
    """A Glue client double for the catalogue sync: records update_table calls."""

    class exceptions:
        class EntityNotFoundException(Exception):
            pass

    def __init__(self, table=None):
        self.table, self.updates = table, []

    def get_table(self, DatabaseName, Name):
        if self.table is None:
            raise self.exceptions.EntityNotFoundException(Name)
        return {"Table": dict(self.table, DatabaseName=DatabaseName, CreatedBy="crawler", UpdateTime="t")}

    def update_table(self, DatabaseName, TableInput):
        self.updates.append((DatabaseName, TableInput))


def crawled_table(columns, parameters=None):
    return {
        "Name": "usage_events",
        "TableType": "EXTERNAL_TABLE",
        "Parameters": dict(parameters or {"classification": "parquet"}),
        "PartitionKeys": [{"Name": p["name"], "Type": "string"} for p in PARTITIONS],
        "StorageDescriptor": {
            "Columns": [{"Name": c["name"], "Type": c["type"]} for c in columns],
            "Location": "s3://lake/curated/usage_events/",
            "SerdeInfo": {"SerializationLibrary": "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe"},
        },
    }


class Describe_catalog_sync(unittest.TestCase):
    def test_adds_a_column_the_contract_gained_and_keeps_the_rest(self):
        glue = FakeGlue(crawled_table(COLUMNS[:-1], {"classification": "parquet", "partition_filtering.enabled": "true"}))
        job.sync_catalog_table(glue, "api_usage", SPEC)
        self.assertEqual(len(glue.updates), 1)
        database, table_input = glue.updates[0]
        self.assertEqual(database, "api_usage")
        names = [c["Name"] for c in table_input["StorageDescriptor"]["Columns"]]
        self.assertEqual(names, [c["name"] for c in COLUMNS])
        self.assertEqual(table_input["StorageDescriptor"]["Columns"][-1]["Type"], COLUMNS[-1]["type"])
        self.assertEqual(table_input["StorageDescriptor"]["Location"], "s3://lake/curated/usage_events/")
        self.assertEqual([p["Name"] for p in table_input["PartitionKeys"]], ["year", "month", "day"])
        self.assertEqual(table_input["Parameters"]["classification"], "parquet")
        # GetTable's read-only fields are not TableInput fields.
        self.assertNotIn("CreatedBy", table_input)
        self.assertNotIn("DatabaseName", table_input)

    def test_turns_on_partition_filtering_so_athena_uses_the_partition_index(self):
        glue = FakeGlue(crawled_table(COLUMNS))
        job.sync_catalog_table(glue, "api_usage", SPEC)
        self.assertEqual(glue.updates[0][1]["Parameters"]["partition_filtering.enabled"], "true")

    def test_leaves_an_up_to_date_table_alone(self):
        glue = FakeGlue(crawled_table(COLUMNS, {"classification": "parquet", "partition_filtering.enabled": "true"}))
        self.assertIsNone(job.sync_catalog_table(glue, "api_usage", SPEC))
        self.assertEqual(glue.updates, [])

    def test_leaves_the_table_to_the_first_crawl_when_there_is_none(self):
        glue = FakeGlue(None)
        self.assertIsNone(job.sync_catalog_table(glue, "api_usage", SPEC))
        self.assertEqual(glue.updates, [])

    def test_never_adds_a_partition_key_as_a_column(self):
        columns = COLUMNS + [{"name": "Year", "type": "string", "comment": "clash"}]
        self.assertEqual(job.plan_table_update(crawled_table(COLUMNS, SPEC["table"]["parameters"]), columns, SPEC["table"]["parameters"]), None)


class Describe_schema(unittest.TestCase):
    def test_ddl_lists_columns_then_partitions(self):
        ddl = job.curated_ddl_schema(COLUMNS, PARTITIONS)
        self.assertTrue(ddl.startswith("`event_id` string, `schema_version` string, `occurred_at` timestamp"))
        self.assertTrue(ddl.endswith("`year` string, `month` string, `day` string"))
        self.assertIn("`attributes` map<string,string>", ddl)

    def test_row_values_follow_schema_order(self):
        row = row_for("evt-a-000001", "2026-11-01T00:00:01Z")
        values = job.row_values(row, COLUMNS, PARTITIONS)
        self.assertEqual(len(values), len(COLUMNS) + len(PARTITIONS))
        self.assertEqual(values[0], "evt-a-000001")
        self.assertEqual(values[-3:], ("2026", "10", "31"))


if __name__ == "__main__":
    unittest.main()
