"""Unit tests of the Glue job's pure transformation functions; plain python3, no Spark."""

import importlib.util
import json
import os
import py_compile
import unittest
from datetime import datetime

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
SCRIPT = os.path.join(ROOT, "glue-scripts", "usage_events_job.py")
# Generated from contracts/curated-columns.ts: the same list the stack passes to the job.
SPEC = json.load(open(os.path.join(ROOT, "contracts", "generated", "curated-columns.json")))
COLUMNS = SPEC["columns"]
PARTITIONS = SPEC["partitions"]


def load_job():
    spec = importlib.util.spec_from_file_location("usage_events_job", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


job = load_job()


def envelope(**detail_overrides):
    detail = {
        "schemaVersion": "1",
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
    detail = {k: v for k, v in detail.items() if v is not None}
    return {
        "version": "0",
        "id": "6a7e8feb-b491-4cf7-a9f1-bf3703467718",
        "detail-type": "api-usage-event",
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
            COLUMNS,
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
        row = job.flatten_envelope(envelope(), COLUMNS)
        self.assertIsNone(row["user_id"])
        self.assertIsNone(row["attributes"])
        self.assertEqual(row["billable_units"], 1.0)

    def test_missing_required_field_names_it(self):
        with self.assertRaisesRegex(job.MalformedRecord, "missing detail.tenantId"):
            job.flatten_envelope(envelope(tenantId=None), COLUMNS)

    def test_refuses_other_detail_types_and_versions(self):
        other = envelope()
        other["detail-type"] = "order-placed"
        with self.assertRaisesRegex(job.MalformedRecord, "detail-type"):
            job.flatten_envelope(other, COLUMNS)
        with self.assertRaisesRegex(job.MalformedRecord, "schemaVersion"):
            job.flatten_envelope(envelope(schemaVersion="2"), COLUMNS)


class Describe_cast_value(unittest.TestCase):
    def test_casts_json_numbers(self):
        self.assertEqual(job.cast_value(200.0, "int"), 200)
        self.assertIsInstance(job.cast_value(200.0, "int"), int)
        self.assertEqual(job.cast_value(7, "double"), 7.0)
        self.assertIsInstance(job.cast_value(7, "double"), float)
        self.assertEqual(job.cast_value(2**40, "bigint"), 2**40)

    def test_refuses_wrong_types(self):
        for value, column_type in [("200", "int"), (True, "int"), (200.5, "int"), (2**31, "int"),
                                   ("fast", "double"), (5, "string"), ({"a": 1}, "map<string,string>")]:
            with self.subTest(value=value, column_type=column_type):
                with self.assertRaises(ValueError):
                    job.cast_value(value, column_type)

    def test_timestamps_become_naive_utc(self):
        self.assertEqual(job.cast_value("2026-11-01T01:30:00+01:00", "timestamp"), datetime(2026, 11, 1, 0, 30))
        self.assertEqual(job.cast_value("2026-11-01T00:00:00.5Z", "timestamp"), datetime(2026, 11, 1, 0, 0, 0, 500000))
        with self.assertRaises(ValueError):
            job.cast_value("2026-11-01T00:00:00", "timestamp")
        with self.assertRaises(ValueError):
            job.cast_value("yesterday", "timestamp")

    def test_wrong_type_in_an_envelope_is_malformed_with_the_field(self):
        with self.assertRaisesRegex(job.MalformedRecord, "detail.statusCode: expected a whole number"):
            job.flatten_envelope(envelope(statusCode="200"), COLUMNS)


class Describe_event_time_partition(unittest.TestCase):
    def test_partitions_by_occurred_at_not_arrival(self):
        status, row = job.curate_line(json.dumps(envelope()), COLUMNS)
        self.assertEqual(status, "ok")
        # Occurred on 31 October, arrived on 1 November: billed (and partitioned) in October.
        self.assertEqual((row["year"], row["month"], row["day"]), ("2026", "10", "31"))

    def test_zero_pads(self):
        self.assertEqual(job.event_time_partition(datetime(2026, 1, 5, 3)), ("2026", "01", "05"))


class Describe_curate_line(unittest.TestCase):
    def test_malformed_lines_become_error_records_with_a_reason(self):
        cases = {
            "{not json": "not JSON",
            "[1, 2]": "not a JSON object",
            json.dumps(envelope(latencyMs=None)): "missing detail.latencyMs",
        }
        for line, reason in cases.items():
            with self.subTest(line=line):
                status, error = job.curate_line(line, COLUMNS)
                self.assertEqual(status, "error")
                self.assertIn(reason, error["reason"])
                self.assertEqual(error["line"], line)

    def test_blank_lines_hold_no_record(self):
        self.assertTrue(job.is_blank("   "))
        self.assertTrue(job.is_blank(None))
        self.assertFalse(job.is_blank("{}"))

    def test_error_lines_are_truncated(self):
        status, error = job.curate_line("x" * (job.MAX_ERROR_LINE_CHARS + 100), COLUMNS)
        self.assertEqual(status, "error")
        self.assertEqual(len(error["line"]), job.MAX_ERROR_LINE_CHARS)


def row_for(event_id, received, source="my-applications"):
    line = envelope(eventId=event_id)
    line["time"] = received
    line["source"] = source
    return job.curate_line(json.dumps(line), COLUMNS)[1]


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
        self.assertEqual(job.touched_partitions(rows), [("2026", "10", "31")])


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
