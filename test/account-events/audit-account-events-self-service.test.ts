import { accountEventDetailSchema } from '../../contracts/account-events';
import { AccountService } from '../../lambdas/accounts/account-service';
import { CognitoAccountsClient } from '../../lambdas/accounts/cognito-accounts';
import { accountEventOfAudit } from '../../lambdas/account-events/audit-account-events';
import { AuditLog } from '../../lambdas/admin/audit-log';
import { AccountRoutes, GOOD_PASSWORD, newEmail, startAccountRoutes } from '../accounts/support-accounts';
import { auditEntries } from './support';

const silent = { error: () => undefined, warn: () => undefined, info: () => undefined };

/** Issue 16, item 2: a self-service registration's tenant.create (AccountService on a real cognito-local and dynalite) raises tenant-created via self-service. */
describe('accountEventOfAudit (a self-service registration)', () => {
  let api: AccountRoutes;
  let cognito: CognitoAccountsClient;

  beforeAll(async () => {
    api = await startAccountRoutes();
    cognito = new CognitoAccountsClient({ clientId: api.cognito.clientId, endpoint: api.cognito.endpoint });
  });
  afterAll(async () => {
    cognito.destroy();
    await api.stop();
  });

  it('tenant-created of the account\'s new tenant: free tier, named by the address, via self-service', async () => {
    // Prepare
    const audit = new AuditLog(api.dynamodb, api.tables.audit);
    const service = new AccountService({ cognito, store: api.deps.store, audit, pool: { issuer: api.cognito.issuer }, logger: silent });
    const email = newEmail('events');
    const month = new Date().toISOString().slice(0, 7);
    // Act
    await service.register({ email, password: GOOD_PASSWORD });
    // Assess
    const months = [...new Set([month, new Date().toISOString().slice(0, 7)])];
    const entries = (await Promise.all(months.map((m) => auditEntries(api.dynamodb, api.tables.audit, m)))).flat().filter((entry) => entry.details?.name === email);
    expect(entries.map((entry) => entry.action)).toEqual(['tenant.create']);
    const event = accountEventDetailSchema.parse(accountEventOfAudit(entries[0]));
    expect(event).toEqual({
      schemaVersion: '1',
      eventId: `audit.${entries[0].id.replace('#', '.')}`,
      kind: 'tenant-created',
      tenantId: entries[0].target,
      occurredAt: entries[0].at,
      data: { tier: 'free', name: email, via: 'self-service' },
    });
  });
});
