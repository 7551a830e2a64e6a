import { ACCOUNT_EVENT_KINDS, ACCOUNT_EVENT_KIND_NAMES, NOTIFICATION_OPT_OUTS_ATTRIBUTE, OPTIONAL_ACCOUNT_EVENT_KINDS } from '../../contracts/account-events';
import { NOTIFICATION_SETTINGS } from '../../contracts/account-request-schemas';
import { notificationSettingsBody } from '../../contracts/api-schemas';
import { HttpError } from '../../lambdas/http/responses';
import { optOutsOf } from '../../lambdas/routes/account-route';

/**
 * The account function's copy of the notification facts (contracts/account-request-schemas.ts
 * NOTIFICATION_SETTINGS, kept out of contracts/account-events.ts for the bundle's sake) and its
 * hand-written body check, held to the contract they repeat.
 */
describe('Contract: NOTIFICATION_SETTINGS', () => {
  it('names the attribute the notifier reads, and the optional and critical tenant kinds of ACCOUNT_EVENT_KINDS, in their order', () => {
    // Prepare
    const tenantKinds = ACCOUNT_EVENT_KIND_NAMES.filter((kind) => ACCOUNT_EVENT_KINDS[kind].audience === 'tenant');
    // Assess
    expect(NOTIFICATION_SETTINGS.attribute).toBe(NOTIFICATION_OPT_OUTS_ATTRIBUTE);
    expect(NOTIFICATION_SETTINGS.optional).toEqual(OPTIONAL_ACCOUNT_EVENT_KINDS);
    expect(NOTIFICATION_SETTINGS.critical).toEqual(tenantKinds.filter((kind) => ACCOUNT_EVENT_KINDS[kind].critical));
  });
});

describe('Function: optOutsOf', () => {
  const bodies: readonly unknown[] = [
    { optOuts: [] },
    { optOuts: ['quota-80'] },
    { optOuts: [...OPTIONAL_ACCOUNT_EVENT_KINDS].reverse() },
    { optOuts: ['key-created', 'key-created'] },
    ...ACCOUNT_EVENT_KIND_NAMES.map((kind) => ({ optOuts: [kind] })),
    { optOuts: ['Quota-80'] },
    { optOuts: [null] },
    { optOuts: [['quota-80']] },
    { optOuts: 'quota-80' },
    { optOuts: null },
    { optOuts: [], extra: 1 },
    {},
    [],
    ['quota-80'],
    'quota-80',
    42,
    null,
  ];

  it.each(bodies.map((body) => [JSON.stringify(body), body]))('accepts %s exactly when the OpenAPI document\'s schema (notificationSettingsBody) does', (_, body) => {
    // Act
    const documented = notificationSettingsBody.safeParse(body).success;
    let checked: boolean;
    try {
      optOutsOf(body);
      checked = true;
    } catch (error) {
      expect(error).toBeInstanceOf(HttpError);
      expect((error as HttpError).statusCode).toBe(400);
      checked = false;
    }
    // Assess
    expect(checked).toBe(documented);
  });

  it('answers the kinds in the contract\'s order, each once', () => {
    expect(optOutsOf({ optOuts: ['quota-80', 'tenant-created', 'quota-80'] })).toEqual(['tenant-created', 'quota-80']);
  });
});
