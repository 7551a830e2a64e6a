// The local usage dashboard: fetches /dashboard/data (the named queries' results) and draws
// SVG charts. No libraries, no network beyond this server; data is only ever set as text.
'use strict';

const SVG = 'http://www.w3.org/2000/svg';
const REFRESH_MS = 5000;
let windowName = 'last_hour';

function el(name, attributes = {}, parent) {
  const node = document.createElementNS(SVG, name);
  for (const [key, value] of Object.entries(attributes)) node.setAttribute(key, String(value));
  if (parent) parent.appendChild(node);
  return node;
}

function text(parent, x, y, content, anchor = 'start') {
  const node = el('text', { x, y, 'text-anchor': anchor }, parent);
  node.textContent = content;
  return node;
}

function chartOf(name) {
  const section = document.querySelector(`[data-chart="${name}"]`);
  const holder = section.querySelector('.chart');
  holder.replaceChildren();
  return { section, holder };
}

function empty(name, message) {
  const { section, holder } = chartOf(name);
  const p = document.createElement('p');
  p.className = 'empty';
  p.textContent = message;
  holder.appendChild(p);
  section.dataset.points = '0';
}

const format = (n, digits = 0) => (n === null || n === undefined || Number.isNaN(n) ? '–' : Number(n).toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits }));

function bucketLabel(iso) {
  const d = new Date(iso);
  return windowName === 'last_hour' || windowName === 'last_24h' ? d.toISOString().slice(11, 16) : d.toISOString().slice(5, 10);
}

/** A time series: one or more lines over shared buckets. */
function lineChart(name, rows, series, { percent = false } = {}) {
  if (rows.length === 0) return empty(name, 'No events in this window yet.');
  const { section, holder } = chartOf(name);
  // Drawn at the card's own width, so text keeps its size in narrow and wide cards alike.
  const width = Math.max(320, Math.round(holder.getBoundingClientRect().width) || 900), height = 220, left = 52, right = 24, top = 10, bottom = 28;
  const svg = el('svg', { viewBox: `0 0 ${width} ${height}`, role: 'img', 'aria-label': section.querySelector('h2').textContent }, holder);
  const max = Math.max(1e-9, ...rows.flatMap((row) => series.map((s) => s.value(row))));
  const x = (i) => left + (rows.length === 1 ? (width - left - right) / 2 : (i * (width - left - right)) / (rows.length - 1));
  const y = (v) => top + (height - top - bottom) * (1 - v / max);
  el('line', { class: 'axis', x1: left, y1: height - bottom, x2: width - right, y2: height - bottom }, svg);
  for (const fraction of [0, 0.5, 1]) text(svg, left - 6, y(max * fraction) + 4, percent ? `${format(max * fraction * 100, 1)}%` : format(max * fraction), 'end');
  const step = Math.max(1, Math.ceil(rows.length / 8));
  rows.forEach((row, i) => {
    if (i % step === 0 || i === rows.length - 1) text(svg, x(i), height - 8, bucketLabel(row.bucket_start), i === rows.length - 1 && rows.length > 1 ? 'end' : 'middle');
  });
  for (const s of series) {
    const points = rows.map((row, i) => `${x(i).toFixed(1)},${y(s.value(row)).toFixed(1)}`);
    if (s.area) el('path', { class: s.area, d: `M${x(0)},${y(0)} L${points.join(' L')} L${x(rows.length - 1)},${y(0)} Z` }, svg);
    el('polyline', { class: s.className, points: points.join(' ') }, svg);
    rows.forEach((row, i) => {
      const dot = el('circle', { class: `${s.className} point`, cx: x(i).toFixed(1), cy: y(s.value(row)).toFixed(1), r: 2.5 }, svg);
      const title = el('title', {}, dot);
      title.textContent = `${bucketLabel(row.bucket_start)}: ${percent ? `${format(s.value(row) * 100, 2)}%` : format(s.value(row))} ${s.label}`;
    });
  }
  section.dataset.points = String(rows.length);
}

