import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { gzipSync } from 'node:zlib';
import { renderCuratedColumnsJson } from '../../../contracts/generated-artifacts';
import { CURATION_REASONS, CurationSpecOptions, reasonText } from '../../../contracts/curation-spec';
import { EVENT_TIME_WINDOW, usageEventDetailSchema, usageEventEnvelopeSchema } from '../../../contracts/usage-event';
import { LocalLake } from '../../../local/lake/local-lake';

/**
 * One validation for curation: the Glue job's Python and its DuckDB twin run over the same raw
 * lines, and each is held to the contract. Every bad record must be refused by both engines with
 * compatible reasons and by the contract itself (JSON.parse, the zod schemas, the event-time
 * window); every valid edge record must be accepted by all three, with the same row.
 */

const TIME = '2026-11-02T10:00:05Z';
const OCCURRED = '2026-11-02T10:00:00.123Z';
const DAY_MS = 86_400_000;
const LATE_DAYS = EVENT_TIME_WINDOW.defaultLateEventWindowDays;

type Detail = Record<string, unknown>;

/**
 * Makes valid lines and edits of them, each with an eventId of its own (`evt-<prefix>-0001`, …),
 * so that every line is distinct. Each maker counts on its own.
 */
function lineMaker(prefix: string) {
  let made = 0;
  const validDetail = (): Detail => ({
    schemaVersion: '1',
    eventId: `evt-${prefix}-${String(++made).padStart(4, '0')}`,
    occurredAt: OCCURRED,
    service: 'orders-service',
    tenantId: 'tenant-a',
    operation: 'GET /v1/orders/{id}',
    method: 'GET',
    statusCode: 200,
    latencyMs: 12.5,
  });
  const envelope = (detail: Detail, top: Record<string, unknown>) => ({
    version: '0',
    id: `env-${made}`,
    'detail-type': 'api-usage-event',
    source: 'my-applications',
    account: '123456789012',
    time: TIME,
    region: 'eu-west-1',
    resources: [],
    detail,
    ...top,
  });
  /** A line from a detail change and envelope changes; a field changed to `undefined` is left out (as JSON.stringify leaves it out). */
  const line = (change: Detail = {}, top: Record<string, unknown> = {}) => JSON.stringify(envelope({ ...validDetail(), ...change }, top));
  /** A valid line with its text edited, for what JSON.stringify cannot write (NaN, repeated keys, trailing commas). */
  const edited = (edit: (text: string) => string, change: Detail = {}) => edit(line(change));
  return { line, edited };
}

/** The lines of the records below, made once when this file loads. */
const { line, edited } = lineMaker('parity');

const at = (ms: number) => new Date(ms).toISOString();
const timeMs = Date.parse(TIME);
const reason = (template: string, field: string, limit?: string | number) => reasonText(template, field, limit);
const R = CURATION_REASONS;

/** Which part of the contract refuses a bad record. */
type RefusedBy = 'json' | 'detail' | 'envelope' | 'window';

interface BadRecord {
  readonly label: string;
  readonly line: string;
  readonly refusedBy: RefusedBy;
  /** The reason both engines give. */
  readonly reason: string;
}

const bad = (label: string, refusedBy: RefusedBy, reasonGiven: string, text: string): BadRecord => ({ label, line: text, refusedBy, reason: reasonGiven });

