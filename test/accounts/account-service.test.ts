import { ScanCommand } from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { AccountError, AccountService } from '../../lambdas/accounts/account-service';
import { CognitoAccountsClient } from '../../lambdas/accounts/cognito-accounts';
import { AuditLog } from '../../lambdas/admin/audit-log';
import { CredentialStoreError, Tenant } from '../../lambdas/credentials/credential-store';
import { SelfServiceStore } from '../../lambdas/credentials/self-service-store';
import { AccountRoutes, GOOD_PASSWORD, UNREACHABLE_ENDPOINT, newEmail, startAccountRoutes } from './support-accounts';

const silent = { error: () => undefined, warn: () => undefined, info: () => undefined };

/**
 * Integration (issue 15, item 1): AccountService against a real cognito-local (the stack's pool
 * settings) and the credential store on dynalite: the tenant each account owns, and how sign-in
 * makes up for a registration whose tenant write failed.
 */
describe('AccountService (cognito-local, dynalite)', () => {
  let api: AccountRoutes;
  let cognito: CognitoAccountsClient;
  let audit: AuditLog;

  beforeAll(async () => {
    api = await startAccountRoutes();
    cognito = new CognitoAccountsClient({ clientId: api.cognito.clientId, endpoint: api.cognito.endpoint });
    audit = new AuditLog(api.dynamodb, api.tables.audit);
  });
  afterAll(async () => {
    cognito.destroy();
    await api.stop();
  });

  /** The service over the real store, or over one whose tenant writes fail `failures` times first. */
  const serviceWith = (failures = 0) => {
    let left = failures;
    const store: Pick<SelfServiceStore, 'createOwnedTenant' | 'findExternalTenant'> = {
      createOwnedTenant: (input, entry) => (left-- > 0 ? Promise.reject(new Error('DynamoDB is down')) : api.deps.store.createOwnedTenant(input, entry)),
      findExternalTenant: (identity) => api.deps.store.findExternalTenant(identity),
    };
    return new AccountService({ cognito, store, audit, pool: { issuer: api.cognito.issuer }, logger: silent });
  };
  const ownedBy = async (email: string): Promise<Tenant[]> => (await api.deps.store.listTenants()).filter((t) => t.owner?.email === email);
  const subOf = (accessToken: string) => (JSON.parse(Buffer.from(accessToken.split('.')[1], 'base64url').toString('utf8')) as { sub: string }).sub;
  const registerAndConfirm = async (service: AccountService, email: string) => {
    await service.register({ email, password: GOOD_PASSWORD });
    await service.confirm({ email, code: await api.cognito.verificationCode(email) });
  };

  it('registration creates a free-tier tenant named by the address, owned by the new sub, its limiter item, the sub\'s mapping and an audit entry', async () => {
    // Prepare
    const service = serviceWith();
    const email = newEmail('owner');
    // Act
    await registerAndConfirm(service, email);
    const { access_token } = await service.login({ email, password: GOOD_PASSWORD });
    // Assess
    const sub = subOf(access_token);
    const [tenant, ...others] = await ownedBy(email);
    expect(others).toEqual([]);
    expect(tenant).toMatchObject({ name: email, tier: 'free', blocked: false, owner: { subject: sub, email } });
    expect(await api.deps.store.findExternalTenant({ issuer: api.cognito.issuer, subject: sub, clientId: api.cognito.clientId })).toEqual({ tenantId: tenant.tenantId, tierHint: 'free' });
    const limiterItems = (await api.dynamodb.send(new ScanCommand({ TableName: api.tables.limiter }))).Items ?? [];
    expect(limiterItems.map((item) => unmarshall(item))).toContainEqual(expect.objectContaining({ pk: expect.stringContaining(tenant.tenantId) as unknown, tier: 'free', blocked: false }));
    expect(await audit.recent(500)).toContainEqual(expect.objectContaining({ action: 'tenant.create', target: tenant.tenantId, actor: `account:${sub}` }));
  });

  it('treats addresses in any case as one account: the tenant is named in lower case', async () => {
    // Prepare
    const service = serviceWith();
    const email = newEmail('Mixed.Case');
    // Act
    await service.register({ email: ` ${email.toUpperCase()} `, password: GOOD_PASSWORD });
    await service.confirm({ email, code: await api.cognito.verificationCode(email.toLowerCase()) });
    const signedIn = await service.login({ email: email.toUpperCase(), password: GOOD_PASSWORD });
    // Assess
    expect(signedIn.token_type).toBe('Bearer');
    expect((await ownedBy(email.toLowerCase())).map((t) => t.name)).toEqual([email.toLowerCase()]);
  });

  it('a sign-in creates the tenant of an account whose registration could not write it, and the authorizer then accepts its token', async () => {
    // Prepare: the tenant write of the registration fails (after SignUp succeeded).
    const email = newEmail('repair');
    await registerAndConfirm(serviceWith(1), email);
    const before = await ownedBy(email);
    // Act
    const { access_token } = await serviceWith().login({ email, password: GOOD_PASSWORD });
    const outcome = await api.deps.authenticator.authenticate({ authorization: `Bearer ${access_token}` }, 'authorization');
    // Assess
    expect(before).toEqual([]);
    const after = await ownedBy(email);
    expect(after).toHaveLength(1);
    expect(outcome).toMatchObject({ ok: true, principal: { tenantId: after[0].tenantId, via: 'account' } });
  });

  it('concurrent sign-ins of an account without a tenant create exactly one (the mapping\'s condition)', async () => {
    // Prepare
    const email = newEmail('race');
    await registerAndConfirm(serviceWith(1), email);
    const service = serviceWith();
    // Act
    const answers = await Promise.all([1, 2, 3, 4].map(() => service.login({ email, password: GOOD_PASSWORD })));
    // Assess
    expect(answers.map((a) => a.token_type)).toEqual(['Bearer', 'Bearer', 'Bearer', 'Bearer']);
    expect(await ownedBy(email)).toHaveLength(1);
  });

  it('a sign-in whose tenant cannot be written is refused accounts-unavailable (the client signs in again)', async () => {
    // Prepare
    const email = newEmail('no-store');
    await registerAndConfirm(serviceWith(1), email);
    // Act
    const refused = serviceWith(1).login({ email, password: GOOD_PASSWORD });
    // Assess
    await expect(refused).rejects.toMatchObject({ code: 'accounts-unavailable' });
  });

  it('createOwnedTenant writes nothing for a subject already mapped: one TransactWriteItems, all or nothing', async () => {
    // Prepare
    const owner = { subject: `sub-${String(Date.now())}`, email: newEmail('twice') };
    await api.deps.store.createOwnedTenant({ owner, issuer: api.cognito.issuer });
    const count = async () => (await api.dynamodb.send(new ScanCommand({ TableName: api.tables.credentials, Select: 'COUNT' }))).Count;
    const before = await count();
    // Act
    const second = api.deps.store.createOwnedTenant({ owner, issuer: api.cognito.issuer }, audit.prepare({ actor: 'test', action: 'tenant.create', target: 'x' }));
    // Assess
    await expect(second).rejects.toEqual(expect.any(CredentialStoreError));
    await expect(second).rejects.toMatchObject({ code: 'external-identity-mapped' });
    expect(await count()).toBe(before);
    expect(await ownedBy(owner.email)).toHaveLength(1);
  });

  it('every operation is accounts-unavailable when Cognito cannot be reached (ECONNREFUSED, retried as the SDK does)', async () => {
    // Prepare
    const down = new CognitoAccountsClient({ clientId: api.cognito.clientId, endpoint: UNREACHABLE_ENDPOINT });
    const service = new AccountService({ cognito: down, store: api.deps.store, audit, pool: { issuer: api.cognito.issuer }, logger: silent });
    const email = newEmail('down');
    // Act
    const outcomes = await Promise.allSettled([
      service.register({ email, password: GOOD_PASSWORD }),
      service.confirm({ email, code: '123456' }),
      service.login({ email, password: GOOD_PASSWORD }),
      service.refresh({ refresh_token: 'r' }),
      service.logout({ refresh_token: 'r' }),
    ]);
    down.destroy();
    // Assess
    for (const outcome of outcomes) {
      expect(outcome.status).toBe('rejected');
      if (outcome.status === 'rejected') {
        expect(outcome.reason).toBeInstanceOf(AccountError);
        expect(outcome.reason).toMatchObject({ code: 'accounts-unavailable' });
      }
    }
  });
});
