import { z } from 'zod';
import * as zm from 'zod/mini';
import { TENANT_ID_PATTERN, TENANT_ID_RULE } from '../../contracts/tenants';
import { TIER_NAMES } from '../../contracts/tiers';
import { InvalidAdminInput } from '../../lambdas/admin/admin-errors';
import { TOKEN_ID_PATTERN, createTenantBody, externalIdentityBody, setTierBody, validBody } from '../../lambdas/admin/admin-request-schemas';

/** The schemas as they were written with classic zod before the move to zod/mini: the reference for behaviour and messages. */
const classic = {
  createTenant: z
    .object({
      tenantId: z.string().regex(TENANT_ID_PATTERN, TENANT_ID_RULE).optional(),
      name: z.string().min(1).max(200),
      tier: z.enum(TIER_NAMES).default('free'),
    })
    .strict(),
  setTier: z.object({ tier: z.enum(TIER_NAMES) }).strict(),
  externalIdentity: z.union([
    z.object({ issuer: z.string().min(1).max(2048), subject: z.string().min(1).max(512) }).strict(),
    z.object({ issuer: z.string().min(1).max(2048), clientId: z.string().min(1).max(512) }).strict(),
  ]),
};

/** A body as a test title: its JSON, cut short. */
const label = (body: unknown) => ((JSON.stringify(body) as string | undefined) ?? 'undefined').slice(0, 60);

/** What validBody answers: the data, or the refusal's message. */
function outcome<T>(run: () => T): { data: T } | { refused: string } {
  try {
    return { data: run() };
  } catch (error) {
    if (error instanceof InvalidAdminInput) return { refused: error.message };
    throw error;
  }
}

/** The classic schema's answer in validBody's words. */
function classicOutcome(schema: z.ZodType, body: unknown): { data: unknown } | { refused: string } {
  const result = schema.safeParse(body);
  if (result.success) return { data: result.data };
  const issue = result.error.issues[0];
  return { refused: `${issue.path.join('.') || 'body'}: ${issue.message}` };
}

const createTenantBodies: unknown[] = [
  { name: 'Acme' },
  { name: 'Acme', tier: 'premium', tenantId: 'acme-1' },
  {},
  { name: '' },
  { name: 'x'.repeat(201) },
  { name: 42 },
  { name: 'Acme', tier: 'platinum' },
  { name: 'Acme', tenantId: 'Not Valid!' },
  { name: 'Acme', extra: true },
  null,
  'a string',
  [],
];
const setTierBodies: unknown[] = [{ tier: 'basic' }, { tier: 'gold' }, {}, { tier: 'free', other: 1 }, undefined];
const identityBodies: unknown[] = [
  { issuer: 'https://i.example', subject: 'u-1' },
  { issuer: 'https://i.example', clientId: 'app' },
  { issuer: 'https://i.example' },
  { issuer: '', subject: 'u-1' },
  { issuer: 'https://i.example', subject: 'u-1', clientId: 'app' },
  { issuer: 'x'.repeat(2049), subject: 's' },
  42,
];

describe('Admin request schemas (zod/mini): the same answers and messages as the classic zod schemas they replace', () => {
  it.each(createTenantBodies.map((body) => [label(body), body]))('POST /v1/admin/tenants with %s', (_text, body) => {
    expect(outcome(() => validBody(createTenantBody, body))).toEqual(classicOutcome(classic.createTenant, body));
  });

  it.each(setTierBodies.map((body) => [label(body), body]))('PUT .../tier with %s', (_text, body) => {
    expect(outcome(() => validBody(setTierBody, body))).toEqual(classicOutcome(classic.setTier, body));
  });

  it.each(identityBodies.map((body) => [label(body), body]))('POST .../external-identities with %s', (_text, body) => {
    expect(outcome(() => validBody(externalIdentityBody, body))).toEqual(classicOutcome(classic.externalIdentity, body));
  });

  it('answers in English, naming the field: the messages the admin API has always carried', () => {
    expect(outcome(() => validBody(setTierBody, { tier: 'gold' }))).toEqual({ refused: expect.stringMatching(/^tier: Invalid option: expected one of/) as string });
    expect(outcome(() => validBody(createTenantBody, { name: 'Acme', tenantId: 'Not Valid!' }))).toEqual({ refused: `tenantId: ${TENANT_ID_RULE}` });
    expect(outcome(() => validBody(createTenantBody, { name: 'Acme' }))).toEqual({ data: { name: 'Acme', tier: 'free' } });
  });

  it('configures English messages itself: in the bundle no classic zod (which does) is loaded', () => {
    // Prepare: a module registry of its own where classic zod never loads, and a fresh zod configuration (zod keeps it on globalThis).
    const shared = globalThis as { __zod_globalConfig?: object };
    const saved = shared.__zod_globalConfig;
    delete shared.__zod_globalConfig;
    let message = '';
    jest.isolateModules(() => {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const fresh = require('../../lambdas/admin/admin-request-schemas') as typeof import('../../lambdas/admin/admin-request-schemas');
      // Act
      try {
        fresh.validBody(fresh.setTierBody, { tier: 'gold' });
      } catch (error) {
        message = (error as Error).message;
      }
    });
    shared.__zod_globalConfig = saved;
    // Assess
    expect(message).toMatch(/^tier: Invalid option: expected one of "free"\|/);
  });

  it('describes the bodies as JSON Schema (zod/mini has z.toJSONSchema), as the classic schemas do', () => {
    expect(zm.toJSONSchema(setTierBody)).toEqual(z.toJSONSchema(classic.setTier));
    expect(zm.toJSONSchema(createTenantBody, { io: 'input' })).toEqual(z.toJSONSchema(classic.createTenant, { io: 'input' }));
    expect(zm.toJSONSchema(externalIdentityBody)).toEqual(z.toJSONSchema(classic.externalIdentity));
  });

  it('takes a jti as this API mints them, a lower-case UUID', () => {
    expect(TOKEN_ID_PATTERN.test('0f8b2c1e-3a4d-4e5f-8a9b-0c1d2e3f4a5b')).toBe(true);
    expect(TOKEN_ID_PATTERN.test('not-a-uuid')).toBe(false);
  });
});
