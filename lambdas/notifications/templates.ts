import type { AccountEventDetail, AccountEventKind } from '../../contracts/account-events';

/** A rendered notification: subject, text body and HTML body. */
export interface RenderedMail {
  readonly subject: string;
  readonly text: string;
  readonly html: string;
}

export interface TemplateOptions {
  /** The link to the tenant's usage (the dashboard or the API's `/v1/usage`), with `{tenantId}` replaced by the tenant's id. */
  readonly usageUrl: string;
  /** The product's name in subjects and greetings. @default 'API usage tracker' */
  readonly productName?: string;
}

type Data = AccountEventDetail['data'];

const value = (data: Data, key: string, fallback = 'unknown'): string => {
  const found = Object.hasOwn(data, key) ? data[key] : null;
  return found === null ? fallback : String(found);
};

/** Each kind's subject and lines (plain text; escaped for HTML when rendered). */
const TEMPLATES: Record<AccountEventKind, (tenantId: string, data: Data) => { subject: string; lines: string[] }> = {
  'tenant-created': (t) => ({ subject: `Tenant ${t} was created`, lines: [`Your tenant ${t} was created.`] }),
  'tier-changed': (t, d) => ({ subject: `Tenant ${t} is now on tier ${value(d, 'to')}`, lines: [`The tier of tenant ${t} changed from ${value(d, 'from')} to ${value(d, 'to')}.`] }),
  'tenant-blocked': (t) => ({ subject: `Tenant ${t} was blocked`, lines: [`Tenant ${t} was blocked: its requests are refused until it is unblocked.`, 'Reply to this mail or contact us to learn why.'] }),
  'tenant-unblocked': (t) => ({ subject: `Tenant ${t} was unblocked`, lines: [`Tenant ${t} was unblocked: its requests are served again.`] }),
  'key-created': (t, d) => ({ subject: `A key was created for tenant ${t}`, lines: [`The API key ${value(d, 'keyId')} was created for tenant ${t}.`, 'If you did not create it, revoke it and tell us.'] }),
  'key-revoked': (t, d) => ({ subject: `A key of tenant ${t} was revoked`, lines: [`The API key ${value(d, 'keyId')} of tenant ${t} was revoked: requests with it are refused.`] }),
  'key-blocked': (t, d) => ({ subject: `A key of tenant ${t} was blocked`, lines: [`The API key ${value(d, 'keyId')} of tenant ${t} was blocked: requests with it are refused until it is unblocked.`] }),
  'quota-80': (t, d) => ({ subject: `Tenant ${t} has used 80% of its quota`, lines: [`Tenant ${t} has used ${value(d, 'used')} of its ${value(d, 'period', '')} quota of ${value(d, 'limit')} requests.`, `The quota resets at ${value(d, 'resetsAt')}.`] }),
  'quota-100': (t, d) => ({ subject: `Tenant ${t} has used all of its quota`, lines: [`Tenant ${t} has used all ${value(d, 'limit')} requests of its ${value(d, 'period', '')} quota: further requests are refused with 429.`, `The quota resets at ${value(d, 'resetsAt')}.`] }),
  'rate-limit-spike': (t, d) => ({ subject: `Rate-limit spike: tenant ${t}`, lines: [`Tenant ${t} received ${value(d, 'count')} rate-limited answers (429) in ${value(d, 'windowMinutes')} minutes.`] }),
  'auth-failures': (_t, d) => ({ subject: `Repeated failed authentications from ${value(d, 'sourceIp')}`, lines: [`${value(d, 'count')} failed authentications (401 or 403) from ${value(d, 'sourceIp')} within ${value(d, 'windowMinutes')} minutes.`] }),
};

/** Escapes the five characters that matter in HTML text and attribute values. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] ?? c);
}

/** The usage link for a tenant: `{tenantId}` in the configured URL replaced by the id, URL-encoded. */
export function usageLink(usageUrl: string, tenantId: string): string {
  return usageUrl.replaceAll('{tenantId}', encodeURIComponent(tenantId));
}

/**
 * Renders an event as a mail: the kind's lines, when it happened, and the link to the tenant's
 * usage. Every value from the event is escaped in the HTML body, so data such as a key name or a
 * reason can carry no markup.
 */
export function renderNotification(event: AccountEventDetail, options: TemplateOptions): RenderedMail {
  const product = options.productName ?? 'API usage tracker';
  const { subject, lines } = TEMPLATES[event.kind](event.tenantId, event.data);
  const link = usageLink(options.usageUrl, event.tenantId);
  const when = `When: ${event.occurredAt} (event ${event.eventId}).`;
  const text = [...lines, '', when, `Usage: ${link}`, '', `-- ${product}`].join('\n');
  const html = [
    '<!doctype html><html><body>',
    ...lines.map((line) => `<p>${escapeHtml(line)}</p>`),
    `<p>${escapeHtml(when)}</p>`,
    `<p><a href="${escapeHtml(link)}">See the usage of ${escapeHtml(event.tenantId)}</a></p>`,
    `<p>&mdash; ${escapeHtml(product)}</p>`,
    '</body></html>',
  ].join('\n');
  // A subject is one header line: no control characters from the event's data.
  return { subject: `[${product}] ${subject}`.replace(/\p{Cc}+/gu, ' '), text, html };
}