const BAD_RECORDS: readonly BadRecord[] = [
  // The examples.
  bad('billableUnits -5 (lowers a bill)', 'detail', reason(R.minimum, 'detail.billableUnits', 0), line({ billableUnits: -5 })),
  bad('billableUnits 1,000,001', 'detail', reason(R.maximum, 'detail.billableUnits', 1_000_000), line({ billableUnits: 1_000_001 })),
  bad('occurredAt 1970-01-01', 'window', reason(R.beforeEarliest, 'detail.occurredAt', EVENT_TIME_WINDOW.earliest), line({ occurredAt: '1970-01-01T00:00:00.000Z' })),
  bad('occurredAt 9999-12-31', 'window', reason(R.aheadOfReceipt, 'detail.occurredAt', 300), line({ occurredAt: '9999-12-31T23:59:59Z' })),
  bad('occurredAt two hours ahead', 'window', reason(R.aheadOfReceipt, 'detail.occurredAt', 300), line({ occurredAt: at(timeMs + 2 * 3_600_000) })),
  bad('occurredAt with a +00:00 offset', 'detail', reason(R.dateTime, 'detail.occurredAt'), line({ occurredAt: '2026-11-02T10:00:00+00:00' })),
  bad('statusCode 700', 'detail', reason(R.maximum, 'detail.statusCode', 599), line({ statusCode: 700 })),
  bad('latencyMs -1', 'detail', reason(R.minimum, 'detail.latencyMs', 0), line({ latencyMs: -1 })),
  bad('an unknown key (tenantID)', 'detail', reason(R.unknownKey, 'detail').replace('{key}', 'tenantID'), line({ tenantID: 'acme' })),
  bad('a 1-character eventId', 'detail', reason(R.pattern, 'detail.eventId', '^[A-Za-z0-9._:-]{8,128}$'), line({ eventId: 'x' })),
  // Ranges and integer-ness.
  bad('statusCode 99', 'detail', reason(R.minimum, 'detail.statusCode', 100), line({ statusCode: 99 })),
  bad('statusCode 200.5', 'detail', reason(R.type.integer, 'detail.statusCode'), line({ statusCode: 200.5 })),
  bad('statusCode as a string', 'detail', reason(R.type.integer, 'detail.statusCode'), line({ statusCode: '200' })),
  bad('statusCode null', 'detail', reason(R.type.integer, 'detail.statusCode'), line({ statusCode: null })),
  bad('latencyMs above a day', 'detail', reason(R.maximum, 'detail.latencyMs', 86_400_000), line({ latencyMs: 86_400_001 })),
  bad('latencyMs as text', 'detail', reason(R.type.number, 'detail.latencyMs'), line({ latencyMs: 'fast' })),
  bad('latencyMs 1e400 (Infinity)', 'detail', reason(R.type.number, 'detail.latencyMs'), edited((t) => t.replace('"latencyMs":12.5', '"latencyMs":1e400'))),
  bad('requestBytes -1', 'detail', reason(R.minimum, 'detail.requestBytes', 0), line({ requestBytes: -1 })),
  bad('requestBytes 1.5', 'detail', reason(R.type.integer, 'detail.requestBytes'), line({ requestBytes: 1.5 })),
  bad('requestBytes beyond the safe integers', 'detail', reason(R.maximum, 'detail.requestBytes', Number.MAX_SAFE_INTEGER), edited((t) => t.replace('"latencyMs":12.5', '"latencyMs":12.5,"requestBytes":9007199254740993'))),
  bad('responseBytes as a string', 'detail', reason(R.type.integer, 'detail.responseBytes'), line({ responseBytes: '10' })),
  bad('billableUnits null (not absent)', 'detail', reason(R.type.number, 'detail.billableUnits'), line({ billableUnits: null })),
  bad('billableUnits as a string', 'detail', reason(R.type.number, 'detail.billableUnits'), line({ billableUnits: '1' })),
  // Lengths (code points, as zod counts) and patterns.
  bad('eventId of 129 characters', 'detail', reason(R.pattern, 'detail.eventId', '^[A-Za-z0-9._:-]{8,128}$'), line({ eventId: 'e'.repeat(129) })),
  bad('eventId with a space', 'detail', reason(R.pattern, 'detail.eventId', '^[A-Za-z0-9._:-]{8,128}$'), line({ eventId: 'evt 000001' })),
  bad('eventId with a trailing newline', 'detail', reason(R.pattern, 'detail.eventId', '^[A-Za-z0-9._:-]{8,128}$'), line({ eventId: 'evt-0000001\n' })),
  bad('method in lower case', 'detail', reason(R.pattern, 'detail.method', '^[A-Z]{3,16}$'), line({ method: 'get' })),
  bad('method with a trailing newline', 'detail', reason(R.pattern, 'detail.method', '^[A-Z]{3,16}$'), line({ method: 'GET\n' })),
  bad('an empty service', 'detail', reason(R.minLength, 'detail.service', 1), line({ service: '' })),
  bad('service of 129 characters', 'detail', reason(R.maxLength, 'detail.service', 128), line({ service: 's'.repeat(129) })),
  bad('service of 129 emoji (code points)', 'detail', reason(R.maxLength, 'detail.service', 128), line({ service: '\u{1F600}'.repeat(129) })),
  bad('tenantId missing', 'detail', reason(R.missing, 'detail.tenantId'), line({ tenantId: undefined })),
  bad('tenantId a number', 'detail', reason(R.type.string, 'detail.tenantId'), line({ tenantId: 42 })),
  bad('operation of 257 characters', 'detail', reason(R.maxLength, 'detail.operation', 256), line({ operation: `GET /${'o'.repeat(252)}` })),
  bad('an empty userId', 'detail', reason(R.minLength, 'detail.userId', 1), line({ userId: '' })),
  bad('apiKeyId of 129 characters', 'detail', reason(R.maxLength, 'detail.apiKeyId', 128), line({ apiKeyId: 'k'.repeat(129) })),
  bad('feature null', 'detail', reason(R.type.string, 'detail.feature'), line({ feature: null })),
  bad('tier of 65 characters', 'detail', reason(R.maxLength, 'detail.tier', 64), line({ tier: 't'.repeat(65) })),
  bad('an empty region', 'detail', reason(R.minLength, 'detail.region', 1), line({ region: '' })),
  // attributes: bounded size.
  bad('21 attributes', 'detail', reason(R.maxProperties, 'detail.attributes', 20), line({ attributes: Object.fromEntries(Array.from({ length: 21 }, (_, i) => [`k${i}`, 'v'])) })),
  bad('an empty attribute key', 'detail', reason(R.minLength, 'detail.attributes key', 1), line({ attributes: { '': 'v' } })),
  bad('an attribute key of 65 characters', 'detail', reason(R.maxLength, 'detail.attributes key', 64), line({ attributes: { ['k'.repeat(65)]: 'v' } })),
  bad('an attribute value of 257 characters', 'detail', reason(R.maxLength, 'detail.attributes value', 256), line({ attributes: { plan: 'v'.repeat(257) } })),
  bad('a numeric attribute value', 'detail', reason(R.type.string, 'detail.attributes value'), line({ attributes: { plan: 3 } })),
  bad('attributes as an array', 'detail', reason(R.type.object, 'detail.attributes'), line({ attributes: ['plan'] })),
  bad('attributes null', 'detail', reason(R.type.object, 'detail.attributes'), line({ attributes: null })),
  // Formats of occurredAt: ISO-8601 UTC with Z only.
  bad('occurredAt with a lower-case z', 'detail', reason(R.dateTime, 'detail.occurredAt'), line({ occurredAt: '2026-11-02T10:00:00z' })),
  bad('occurredAt without seconds', 'detail', reason(R.dateTime, 'detail.occurredAt'), line({ occurredAt: '2026-11-02T10:00Z' })),
  bad('occurredAt on 29 February of a common year', 'detail', reason(R.dateTime, 'detail.occurredAt'), line({ occurredAt: '2026-02-29T10:00:00Z' })),
  bad('occurredAt with a space for T', 'detail', reason(R.dateTime, 'detail.occurredAt'), line({ occurredAt: '2026-11-02 10:00:00Z' })),
  bad('occurredAt with non-ASCII digits', 'detail', reason(R.dateTime, 'detail.occurredAt'), line({ occurredAt: '\u0662026-11-02T10:00:00Z' })),
  bad('occurredAt in year 0000', 'window', reason(R.beforeEarliest, 'detail.occurredAt', EVENT_TIME_WINDOW.earliest), line({ occurredAt: '0000-01-01T00:00:00Z' })),
  // The late window.
  bad(`occurredAt more than ${LATE_DAYS} days before the envelope time`, 'window', reason(R.lateForReceipt, 'detail.occurredAt', LATE_DAYS), line({ occurredAt: at(timeMs - LATE_DAYS * DAY_MS - 1) })),
  // The envelope and the record.
  bad('schemaVersion 2', 'detail', R.schemaVersion, line({ schemaVersion: '2' })),
  bad('schemaVersion as a number', 'detail', R.schemaVersion, line({ schemaVersion: 1 })),
  bad('another detail-type', 'envelope', R.detailType, line({}, { 'detail-type': 'order-placed' })),
  bad('no detail', 'envelope', R.detailNotObject, line({}, { detail: undefined })),
  bad('detail as an array', 'envelope', R.detailNotObject, line({}, { detail: [1] })),
  bad('envelope time with +00:00', 'envelope', reason(R.dateTime, 'time'), line({}, { time: '2026-11-02T10:00:05+00:00' })),
  bad('envelope time missing', 'envelope', reason(R.missing, 'time'), line({}, { time: undefined })),
  bad('an empty source', 'envelope', reason(R.minLength, 'source', 1), line({}, { source: '' })),
  bad('not JSON', 'json', R.notJson, 'this is not json'),
  bad('a JSON array', 'envelope', R.notObject, '[1, 2, 3]'),
  bad('NaN, which JSON.parse refuses', 'json', R.notJson, edited((t) => t.replace('"latencyMs":12.5', '"latencyMs":NaN'))),
  bad('Infinity in a field the curation does not read', 'json', R.notJson, edited((t) => t.replace('"account":"123456789012"', '"account":Infinity'))),
  bad('a trailing comma', 'json', R.notJson, edited((t) => t.replace('"resources":[]', '"resources":[1,]'))),
  // Repeated keys: JSON.parse keeps the last value, other parsers the first; both engines refuse.
  bad('a repeated detail key, the last one invalid', 'detail', reason(R.duplicateKey, 'detail').replace('{key}', 'statusCode'), edited((t) => t.replace('"statusCode":200', '"statusCode":200,"statusCode":700'))),
  bad('a repeated attribute key', 'detail', reason(R.duplicateKey, 'detail.attributes').replace('{key}', 'plan'), edited((t) => t.replace('"plan":"a"', '"plan":"a","plan":3'), { attributes: { plan: 'a' } })),
  bad('a repeated envelope time, the last one invalid', 'envelope', reason(R.duplicateKey, 'envelope').replace('{key}', 'time'), edited((t) => t.replace(`"time":"${TIME}"`, `"time":"${TIME}","time":"yesterday"`))),
];

