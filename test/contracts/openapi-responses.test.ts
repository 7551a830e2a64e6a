import { createHash } from 'node:crypto';
import Ajv2020 from 'ajv/dist/2020';
import { adminTokenResponse, tokenResponse, usageResponse } from '../../contracts/api-schemas';
import { operationsOf } from '../../contracts/openapi';
import { meteredApiRoutes } from '../../local/metered-api';
import { LocalIamAuthorizer } from '../../local/iam-authorizer';
import { signedMintRequest } from '../../scripts/mint-admin-token';
import { LOCAL_OPERATOR, LOCAL_REGION, MeteredApiHarness, startMeteredApi } from '../support/metered-api-harness';

/**
 * Issue 15, item 4, against the real local metered API (local gateway, dynalite, the same
 * handlers as in AWS): the document and the page are served without a credential, and what the
 * routes really answer — successes and refusals, the routes' own and the gateway's — is what the
 * document says, status and body.
 */

type Operation = { responses: Record<string, { headers?: Record<string, unknown>; content?: Record<string, { schema: { $ref?: string } }> }> };

/**
 * Checks an answer against the document: its status must be one the operation lists, and its JSON
 * body must validate against that response's schema (JSON Schema 2020-12; formats are left to the
 * patterns zod writes beside them). Returns the problems: none when the answer is as documented.
 */
function answerChecker(document: Record<string, unknown>): (routeKey: string, status: number, body: unknown) => string[] {
  const ajv = new Ajv2020({ strict: false, allErrors: true, validateFormats: false });
  ajv.addSchema({ $id: 'openapi.json', components: document.components });
  const paths = document.paths as Record<string, Record<string, Operation | undefined> | undefined>;
  return (routeKey, status, body) => {
    const [method, routePath] = routeKey.split(' ');
    const operation = paths[routePath]?.[method.toLowerCase()];
    if (!operation) return [`${routeKey} is not in the document`];
    const response = Object.hasOwn(operation.responses, String(status)) ? operation.responses[String(status)] : undefined;
    if (!response) return [`${routeKey} answered ${status}, which the document does not list (${Object.keys(operation.responses).join(', ')})`];
    const ref = response.content?.['application/json']?.schema.$ref;
    if (!ref) return [];
    const validate = ajv.compile({ $ref: `openapi.json${ref}` });
    if (validate(body)) return [];
    return (validate.errors ?? []).map((error) => `${routeKey} ${status}: ${error.instancePath || 'body'} ${error.message ?? ''} in ${JSON.stringify(body).slice(0, 300)}`);
  };
}

