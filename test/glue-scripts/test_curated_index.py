"""Unit tests of the Glue job's index of curated event ids (plain python3, no Spark): the key, the
segment layout, and which segments a run trusts or rebuilds."""

import importlib.util
import json
import os
import unittest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
SCRIPT = os.path.join(ROOT, "glue-scripts", "usage_events_job.py")
SPEC = json.load(open(os.path.join(ROOT, "contracts", "generated", "curated-columns.json")))


def load_job():
    spec = importlib.util.spec_from_file_location("usage_events_job_index", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


job = load_job()
CURATED = SPEC["prefixes"]["curated"]
INDEX = SPEC["prefixes"]["curatedIndex"]
DAY = "year=2026/month=09/day=01/"
FILE_A = CURATED + DAY + "part-00000-0a1b2c3d-4e5f-6a7b-8c9d-0e1f2a3b4c5d.c000.snappy.parquet"
FILE_B = CURATED + DAY + "part-00001-0a1b2c3d-4e5f-6a7b-8c9d-0e1f2a3b4c5d.c000.snappy.parquet"


class EventIdKeyTest(unittest.TestCase):
    def test_key_is_the_first_hex_digits_of_the_md5(self):
        digits = SPEC["eventIdIndex"]["hexDigits"]
        # md5("evt-1") = ef205f13777dad5a0047ec2a523d3f1c; DuckDB gives the same (local/lake/event-id-index.ts).
        self.assertEqual(job.event_id_key("evt-1", digits), 0xEF205F13777DAD5)
        self.assertEqual(job.event_id_key("evt-1", digits), 1076929794470828757)
        self.assertLess(job.event_id_key("é", digits), 2**63)

    def test_spec_names_the_index_prefix_and_column(self):
        self.assertEqual(SPEC["eventIdIndex"]["column"], "event_key")
        self.assertFalse(INDEX.startswith(CURATED), "the crawler and Athena must never read the index")


class IndexPlanTest(unittest.TestCase):
    def segment(self, curated):
        return job.index_segment_key(SPEC, curated)

    def test_segment_folder_sits_in_the_same_partition_folders(self):
        self.assertEqual(self.segment(FILE_A), INDEX + DAY + "file=" + FILE_A.rsplit("/", 1)[1] + "/")
        with self.assertRaises(ValueError):
            job.index_segment_key(SPEC, "raw/x.gz")

    def test_marked_segments_are_trusted(self):
        marked = [self.segment(FILE_A) + "part-0.snappy.parquet", self.segment(FILE_A) + job.INDEX_SEGMENT_COMPLETE]
        trusted, missing = job.plan_index(SPEC, [FILE_A, FILE_B], marked)
        self.assertEqual(trusted, [(FILE_A, self.segment(FILE_A))])
        self.assertEqual(missing, [FILE_B])

    def test_crash_between_data_and_index_rebuilds_the_segment(self):
        # A segment written in part (no marker: the write failed, or the run stopped before marking).
        partial = [self.segment(FILE_A) + "part-0.snappy.parquet"]
        trusted, missing = job.plan_index(SPEC, [FILE_A], partial)
        self.assertEqual((trusted, missing), ([], [FILE_A]))

    def test_index_missing_is_rebuilt_from_every_curated_file(self):
        self.assertEqual(job.plan_index(SPEC, [FILE_B, FILE_A], []), ([], [FILE_A, FILE_B]))

    def test_segment_of_a_removed_curated_file_is_not_trusted(self):
        orphan = [self.segment(FILE_B) + job.INDEX_SEGMENT_COMPLETE]
        self.assertEqual(job.plan_index(SPEC, [FILE_A], orphan), ([], [FILE_A]))

    def test_only_parquet_data_files_are_indexed(self):
        keys = [FILE_A, CURATED + DAY + "_SUCCESS", CURATED + DAY + "_temporary/0/x.parquet", CURATED + DAY + ".x.parquet.crc"]
        self.assertEqual(job.curated_parquet_keys(keys), [FILE_A])


class OneFilePerSegmentAndDayTest(unittest.TestCase):
    """What the job writes per run: one curated file per day touched and one file per segment, as
    the local twin does, so a run opens as many segments as the runs before it wrote days."""

    def test_segment_rows_are_grouped_by_their_folder_and_sorted_by_key_after_it(self):
        folder, order = job.segment_write_order(SPEC)
        self.assertEqual(folder, [p["name"] for p in SPEC["partitions"]] + [job.INDEX_FILE_PARTITION])
        # Spark's partitioned write requires the folder columns first; the key sorts within a segment.
        self.assertEqual(order, folder + [SPEC["eventIdIndex"]["column"]])

    def test_writes_repartition_by_the_folder_columns(self):
        import inspect

        self.assertIn("frame.repartition(*partition_names).write.mode(\"append\").partitionBy(*partition_names)", inspect.getsource(job.main))
        build = inspect.getsource(job.CuratedIndex.build)
        self.assertIn("repartition(*segment_columns)", build)
        self.assertIn("partitionBy(*segment_columns)", build)


class DuplicatesAcrossRunsTest(unittest.TestCase):
    """The lookup's semantics, run on plain Python: keys narrow the search, ids decide."""

    def lookup(self, candidates, segments, curated_ids):
        digits = SPEC["eventIdIndex"]["hexDigits"]
        keys = {job.event_id_key(e, digits) for e in candidates}
        hit = [name for name, segment in segments.items() if keys & segment]
        return {e for name in hit for e in curated_ids[name] if e in candidates}

    def test_duplicates_of_earlier_runs_and_days_are_found_and_nothing_else(self):
        digits = SPEC["eventIdIndex"]["hexDigits"]
        curated_ids = {"day1-run1": {"evt-a", "evt-b"}, "day2-run1": {"evt-c"}}
        segments = {name: {job.event_id_key(e, digits) for e in ids} for name, ids in curated_ids.items()}
        batch = ["evt-b", "evt-c", "evt-new"]
        existing = self.lookup(set(batch), segments, curated_ids)
        self.assertEqual(existing, {"evt-b", "evt-c"})
        rows = [{"event_id": e, "received_at": 1, "source": "s"} for e in batch]
        self.assertEqual([r["event_id"] for r in job.dedup_records(rows, existing)], ["evt-new"])


if __name__ == "__main__":
    unittest.main()
