import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import Ajv2020 from 'ajv/dist/2020';
import { createTenantBody, externalIdentityBody, setTierBody } from '../../lambdas/admin/admin-request-schemas';
import { RESPONSE_SCHEMAS } from '../../contracts/api-schemas';
import { ADMIN_TOKEN_ROUTE, API_KEY_HEADER, BUILT_IN_ROUTES, IDENTITY_SOURCES, PUBLIC_ROUTES } from '../../contracts/metered-api';
import { buildOpenApiDocument, jsonSchemaOf, operationsOf } from '../../contracts/openapi';

/** Issue 15, item 4: the OpenAPI 3.1 document, generated from the zod schemas. */

const VALIDATE_SCRIPT = `
import { Validator } from '@seriousme/openapi-schema-validator';
let text = '';
for await (const chunk of process.stdin) text += chunk;
const validator = new Validator();
const result = await validator.validate(JSON.parse(text));
process.stdout.write(JSON.stringify({ valid: result.valid, errors: result.errors ?? null, version: validator.version }));
`;

/**
 * What @seriousme/openapi-schema-validator says of a document. It ships ES modules only, which
 * jest's CommonJS module system cannot load: Node runs it in a child process.
 */
function validateOpenApiDocument(document: unknown): { valid: boolean; errors: unknown; version: string } {
  const run = spawnSync(process.execPath, ['--input-type=module', '-e', VALIDATE_SCRIPT], {
    cwd: path.join(__dirname, '..', '..'),
    input: JSON.stringify(document),
    encoding: 'utf8',
    timeout: 30_000,
  });
  if (run.status !== 0) throw new Error(`The OpenAPI validator did not run (exit ${String(run.status)}): ${run.stderr}`);
  return JSON.parse(run.stdout) as { valid: boolean; errors: unknown; version: string };
}

type Operation = {
  security: Record<string, unknown[]>[];
  parameters?: { name: string; in: string; required: boolean; schema: Record<string, unknown> }[];
  requestBody?: { content: Record<string, { schema: { $ref: string } }> };
  responses: Record<string, { headers?: Record<string, unknown>; content?: Record<string, { schema: { $ref?: string } }> }>;
};

const document = buildOpenApiDocument();
const paths = document.paths as Record<string, Record<string, Operation>>;
const components = document.components as { schemas: Record<string, Record<string, unknown>>; securitySchemes: Record<string, Record<string, unknown>> };
const operation = (routeKey: string): Operation => {
  const [method, routePath] = routeKey.split(' ');
  return paths[routePath][method.toLowerCase()];
};

