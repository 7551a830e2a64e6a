import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { InvalidAdminInput } from '../../lambdas/admin/admin-errors';
import { AdminService } from '../../lambdas/admin/admin-service';
import { AuditLog } from '../../lambdas/admin/audit-log';
import { CredentialStore, CredentialStoreError } from '../../lambdas/credentials/credential-store';
import { AuthorizedEvent, RouteRequest } from '../../lambdas/http/metered-route';
import { HttpError } from '../../lambdas/http/responses';
import { AdminOperations, adminHttpError, adminRoute } from '../../lambdas/routes/admin-route';

/**
 * The admin route's HTTP side: which answer each of the admin service's domain errors gets. The
 * service and the store know nothing of HTTP; the integration tests (metered-api, external-issuer)
 * see the same answers end to end.
 */

const principal: RouteRequest['principal'] = { kind: 'admin', subject: 'operator-arn', scopes: ['admin'], via: 'api-key' };

/** A request to an admin route, as the metered route hands it on. */
function request(routeKey: string, options: { body?: unknown; pathParameters?: Record<string, string>; query?: Record<string, string> } = {}): RouteRequest {
  const event = {
    routeKey,
    ...(options.body === undefined ? {} : { body: JSON.stringify(options.body) }),
    isBase64Encoded: false,
    pathParameters: options.pathParameters,
    queryStringParameters: options.query,
  } as AuthorizedEvent;
  return { event, principal };
}

/** An admin service that refuses every operation with `error`. */
function refusingWith(error: Error): AdminOperations {
  const refuse = () => Promise.reject(error);
  return {
    createTenant: refuse,
    listTenants: refuse,
    setTier: refuse,
    setTenantBlocked: refuse,
    createKey: refuse,
    setKeyStatus: refuse,
    mapExternalIdentity: refuse,
    revokeAdminToken: refuse,
    recentAudit: refuse,
  };
}

/**
 * A real admin service whose store and audit log point at nothing: only what it refuses before it
 * writes can be asked of it here.
 */
function offlineAdminService(): AdminService {
  const client = new DynamoDBClient({ endpoint: 'http://127.0.0.1:9', region: 'us-east-1', credentials: { accessKeyId: 'none', secretAccessKey: 'none' }, maxAttempts: 1 });
  return new AdminService(new CredentialStore({ client, credentialsTable: 'credentials', limiterTable: 'limiter' }), new AuditLog(client, 'audit'));
}

describe('Function: adminRoute', () => {
  it.each<[CredentialStoreError['code'], number]>([
    ['invalid-tenant-id', 400],
    ['reserved-tenant-id', 400],
    ['tenant-not-found', 404],
    ['key-not-found', 404],
    ['tenant-exists', 409],
    ['key-revoked', 409],
    ['external-identity-mapped', 409],
    ['concurrent-change', 409],
  ])('answers the store refusal %s with %i, its code and its message', async (code, status) => {
    // Prepare
    const route = adminRoute(refusingWith(new CredentialStoreError(code, `the store says ${code}`)));
    // Act
    const answer = route(request('POST /v1/admin/keys/{keyId}/revoke', { pathParameters: { keyId: 'k-1' } }));
    // Assess
    await expect(answer).rejects.toThrow(HttpError);
    await expect(answer).rejects.toMatchObject({ statusCode: status, code, message: `the store says ${code}` });
  });

  it.each([
    ['a tenant without a name', 'POST /v1/admin/tenants', {}, { tier: 'free' }, /^name: /],
    ['an unknown tier', 'PUT /v1/admin/tenants/{tenantId}/tier', { tenantId: 't-1' }, { tier: 'platinum' }, /^tier: Invalid option/],
    // Neither form of the union: no one field is wrong, so the body is named.
    ['an identity with neither a subject nor a client', 'POST /v1/admin/tenants/{tenantId}/external-identities', { tenantId: 't-1' }, { issuer: 'https://i.example' }, /^body: /],
  ])('answers %s with 400 invalid-body naming the field, and reaches no store', async (_what, routeKey, pathParameters, body, message) => {
    // Prepare
    const route = adminRoute(offlineAdminService());
    // Act
    const answer = route(request(routeKey, { pathParameters, body }));
    // Assess
    await expect(answer).rejects.toMatchObject({ statusCode: 400, code: 'invalid-body' });
    await expect(answer).rejects.toThrow(message);
  });

  it('answers a token id that is not a jti with 400 invalid-token-id', async () => {
    const answer = adminRoute(offlineAdminService())(request('POST /v1/admin/tokens/{tokenId}/revoke', { pathParameters: { tokenId: 'not-a-uuid' } }));
    await expect(answer).rejects.toMatchObject({ statusCode: 400, code: 'invalid-token-id', message: expect.stringContaining('"not-a-uuid"') as string });
  });

  it('leaves any other failure as it is, for the metered route to log and answer 500', async () => {
    const failure = new Error('DynamoDB is down');
    await expect(adminRoute(refusingWith(failure))(request('GET /v1/admin/tenants'))).rejects.toBe(failure);
  });

  it.each(['0', '501', '2.5', 'ten'])('answers ?limit=%s on the audit log with 400 invalid-query', async (limit) => {
    const answer = adminRoute(refusingWith(new Error('not asked')))(request('GET /v1/admin/audit', { query: { limit } }));
    await expect(answer).rejects.toMatchObject({ statusCode: 400, code: 'invalid-query' });
  });

  it('answers a route it does not serve with 404', async () => {
    await expect(adminRoute(refusingWith(new Error('not asked')))(request('DELETE /v1/admin/everything'))).rejects.toMatchObject({ statusCode: 404, code: 'not-found' });
  });
});

describe('Function: adminHttpError', () => {
  it('maps a refusal of the admin service itself to 400 with its code', () => {
    expect(adminHttpError(new InvalidAdminInput('invalid-body', 'name: Required'))).toMatchObject({ statusCode: 400, code: 'invalid-body', message: 'name: Required' });
  });
});
