import { accountEventDetailSchema } from '../../contracts/account-events';
import {
  ACCOUNT_EVENTS_TABLE,
  FIREHOSE_ACCOUNT_EVENTS_ERROR_PREFIX,
  FIREHOSE_ACCOUNT_EVENTS_PREFIX,
  FIREHOSE_BUFFERING,
  FIREHOSE_ERROR_PREFIX,
  FIREHOSE_RAW_PREFIX,
  LAKE_PREFIXES,
  accountEventDetailGlueType,
  accountEventsPartitionPrefix,
  curatedIndexSegmentKey,
  curatedPartitionOf,
  curatedPartitionPrefix,
  curationErrorsPartitionPrefix,
  curatedTableLevel,
  renderFirehosePrefix,
} from '../../contracts/lake-layout';
import { curationSpec } from '../../contracts/curation-spec';

describe('Function: renderFirehosePrefix', () => {
  it('renders the raw prefix in UTC, zero-padded', () => {
    const at = new Date('2026-03-04T05:06:07Z');
    expect(renderFirehosePrefix(FIREHOSE_RAW_PREFIX, at)).toBe('raw/year=2026/month=03/day=04/hour=05/');
  });

  it('renders the error prefix with the error type', () => {
    const at = new Date('2026-12-31T23:59:59Z');
    expect(renderFirehosePrefix(FIREHOSE_ERROR_PREFIX, at, 'S3Failed')).toBe('errors/S3Failed/year=2026/month=12/day=31/');
  });

  it('refuses an expression Firehose would not know', () => {
    expect(() => renderFirehosePrefix('raw/!{timestamp:mm}/', new Date())).toThrow(
      'Unsupported Firehose prefix expression !{timestamp:mm} in "raw/!{timestamp:mm}/".',
    );
  });

  it('keeps raw data and errors under their lake prefixes', () => {
    expect(FIREHOSE_RAW_PREFIX.startsWith(LAKE_PREFIXES.raw)).toBe(true);
    expect(FIREHOSE_ERROR_PREFIX.startsWith(LAKE_PREFIXES.errors)).toBe(true);
    expect(LAKE_PREFIXES.glueErrors.startsWith(LAKE_PREFIXES.errors)).toBe(true);
  });
});

describe('Function: curatedPartitionPrefix', () => {
  it('partitions by the event time in UTC', () => {
    const late = new Date('2026-10-31T23:30:00-02:00'); // 1 November 01:30 UTC
    expect(curatedPartitionOf(late)).toEqual({ year: '2026', month: '11', day: '01' });
    expect(curatedPartitionPrefix(late)).toBe('curated/usage_events/year=2026/month=11/day=01/');
  });

  it('zero-pads every part, a year before 1000 included', () => {
    expect(curatedPartitionOf(new Date('0999-02-03T00:00:00Z'))).toEqual({ year: '0999', month: '02', day: '03' });
  });

  it('is the layout the curation spec hands the Glue job: each partition a date part at its width', () => {
    const { partitions } = curationSpec();
    for (const at of [new Date('2026-01-05T23:59:59Z'), new Date('2026-12-31T00:00:00Z'), new Date('2000-10-01T12:00:00Z')]) {
      const parts = { year: at.getUTCFullYear(), month: at.getUTCMonth() + 1, day: at.getUTCDate() };
      const fromSpec = Object.fromEntries(partitions.map((p) => [p.name, String(parts[p.datePart]).padStart(p.digits, '0')]));
      expect({ at, partition: fromSpec }).toEqual({ at, partition: curatedPartitionOf(at) });
    }
    expect(curationErrorsPartitionPrefix(new Date('2026-01-05T23:59:00Z'))).toBe('errors/glue/year=2026/month=01/day=05/');
  });

  it('puts the table at S3 level 3 (bucket/curated/usage_events)', () => {
    expect(curatedTableLevel()).toBe(3);
  });
});

describe('Function: curatedIndexSegmentKey', () => {
  it('puts a curated file’s index segment in the same partition folders under the index prefix, outside the crawled table', () => {
    const file = `${curatedPartitionPrefix(new Date('2026-09-01T10:00:00Z'))}part-0a1b.parquet`;
    expect(curatedIndexSegmentKey(file)).toBe(`${LAKE_PREFIXES.curatedIndex}year=2026/month=09/day=01/part-0a1b.parquet`);
    expect(LAKE_PREFIXES.curatedIndex.startsWith(LAKE_PREFIXES.curated)).toBe(false);
    expect(() => curatedIndexSegmentKey('raw/x.gz')).toThrow();
  });
});

describe('Account events in the lake (issue 16)', () => {
  it('keep their own prefix, outside raw/ (the curation never reads them), with errors under errors/ and the error type Firehose requires', () => {
    expect(FIREHOSE_ACCOUNT_EVENTS_PREFIX.startsWith(LAKE_PREFIXES.accountEvents)).toBe(true);
    expect(LAKE_PREFIXES.accountEvents.startsWith(LAKE_PREFIXES.raw)).toBe(false);
    expect(FIREHOSE_ACCOUNT_EVENTS_ERROR_PREFIX.startsWith(LAKE_PREFIXES.errors)).toBe(true);
    expect(FIREHOSE_ACCOUNT_EVENTS_ERROR_PREFIX).toContain('!{firehose:error-output-type}');
    expect(renderFirehosePrefix(FIREHOSE_ACCOUNT_EVENTS_PREFIX, new Date('2026-01-02T03:04:05Z'))).toBe(accountEventsPartitionPrefix(new Date('2026-01-02T03:04:05Z')));
  });

  it("the table's detail struct has exactly the contract's detail fields, in its order", () => {
    expect(ACCOUNT_EVENTS_TABLE.detailFields.map((field) => field.name)).toEqual(Object.keys(accountEventDetailSchema.shape));
    expect(accountEventDetailGlueType()).toBe('struct<schemaVersion:string,eventId:string,kind:string,tenantId:string,occurredAt:string,data:map<string,string>>');
  });

  it('buffers within what Firehose takes, and sooner than the usage stream', () => {
    const { intervalSeconds, sizeMiB } = ACCOUNT_EVENTS_TABLE.buffering;
    expect(intervalSeconds).toBeLessThan(FIREHOSE_BUFFERING.defaultIntervalSeconds);
    expect(intervalSeconds).toBeLessThanOrEqual(FIREHOSE_BUFFERING.maxIntervalSeconds);
    expect(sizeMiB).toBeGreaterThanOrEqual(1);
    expect(sizeMiB).toBeLessThanOrEqual(FIREHOSE_BUFFERING.maxSizeMiB);
  });
});