/** A chart's label, ellipsized to its column: the whole text is its content (read by screen readers), its `title` (shown on hover), and shown wrapped on hover or keyboard focus. */
function barLabel(full) {
  const node = document.createElement('span');
  node.className = 'bar-label';
  node.textContent = full;
  node.title = full;
  return node;
}

/** Horizontal bars, largest first: one row each (label, bar, figure), so a long label never runs into the bars or out of the card. */
function barChart(name, rows, label, value, { unit = '', className = 'bar', limit = 10 } = {}) {
  const shown = rows.filter((row) => value(row) > 0).slice(0, limit);
  if (shown.length === 0) return empty(name, 'Nothing to show in this window yet.');
  const { section, holder } = chartOf(name);
  const list = document.createElement('ol');
  list.className = 'bars';
  list.setAttribute('aria-label', section.querySelector('h2').textContent);
  holder.appendChild(list);
  const max = Math.max(...shown.map(value));
  for (const item of shown) {
    const full = String(label(item));
    const figure = `${format(value(item), unit ? 1 : 0)}${unit}`;
    const row = document.createElement('li');
    const track = el('svg', { class: 'bar-track', viewBox: '0 0 100 10', preserveAspectRatio: 'none', 'aria-hidden': 'true' });
    const bar = el('rect', { class: className, x: 0, y: 0, width: Math.max(0.5, (100 * value(item)) / max).toFixed(2), height: 10 }, track);
    el('title', {}, bar).textContent = `${full}: ${figure}`;
    const amount = document.createElement('span');
    amount.className = 'bar-value';
    amount.textContent = figure;
    const labelNode = barLabel(full);
    row.append(labelNode, track, amount);
    list.appendChild(row);
    // Clipped: reachable by keyboard, so focus shows it whole as hover does.
    if (labelNode.scrollWidth > labelNode.clientWidth) labelNode.tabIndex = 0;
  }
  section.dataset.points = String(shown.length);
}

function billingTable(rows) {
  if (rows.length === 0) return empty('billing', 'No billable calls this month yet.');
  const { section, holder } = chartOf('billing');
  const table = document.createElement('table');
  const head = table.createTHead().insertRow();
  for (const [title, numeric] of [['Tenant', false], ['Calls', true], ['Billable units', true], ['Amount', true]]) {
    const th = document.createElement('th');
    th.textContent = title;
    if (numeric) th.className = 'num';
    head.appendChild(th);
  }
  const body = table.createTBody();
  for (const row of rows) {
    const tr = body.insertRow();
    const cells = [row.tenant_id, format(row.calls), format(row.billable_units), `${format(row.amount, 4)} ${row.currency}`];
    cells.forEach((value, i) => {
      const td = tr.insertCell();
      td.textContent = value;
      if (i > 0) td.className = 'num';
    });
  }
  holder.appendChild(table);
  section.dataset.points = String(rows.length);
}

const PERIOD_LABELS = { day: 'a day', week: 'a week', month: 'a month' };

/** quotaUse: per tenant, its calls today, this week and this month, and the share of its tier's quota (in the quota's period) used. */
function quotaTable(rows) {
  if (rows.length === 0) return empty('quota', 'No calls counted against a quota this month yet.');
  const { section, holder } = chartOf('quota');
  const table = document.createElement('table');
  const head = table.createTHead().insertRow();
  for (const [title, numeric] of [['Tenant', false], ['Tier', false], ['Today', true], ['Week', true], ['Month', true], ['Quota used', false]]) {
    const th = document.createElement('th');
    th.textContent = title;
    if (numeric) th.className = 'num';
    head.appendChild(th);
  }
  const body = table.createTBody();
  for (const row of rows) {
    const tr = body.insertRow();
    const used = row.quota ? `${format(row.percentUsed, 1)}% of ${format(row.quota.requests)} ${PERIOD_LABELS[row.quota.period] ?? row.quota.period}` : 'no quota';
    const cells = [row.tenantId, row.tier ?? '?', format(row.used.day), format(row.used.week), format(row.used.month), used];
    cells.forEach((value, i) => {
      const td = tr.insertCell();
      td.textContent = value;
      if (i > 1 && i < 5) td.className = 'num';
      if (i === 5 && row.percentUsed !== null && row.percentUsed >= 80) td.className = row.percentUsed >= 100 ? 'quota-out' : 'quota-near';
    });
  }
  holder.appendChild(table);
  section.dataset.points = String(rows.length);
}