/** Edge records the contract accepts: both engines must curate them, with the same row. */
const VALID_EDGES: readonly { readonly label: string; readonly line: string }[] = [
  { label: 'statusCode 100, latencyMs 0, billableUnits 0', line: line({ statusCode: 100, latencyMs: 0, billableUnits: 0 }) },
  { label: 'statusCode 599, latencyMs a day, billableUnits 1,000,000', line: line({ statusCode: 599, latencyMs: 86_400_000, billableUnits: 1_000_000 }) },
  { label: 'billableUnits absent (1)', line: line({ billableUnits: undefined }) },
  { label: 'requestBytes the largest safe integer', line: line({ requestBytes: Number.MAX_SAFE_INTEGER, responseBytes: 0 }) },
  { label: 'statusCode written 200.0 and 2e2', line: edited((t) => t.replace('"statusCode":200', '"statusCode":200.0').replace('"latencyMs":12.5', '"latencyMs":1.25e1,"responseBytes":2e2')) },
  { label: 'eventId of 8 characters', line: line({ eventId: 'a.b:c-d_' }) },
  { label: 'eventId of 128 characters', line: line({ eventId: `evt-${'9'.repeat(124)}` }) },
  { label: 'method of 16 letters', line: line({ method: 'ABCDEFGHIJKLMNOP' }) },
  { label: 'service of 128 characters', line: line({ service: 's'.repeat(128) }) },
  { label: 'service of 128 emoji (code points)', line: line({ service: '\u{1F600}'.repeat(128) }) },
  { label: 'tier of 64 characters, escaped quotes and non-ASCII text', line: line({ tier: 't'.repeat(64), feature: 'caf\u00e9 "quoted" \\ back', userId: '\u00fc' }) },
  { label: '20 attributes, keys of 64 and values of 256 characters', line: line({ attributes: Object.fromEntries(Array.from({ length: 20 }, (_, i) => [`${String(i).padStart(2, '0')}${'k'.repeat(62)}`, 'v'.repeat(256)])) }) },
  { label: 'no attributes', line: line({ attributes: {} }) },
  { label: 'occurredAt exactly 300 s after the envelope time', line: line({ occurredAt: at(timeMs + 300_000) }) },
  { label: `occurredAt exactly ${LATE_DAYS} days before the envelope time`, line: line({ occurredAt: at(timeMs - LATE_DAYS * DAY_MS) }) },
  { label: 'occurredAt with nine fractional digits', line: line({ occurredAt: '2026-11-02T10:00:00.123456789Z' }) },
  { label: 'occurredAt on a leap day', line: line({ occurredAt: '2024-02-29T23:59:59Z' }, { time: '2024-03-01T00:00:00Z' }) },
  { label: 'occurredAt at the earliest bound', line: line({ occurredAt: EVENT_TIME_WINDOW.earliest }, { time: EVENT_TIME_WINDOW.earliest }) },
  { label: 'an envelope field the contract does not know (the envelope is open)', line: line({}, { 'replay-name': 'nightly' }) },
  { label: 'a repeated envelope key the curation does not read', line: edited((t) => t.replace('"account":"123456789012"', '"account":"1","account":"123456789012"')) },
];

