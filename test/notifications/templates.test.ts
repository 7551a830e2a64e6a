import { ACCOUNT_EVENT_KINDS, ACCOUNT_EVENT_KIND_NAMES, OPTIONAL_ACCOUNT_EVENT_KINDS, accountEventDetailSchema } from '../../contracts/account-events';
import { escapeHtml, renderNotification, usageLink } from '../../lambdas/notifications/templates';

const base = { schemaVersion: '1', eventId: 'ev-00000001', tenantId: 't-acme', occurredAt: '2026-11-30T10:00:00Z', data: {} } as const;

describe('Function: renderNotification', () => {
  it.each(ACCOUNT_EVENT_KIND_NAMES)('renders "%s" with its facts, the time and the usage link, in text and HTML', (kind) => {
    // Act
    const mail = renderNotification({ ...base, kind, data: { tier: 'premium', keyId: 'k-1', count: 7, limit: 1000, sourceIp: '198.51.100.7' } }, { usageUrl: 'https://api.example.com/v1/usage?tenant={tenantId}' });
    // Assess
    expect(mail.subject.startsWith('[API usage tracker] ')).toBe(true);
    expect(mail.text).toContain('When: 2026-11-30T10:00:00Z (event ev-00000001).');
    expect(mail.text).toContain('Usage: https://api.example.com/v1/usage?tenant=t-acme');
    expect(mail.html).toContain('<a href="https://api.example.com/v1/usage?tenant=t-acme">');
    expect(`${mail.subject}${mail.text}${mail.html}`).not.toMatch(/undefined|\[object/);
  });

  it('says "unknown" for a fact the event lacks, and keeps control characters out of the subject', () => {
    // Act
    const mail = renderNotification({ ...base, kind: 'auth-failures', data: { sourceIp: 'evil\r\nBcc: x@example.com' } }, { usageUrl: 'https://d.example.com/{tenantId}' });
    // Assess
    expect(mail.subject).toBe('[API usage tracker] Repeated failed authentications from evil Bcc: x@example.com');
    expect(mail.text).toContain('unknown failed authentications');
  });
});

describe('Function: escapeHtml', () => {
  it('escapes &, <, >, " and \'', () => {
    expect(escapeHtml(`<a href="x" title='y'>&</a>`)).toBe('&lt;a href=&quot;x&quot; title=&#39;y&#39;&gt;&amp;&lt;/a&gt;');
  });
});

describe('Function: usageLink', () => {
  it('puts the tenant id, URL-encoded, wherever {tenantId} is', () => {
    expect(usageLink('https://d.example.com/t/{tenantId}/usage?t={tenantId}', 'a b&c')).toBe('https://d.example.com/t/a%20b%26c/usage?t=a%20b%26c');
  });
});

describe('Contract: account events', () => {
  it('lets tenants opt out of no critical kind and of no operator kind', () => {
    expect(OPTIONAL_ACCOUNT_EVENT_KINDS.filter((kind) => ACCOUNT_EVENT_KINDS[kind].critical || ACCOUNT_EVENT_KINDS[kind].audience !== 'tenant')).toEqual([]);
    expect([...OPTIONAL_ACCOUNT_EVENT_KINDS].sort()).toEqual(['key-created', 'quota-80', 'tenant-created', 'tier-changed']);
  });

  it.each<[Record<string, unknown>, string]>([
    [{ ...base, kind: 'quota-80', extra: 1 }, 'an unknown key'],
    [{ ...base, kind: 'quota-80', occurredAt: '2026-11-30T10:00:00+01:00' }, 'a time with an offset'],
    [{ ...base, kind: 'quota-80', eventId: 'short' }, 'a short eventId'],
    [{ ...base, kind: 'quota-80', data: { nested: { a: 1 } } }, 'nested data'],
  ])('refuses %j (%s)', (detail) => {
    expect(accountEventDetailSchema.safeParse(detail).success).toBe(false);
  });

  it('accepts a well-formed event', () => {
    expect(accountEventDetailSchema.safeParse({ ...base, kind: 'quota-100', data: { used: 1000, limit: 1000, period: 'month' } }).success).toBe(true);
  });
});