function render(data) {
  const all = data.summary.find((row) => row.operation === '(all)');
  document.getElementById('tile-requests').textContent = all ? format(all.requests) : '0';
  document.getElementById('tile-errors').textContent = all ? `${format(all.error_rate * 100, 2)}%` : '–';
  document.getElementById('tile-avg').textContent = all ? `${format(all.avg_latency_ms, 1)} ms` : '–';
  document.getElementById('tile-p95').textContent = all ? `${format(all.p95_latency_ms, 1)} ms` : '–';
  lineChart('requests', data.timeline, [
    { className: 'line-requests', area: 'area-requests', label: 'requests', value: (r) => r.requests },
    { className: 'line-errors', label: '5xx', value: (r) => r.errors },
    { className: 'line-limited', label: '429', value: (r) => r.rate_limited },
  ]);
  lineChart('error-rate', data.timeline, [{ className: 'line-errors', label: 'of requests were 5xx', value: (r) => (r.requests ? r.errors / r.requests : 0) }], { percent: true });
  barChart('latency', data.summary.filter((row) => row.operation !== '(all)').sort((a, b) => b.p95_latency_ms - a.p95_latency_ms), (r) => r.operation, (r) => r.p95_latency_ms, { unit: ' ms' });
  barChart('tenants', [...data.billing].sort((a, b) => b.calls - a.calls), (r) => r.tenant_id, (r) => r.calls);
  barChart('rate-limited', data.rateLimited, (r) => `${r.tenant_id} (${r.tier ?? '?'})`, (r) => r.rate_limited, { className: 'bar limited' });
  billingTable(data.billing);
  quotaTable(data.quotaUse);
  const rejected = data.rejects.reduce((sum, row) => sum + row.records, 0);
  document.getElementById('tile-rejects').textContent = format(rejected);
  barChart('rejects', data.rejects, (r) => `${r.reason} (${r.service})`, (r) => r.records, { className: 'bar rejected', limit: 15 });
  document.getElementById('status').textContent = `Updated ${new Date(data.generatedAt).toLocaleTimeString()} · ${format(data.curatedRows)} events curated`;
  document.body.dataset.loaded = 'true';
}

let latest = 0;
let inFlight = false;

/** Fetches and draws; one request at a time, and an answer for a window no longer shown is dropped. */
async function refresh(force = false) {
  if (inFlight && !force) return;
  const request = ++latest;
  const shown = windowName;
  inFlight = true;
  try {
    const response = await fetch(`/dashboard/data?window=${encodeURIComponent(shown)}`, { cache: 'no-store' });
    const body = await response.json();
    if (!response.ok) throw new Error(body.message || response.statusText);
    if (request === latest && shown === windowName) render(body);
  } catch (error) {
    if (request === latest) document.getElementById('status').textContent = `Could not load data: ${error.message}`;
  } finally {
    if (request === latest) inFlight = false;
  }
}

document.querySelectorAll('nav button').forEach((button) =>
  button.addEventListener('click', () => {
    windowName = button.dataset.window;
    document.querySelectorAll('nav button').forEach((b) => b.setAttribute('aria-pressed', String(b === button)));
    void refresh(true);
  }),
);
void refresh();
setInterval(refresh, REFRESH_MS);