/** The contract's verdict on a line: JSON.parse, then the envelope schema (detail included), then the event-time window. */
function contractRefusal(text: string): RefusedBy | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return 'json';
  }
  const detail = (parsed as { detail?: unknown } | null)?.detail;
  if (detail !== null && typeof detail === 'object' && !Array.isArray(detail) && !usageEventDetailSchema.safeParse(detail).success) return 'detail';
  const envelopeResult = usageEventEnvelopeSchema.safeParse(parsed);
  if (!envelopeResult.success) return 'envelope';
  const occurred = Date.parse(envelopeResult.data.detail.occurredAt);
  const received = Date.parse(envelopeResult.data.time);
  if (occurred < Date.parse(EVENT_TIME_WINDOW.earliest) || occurred - received > EVENT_TIME_WINDOW.maxAheadOfReceiptSeconds * 1000 || received - occurred > LATE_DAYS * DAY_MS) return 'window';
  return undefined;
}

interface EngineResult {
  readonly rows: Map<string, Record<string, unknown>>;
  readonly reasons: Map<string, string>;
}

/** The Glue job's own functions over the lines (python3, no Spark), with the curation spec of a deployment's settings. */
function runGlueJob(lines: readonly string[], settings: CurationSpecOptions = {}): EngineResult {
  const python = spawnSync('python3', ['-B', path.join(__dirname, '..', '..', 'support', 'glue-job-curate.py')], {
    input: JSON.stringify({ spec: JSON.parse(renderCuratedColumnsJson(settings)) as unknown, batches: [lines] }),
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  });
  if (python.status !== 0) throw new Error(`glue-job-curate.py failed: ${python.stderr}`);
  const out = JSON.parse(python.stdout) as { rows: Record<string, unknown>[]; errors: { reason: string; line: string }[] };
  return { rows: new Map(out.rows.map((row) => [String(row.event_id), row])), reasons: new Map(out.errors.map((e) => [e.line, e.reason])) };
}

