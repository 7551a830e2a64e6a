import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { AuditWrite } from '../admin/audit-log';
import type { TierName } from '../../contracts/tiers';
import { LimiterItemWrites } from '../limiter/limiter-item-writes';
import {
  CredentialStoreError,
  CredentialStoreProps,
  ExternalIdentityMapping,
  ExternalTenant,
  TIER_HINT,
  Tenant,
  TenantOwner,
  externalItemKey,
  findExternalTenantIn,
  generateTenantId,
  tenantItemKey,
  transactWithAudit,
} from './credential-store';

/**
 * Self-service tenants (issue 15): what the `auth` function needs of the credentials table, and
 * no more, so that its bundle holds none of the credential store's other operations (issue 13's
 * bound on bundle sizes): an account's own tenant, and the tenant an identity is mapped to.
 */
export class OwnedTenants {
  private readonly documents: DynamoDBDocumentClient;
  private readonly limiterItem: LimiterItemWrites;
  private readonly clock: () => number;

  constructor(private readonly props: Pick<CredentialStoreProps, 'client' | 'credentialsTable' | 'limiterTable' | 'clock'>) {
    this.documents = DynamoDBDocumentClient.from(props.client);
    this.limiterItem = new LimiterItemWrites(props.limiterTable);
    this.clock = props.clock ?? Date.now;
  }

  /** {@link CredentialStore.findExternalTenant}. */
  public findExternalTenant(
    identity: { issuer: string; subject: string; clientId: string },
    options: { readonly bySubjectOnly?: boolean } = {},
  ): Promise<ExternalTenant | undefined> {
    return findExternalTenantIn(this.documents, this.props.credentialsTable, identity, options);
  }

  /**
   * A self-service tenant (issue 15): a free-tier tenant named by its owner's email, its limiter
   * item, and the mapping of the owner's pool subject to it (the same item {@link mapExternalIdentity}
   * writes), with the audit entry, in one TransactWriteItems. The mapping's condition makes it
   * idempotent per subject: a second call for a subject already mapped (a concurrent sign-in that
   * repairs a registration) writes nothing and throws `external-identity-mapped`.
   */
  public async createOwnedTenant(input: { readonly tenantId?: string; readonly owner: TenantOwner; readonly issuer: string }, audit?: AuditWrite): Promise<Tenant> {
    const tenantId = input.tenantId ?? generateTenantId();
    const tier: TierName = 'free';
    const { owner } = input;
    const record = { tenantId, name: owner.email, tier, blocked: false, createdAt: new Date(this.clock()).toISOString() };
    const tenant: Tenant = { ...record, owner };
    const mapping: ExternalIdentityMapping = { issuer: input.issuer, subject: owner.subject, tenantId, createdAt: tenant.createdAt };
    const mappingItem = { pk: externalItemKey(input.issuer, 'subject', owner.subject), entity: 'external-identity', sk: `${tenantId}#subject#${owner.subject}`, ...mapping, [TIER_HINT]: tier };
    await transactWithAudit(this.documents, 
      [
        {
          Put: {
            TableName: this.props.credentialsTable,
            Item: { pk: tenantItemKey(tenantId), entity: 'tenant', sk: tenantId, ...record, ownerSubject: owner.subject, ownerEmail: owner.email },
            ConditionExpression: 'attribute_not_exists(pk)',
          },
        },
        this.limiterItem.create(tenantId, tier),
        { Put: { TableName: this.props.credentialsTable, Item: mappingItem, ConditionExpression: 'attribute_not_exists(pk)' } },
      ],
      audit,
      (failed) => {
        if (failed(2)) throw new CredentialStoreError('external-identity-mapped', `This subject of ${input.issuer} is already mapped to a tenant.`);
        throw new CredentialStoreError('tenant-exists', `Tenant "${tenantId}" already exists.`);
      },
    );
    return tenant;
  }

}