describe('Integration: the API reference on the local metered API', () => {
  let api: MeteredApiHarness;
  let document: Record<string, unknown>;
  let problemsOf: ReturnType<typeof answerChecker>;

  beforeAll(async () => {
    api = await startMeteredApi();
    const served = await api.call('GET', '/openapi.json');
    document = served.json;
    problemsOf = answerChecker(document);
  });
  afterAll(() => api.stop());

  /** Calls a route and returns the problems of its answer against the document (with the answer). */
  const checked = async (routeKey: string, pathname: string, init: { headers?: Record<string, string>; body?: unknown } = {}) => {
    const answer = await api.call(routeKey.split(' ')[0], pathname, init);
    return { answer, problems: problemsOf(routeKey, answer.status, answer.json) };
  };

  it('serves GET /openapi.json without a credential: the OpenAPI 3.1 document, as JSON', async () => {
    // Act
    const served = await api.call('GET', '/openapi.json');
    // Assess
    expect(served.status).toBe(200);
    expect(served.headers.get('content-type')).toBe('application/json');
    expect(served.json).toMatchObject({ openapi: '3.1.0', info: { title: 'Metered API' } });
  });

  it('serves exactly the documented routes locally (the gateway\'s route table; /health and /dashboard are the local stack\'s own, outside it)', () => {
    const local = meteredApiRoutes(api.deps, [], new LocalIamAuthorizer([LOCAL_OPERATOR], LOCAL_REGION)).map((route) => route.routeKey);
    expect(local.sort()).toEqual(operationsOf(document).sort());
  });

  it('answers the token exchange and GET /v1/usage as documented (and as their zod schemas say)', async () => {
    // Prepare
    const { apiKey } = await api.tenantWithKey('basic');
    // Act
    const token = await checked('POST /v1/auth/token', '/v1/auth/token', { headers: { 'x-api-key': apiKey } });
    const bearer = { authorization: `Bearer ${String(token.answer.json.access_token)}` };
    const usage = await checked('GET /v1/usage', '/v1/usage', { headers: bearer });
    const users = await checked('GET /v1/users', '/v1/users', { headers: bearer });
    // Assess
    expect([token.answer.status, usage.answer.status, users.answer.status]).toEqual([200, 200, 200]);
    expect([...token.problems, ...usage.problems, ...users.problems]).toEqual([]);
    expect(tokenResponse.safeParse(token.answer.json).success).toBe(true);
    expect(usageResponse.safeParse(usage.answer.json).success).toBe(true);
  });

  it('answers the admin routes as documented: created, listed, changed, audited, and their refusals', async () => {
    // Prepare
    const admin = { authorization: `ApiKey ${api.adminKey}` };
    const tenantId = `docs-${Date.now().toString(36)}`;
    // Act
    const answers = [
      await checked('POST /v1/admin/tenants', '/v1/admin/tenants', { headers: admin, body: { name: 'Docs', tenantId } }),
      await checked('POST /v1/admin/tenants', '/v1/admin/tenants', { headers: admin, body: { name: 'Docs', tenantId } }),
      await checked('POST /v1/admin/tenants', '/v1/admin/tenants', { headers: admin, body: { name: 'Docs', tier: 'gold' } }),
      await checked('GET /v1/admin/tenants', '/v1/admin/tenants', { headers: admin }),
      await checked('PUT /v1/admin/tenants/{tenantId}/tier', `/v1/admin/tenants/${tenantId}/tier`, { headers: admin, body: { tier: 'premium' } }),
      await checked('PUT /v1/admin/tenants/{tenantId}/tier', '/v1/admin/tenants/nobody-here/tier', { headers: admin, body: { tier: 'premium' } }),
      await checked('POST /v1/admin/tenants/{tenantId}/keys', `/v1/admin/tenants/${tenantId}/keys`, { headers: admin }),
      await checked('POST /v1/admin/tenants/{tenantId}/external-identities', `/v1/admin/tenants/${tenantId}/external-identities`, { headers: admin, body: { issuer: 'https://idp.test', subject: 'docs-user' } }),
      await checked('GET /v1/admin/audit', '/v1/admin/audit?limit=5', { headers: admin }),
      await checked('GET /v1/admin/audit', '/v1/admin/audit?limit=5000', { headers: admin }),
      await checked('POST /v1/admin/tokens/{tokenId}/revoke', '/v1/admin/tokens/not-a-uuid/revoke', { headers: admin }),
    ];
    const keyId = String(answers[6].answer.json.keyId);
    answers.push(await checked('POST /v1/admin/keys/{keyId}/revoke', `/v1/admin/keys/${keyId}/revoke`, { headers: admin }));
    answers.push(await checked('POST /v1/admin/keys/{keyId}/block', `/v1/admin/keys/${keyId}/block`, { headers: admin }));
    // Assess
    expect(answers.map((a) => a.answer.status)).toEqual([201, 409, 400, 200, 200, 404, 201, 201, 200, 400, 400, 200, 409]);
    expect(answers.flatMap((a) => a.problems)).toEqual([]);
  });

  it("answers the gateway's and the limiter's refusals as documented: 401, 403, 429 with Retry-After", async () => {
    // Prepare
    const { apiKey } = await api.tenantWithKey('free');
    // Act
    const missing = await checked('GET /v1/usage', '/v1/usage');
    const refused = await checked('GET /v1/usage', '/v1/usage', { headers: { authorization: 'ApiKey aut_0000000000000000000000000000000000000000000' } });
    const tenantOnAdmin = await checked('GET /v1/admin/tenants', '/v1/admin/tenants', { headers: { authorization: `ApiKey ${apiKey}` } });
    const calls = [];
    for (let i = 0; i < 6; i++) calls.push(await checked('GET /v1/products', '/v1/products', { headers: { authorization: `ApiKey ${apiKey}` } }));
    const limited = calls[5];
    // Assess
    expect([missing.answer.status, refused.answer.status, tenantOnAdmin.answer.status, limited.answer.status]).toEqual([401, 403, 403, 429]);
    expect([missing, refused, tenantOnAdmin, ...calls].flatMap((a) => a.problems)).toEqual([]);
    expect(limited.answer.headers.get('retry-after')).toMatch(/^\d+$/);
    expect(limited.answer.headers.get('ratelimit')).toMatch(/^"free";r=0;t=\d+$/);
  });

  it('answers POST /v1/admin/token (SigV4) as documented', async () => {
    // Prepare
    const { url, init } = signedMintRequest(api.url, LOCAL_REGION, LOCAL_OPERATOR);
    // Act
    const answer = await fetch(url, init);
    const body: unknown = await answer.json();
    // Assess
    expect(answer.status).toBe(200);
    expect(problemsOf('POST /v1/admin/token', answer.status, body)).toEqual([]);
    expect(adminTokenResponse.safeParse(body).success).toBe(true);
  });

  it('finds an answer that is not as documented (the check can fail)', () => {
    expect(problemsOf('GET /v1/usage', 200, { tier: 'free' })).not.toEqual([]);
    expect(problemsOf('GET /v1/usage', 404, { message: 'Not Found' })).toEqual([expect.stringContaining('does not list')]);
    expect(problemsOf('GET /v1/nowhere', 200, {})).toEqual(['GET /v1/nowhere is not in the document']);
  });

  it('serves GET /docs without a credential: one self-contained page, no other origin, its inline script and style allowed by hash only', async () => {
    // Act
    const page = await api.call('GET', '/docs');
    // Assess
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(page.text).not.toMatch(/https?:\/\/|\/\/[a-z0-9.-]+\.[a-z]{2,}\//i);
    expect(page.text).not.toMatch(/<(script|link|img|iframe)[^>]+(src|href)=/i);
    const csp = page.headers.get('content-security-policy') ?? '';
    const inline = (tag: string) => new RegExp(`<${tag}>([\\s\\S]*?)</${tag}>`).exec(page.text)?.[1] ?? '';
    const hashOf = (text: string) => `'sha256-${createHash('sha256').update(text, 'utf8').digest('base64')}'`;
    expect(csp).toContain(`script-src ${hashOf(inline('script'))};`);
    expect(csp).toContain(`style-src ${hashOf(inline('style'))};`);
    expect(csp).toMatch(/^default-src 'none';/);
    expect(csp).toContain("connect-src 'self'");
    expect(csp).not.toMatch(/unsafe-inline|unsafe-eval|\*/);
  });
});