describe('Function: buildOpenApiDocument', () => {
  it('is a valid OpenAPI 3.1 document (@seriousme/openapi-schema-validator)', () => {
    // Act
    const verdict = validateOpenApiDocument(document);
    // Assess
    expect(verdict).toEqual({ valid: true, errors: null, version: '3.1' });
  });

  it('is refused by the same validator when broken (the check can fail)', () => {
    // Prepare: a response without its required description.
    const broken = structuredClone(document) as { paths: Record<string, Record<string, { responses: Record<string, Record<string, unknown>> }>> };
    delete broken.paths['/v1/usage'].get.responses['200'].description;
    // Act
    const verdict = validateOpenApiDocument(broken);
    // Assess
    expect(verdict.valid).toBe(false);
  });

  it('describes exactly the route table: BUILT_IN_ROUTES, ADMIN_TOKEN_ROUTE and PUBLIC_ROUTES', () => {
    const routeKeys = [...BUILT_IN_ROUTES.map((r) => r.routeKey), ADMIN_TOKEN_ROUTE.routeKey, ...PUBLIC_ROUTES.map((r) => r.routeKey)];
    expect(operationsOf(document).sort()).toEqual(routeKeys.sort());
  });

  it('names the credential each route takes, as its authorizer reads it (IDENTITY_SOURCES), and none on the public routes', () => {
    // Assess: the schemes are those of the identity sources.
    expect(IDENTITY_SOURCES['x-api-key']).toBe(`$request.header.${API_KEY_HEADER}`);
    expect(components.securitySchemes.ApiKeyHeader).toMatchObject({ type: 'apiKey', in: 'header', name: API_KEY_HEADER });
    expect(components.securitySchemes.BearerToken).toMatchObject({ type: 'http', scheme: 'bearer', bearerFormat: 'JWT' });
    expect(components.securitySchemes.ApiKeyAuthorization).toMatchObject({ type: 'http', scheme: 'ApiKey' });
    expect(components.securitySchemes.AwsSigV4).toMatchObject({ type: 'apiKey', name: 'Authorization', 'x-amazon-apigateway-authtype': 'awsSigv4' });
    for (const route of BUILT_IN_ROUTES) {
      // An account's routes take its access token only (issue 15); the others, what their authorizer's identity source carries.
      const expected =
        route.access === 'account' ? [{ AccountToken: [] }] : route.credential === 'x-api-key' ? [{ ApiKeyHeader: [] }] : [{ BearerToken: [] }, { ApiKeyAuthorization: [] }];
      expect({ route: route.routeKey, security: operation(route.routeKey).security }).toEqual({ route: route.routeKey, security: expected });
    }
    expect(operation(ADMIN_TOKEN_ROUTE.routeKey).security).toEqual([{ AwsSigV4: [] }]);
    for (const route of PUBLIC_ROUTES) expect(operation(route.routeKey).security).toEqual([]);
  });

  it('documents 429 with Retry-After and the RateLimit headers, and RateLimit on the answers of metered routes', () => {
    for (const route of BUILT_IN_ROUTES.filter((r) => r.metered)) {
      const { responses } = operation(route.routeKey);
      expect(Object.keys(responses['429'].headers ?? {})).toEqual(expect.arrayContaining(['Retry-After', 'RateLimit', 'RateLimit-Policy', 'X-RateLimit-Remaining']));
      expect(Object.keys(responses['200'].headers ?? {})).toEqual(expect.arrayContaining(['RateLimit', 'RateLimit-Policy']));
      expect(Object.keys(responses['503'].headers ?? {})).toEqual(['Retry-After']);
    }
    // Every route behind an authorizer or IAM lists the gateway's refusals; a refusal is the route's body or the gateway's.
    for (const route of BUILT_IN_ROUTES) expect(Object.keys(operation(route.routeKey).responses)).toEqual(expect.arrayContaining(['401', '403', '429', '500']));
    expect(components.schemas.Refusal).toEqual({ oneOf: [{ $ref: '#/components/schemas/Error' }, { $ref: '#/components/schemas/GatewayMessage' }] });
  });

  it("takes the request bodies from the admin function's own schemas (input form: a default is not required)", () => {
    expect(components.schemas.CreateTenantRequest).toEqual(jsonSchemaOf(createTenantBody, 'input'));
    expect(components.schemas.SetTierRequest).toEqual(jsonSchemaOf(setTierBody, 'input'));
    expect(components.schemas.ExternalIdentityRequest).toEqual(jsonSchemaOf(externalIdentityBody, 'input'));
    expect(components.schemas.CreateTenantRequest.required).toEqual(['name']);
    expect(operation('POST /v1/admin/tenants').requestBody?.content['application/json'].schema).toEqual({ $ref: '#/components/schemas/CreateTenantRequest' });
  });

  it('describes path and query parameters with their rules', () => {
    const [tenantId] = operation('PUT /v1/admin/tenants/{tenantId}/tier').parameters ?? [];
    expect(tenantId).toMatchObject({ name: 'tenantId', in: 'path', required: true, schema: { type: 'string', pattern: '^[a-z0-9][a-z0-9-]{1,62}$' } });
    const [limit] = operation('GET /v1/admin/audit').parameters ?? [];
    expect(limit).toMatchObject({ name: 'limit', in: 'query', required: false, schema: { type: 'integer', minimum: 1, maximum: 500, default: 50 } });
    // Every `{parameter}` of a path is declared.
    for (const [routePath, item] of Object.entries(paths)) {
      const declared = Object.values(item).flatMap((op) => (op.parameters ?? []).filter((p) => p.in === 'path').map((p) => p.name));
      const inPath = [...routePath.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]);
      expect({ routePath, names: [...new Set(declared)].sort() }).toEqual({ routePath, names: inPath.sort() });
    }
  });

  it('generates JSON Schemas that accept and refuse what the zod schemas do', () => {
    // Prepare
    const ajv = new Ajv2020({ strict: false, validateFormats: false });
    const cases: [keyof typeof RESPONSE_SCHEMAS, unknown][] = [
      ['Token', { access_token: 'a.b.c', token_type: 'Bearer', expires_in: 900, scope: 'api:call' }],
      ['Token', { access_token: 'a.b.c', token_type: 'Basic', expires_in: 900, scope: 'api:call' }],
      ['Usage', { tier: 'free', limit: { requestsPerMinute: 5, burst: 5 }, remaining: 4, resetSeconds: 12, counts: { today: 1, thisMonth: 1 } }],
      ['Usage', { tier: 'gold', limit: { requestsPerMinute: 5, burst: 5 }, remaining: 4, resetSeconds: 12, counts: { today: 1, thisMonth: 1 } }],
      ['Tenant', { tenantId: 'acme', name: 'Acme', tier: 'basic', blocked: false, createdAt: '2025-01-15T09:30:00.000Z' }],
      ['Tenant', { tenantId: 'Acme!', name: 'Acme', tier: 'basic', blocked: false, createdAt: '2025-01-15T09:30:00.000Z' }],
      ['Error', { error: 'rate-limited', message: 'slow down', requestId: 'r-1' }],
      ['Error', { message: 'Forbidden' }],
      ['GatewayMessage', { message: 'Forbidden' }],
    ];
    for (const [name, value] of cases) {
      // Act
      const byJsonSchema = ajv.validate(components.schemas[name], value);
      const byZod = RESPONSE_SCHEMAS[name].safeParse(value).success;
      // Assess
      expect({ name, value, byJsonSchema }).toEqual({ name, value, byJsonSchema: byZod });
    }
    expect(cases.filter(([name, value]) => RESPONSE_SCHEMAS[name].safeParse(value).success)).toHaveLength(5);
  });
});