/** Row values compared across engines: timestamps as instants, numbers as numbers. */
const normalise = (row: Record<string, unknown>) =>
  Object.fromEntries(Object.entries(row).map(([k, v]) => [k, typeof v === 'string' && /^\d{4}-\d{2}-\d{2}T/.test(v) ? Date.parse(v) : v]));

describe('One validation for curation: the Glue job, its DuckDB twin and the contract agree', () => {
  let dataDir: string;
  let lake: LocalLake;
  let duck: EngineResult;
  let glue: EngineResult;
  const lines = [...BAD_RECORDS.map((r) => r.line), ...VALID_EDGES.map((r) => r.line)];

  beforeAll(async () => {
    dataDir = mkdtempSync(path.join(tmpdir(), 'curation-parity-'));
    const object = path.join(dataDir, 'raw', 'year=2026', 'month=11', 'day=02', 'hour=10', 'parity.gz');
    mkdirSync(path.dirname(object), { recursive: true });
    writeFileSync(object, gzipSync(`${lines.join('\n')}\n`));
    lake = await LocalLake.open(dataDir);
    await lake.compact(new Date('2026-11-02T11:10:00Z'));
    const rows = await lake.query('SELECT * FROM usage_events');
    const errors = await lake.query('SELECT reason, line FROM curation_errors');
    duck = { rows: new Map(rows.rows.map((row) => [String(row.event_id), row])), reasons: new Map(errors.rows.map((e) => [String(e.line), String(e.reason)])) };
    glue = runGlueJob(lines);
  });

  afterAll(async () => {
    await lake.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it(`holds at least 40 bad records (${BAD_RECORDS.length}) and ${VALID_EDGES.length} valid edge records, no line twice`, () => {
    expect(BAD_RECORDS.length).toBeGreaterThanOrEqual(40);
    expect(new Set(lines).size).toBe(lines.length);
  });

  it.each(BAD_RECORDS.map((r) => [r.label, r] as const))('refuses %s: the contract, the Glue job and DuckDB, with the same reason', (_label, record) => {
    expect({ contract: contractRefusal(record.line) }).toEqual({ contract: record.refusedBy });
    expect({ glue: glue.reasons.get(record.line), duck: duck.reasons.get(record.line) }).toEqual({ glue: record.reason, duck: record.reason });
  });

  it('gives compatible reasons for every refused line, and identical ones in this set', () => {
    const differing = BAD_RECORDS.filter((r) => glue.reasons.get(r.line) !== duck.reasons.get(r.line));
    const incompatible = BAD_RECORDS.filter((r) => !String(glue.reasons.get(r.line)).startsWith(String(duck.reasons.get(r.line))));
    expect({ differing: differing.length, incompatible: incompatible.length }).toEqual({ differing: 0, incompatible: 0 });
  });

  it.each(VALID_EDGES.map((r) => [r.label, r] as const))('accepts %s: the contract, the Glue job and DuckDB, with the same row', (_label, record) => {
    const eventId = (JSON.parse(record.line) as { detail: { eventId: string } }).detail.eventId;
    const verdicts = { contract: contractRefusal(record.line), glue: glue.reasons.get(record.line), duck: duck.reasons.get(record.line) };
    expect(verdicts).toEqual({ contract: undefined, glue: undefined, duck: undefined });
    expect(duck.rows.has(eventId)).toBe(true);
    expect(normalise(duck.rows.get(eventId)!)).toEqual(normalise(glue.rows.get(eventId)!));
  });

  it('curates exactly the valid edge records, nothing more', () => {
    expect({ duck: duck.rows.size, glue: glue.rows.size }).toEqual({ duck: VALID_EDGES.length, glue: VALID_EDGES.length });
  });

  // Beyond the contract, on purpose: values no UTF-8 file can hold, and keys JSON parsers resolve differently.
  const beyond = lineMaker('beyond');
  it.each([
    ['a lone surrogate (no UTF-8 file can hold it)', beyond.edited((t) => t.replace('"tenant-a"', '"tenant-\\ud800"'))],
    ['a repeated detail key whose last value is valid', beyond.edited((t) => t.replace('"statusCode":200', '"statusCode":700,"statusCode":200'))],
  ])('refuses %s in both engines, although JSON.parse and zod take it', async (_label, text) => {
    expect(contractRefusal(text)).toBeUndefined();
    const dir = mkdtempSync(path.join(tmpdir(), 'curation-beyond-'));
    try {
      const object = path.join(dir, 'raw', 'beyond.gz');
      mkdirSync(path.dirname(object), { recursive: true });
      writeFileSync(object, gzipSync(`${text}\n`));
      const own = await LocalLake.open(dir);
      try {
        expect((await own.compact()).malformed).toBe(1);
      } finally {
        await own.close();
      }
      expect(runGlueJob([text]).reasons.has(text)).toBe(true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('holds a deployment to its own late window, in both engines', async () => {
    const text = lineMaker('late').line({ occurredAt: at(timeMs - 2 * DAY_MS) });
    expect([...runGlueJob([text], { lateEventWindowDays: 1 }).reasons.values()]).toEqual([reason(R.lateForReceipt, 'detail.occurredAt', 1)]);
    const dir = mkdtempSync(path.join(tmpdir(), 'curation-late-'));
    try {
      const object = path.join(dir, 'raw', 'late.gz');
      mkdirSync(path.dirname(object), { recursive: true });
      writeFileSync(object, gzipSync(`${text}\n`));
      const own = await LocalLake.open(dir, { lateEventWindowDays: 1 });
      try {
        await own.compact();
        expect((await own.query('SELECT reason FROM curation_errors')).rows).toEqual([{ reason: reason(R.lateForReceipt, 'detail.occurredAt', 1) }]);
      } finally {
        await own.close();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
