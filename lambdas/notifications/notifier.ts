import { ACCOUNT_EVENT_KINDS, NOTIFICATION_LEASE_SECONDS, AccountEventDetail, AccountEventKindPolicy, accountEventDetailSchema } from '../../contracts/account-events';
import type { Tenant } from '../credentials/credential-store';
import { MailSender } from './ses-mail-sender';
import { NotificationStore } from './notification-store';
import { TemplateOptions, renderNotification } from './templates';

/** A base for the notifier's errors; the adapter decides which to retry. */
export class NotifierError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'NotifierError';
  }
}

/** The event is not an account event: retrying cannot help (the queue dead-letters it). */
export class InvalidAccountEventError extends NotifierError {
  constructor(message: string) {
    super(message);
    this.name = 'InvalidAccountEventError';
  }
}

/** Another delivery of the same event holds its claim: retry later, when it has sent or its lease has passed. */
export class NotificationInProgressError extends NotifierError {
  constructor(eventId: string) {
    super(`Event ${eventId} is being notified by another delivery; retry after its lease.`);
    this.name = 'NotificationInProgressError';
  }
}

/** Sending failed; the claim and the cooldown were released, so a retry sends once. */
export class NotificationSendError extends NotifierError {
  constructor(eventId: string, cause: unknown) {
    super(`Sending the notification of event ${eventId} failed: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
    this.name = 'NotificationSendError';
  }
}

/** What became of an event. */
export type NotifyResult =
  | { readonly outcome: 'sent'; readonly messageId: string; readonly to: readonly string[]; readonly recorded: boolean }
  | { readonly outcome: 'duplicate' | 'cooldown' | 'opted-out' | 'no-recipient' };

/** Where the tenant's contact is found: the credential store's `getTenant`. */
export interface TenantDirectory {
  getTenant(tenantId: string): Promise<Tenant | undefined>;
}

export interface NotifierProps {
  readonly tenants: TenantDirectory;
  readonly store: NotificationStore;
  readonly sender: MailSender;
  /** Who hears operator kinds (spikes, failed authentications); none: those are not mailed. */
  readonly operators: readonly string[];
  readonly templates: TemplateOptions;
  /** The cooldown per tenant and kind, for the kinds that repeat (quota, spikes, failed authentications). @default 3600 */
  readonly cooldownSeconds?: number;
  /**
   * How long a claim shields an event from other deliveries: longer than the function's timeout
   * (a holder still running), shorter than the queue's visibility timeout (so that a retry after
   * a crash finds the lease passed). @default 120
   */
  readonly leaseSeconds?: number;
  /** How long an event's record is kept (TTL): longer than any redelivery (SQS keeps a message at most 14 days). @default 15 days */
  readonly retentionSeconds?: number;
  readonly clock?: () => number;
}

/**
 * Mails the tenant's contact or the operators about an account event, once.
 *
 * Order of operations, so that a redelivered event never sends twice and a failure loses nothing:
 * 1. validate the event; find the recipients (tenant contact: the owner's email; operators: the
 *    configured list) and the tenant's opt-outs (non-critical kinds only): reads only, so an event
 *    with no one to tell, or opted out of, ends here without writing;
 * 2. claim the event id (a conditional put with a lease): a claim already `sent` or `suppressed`
 *    is a duplicate; one still `sending` within its lease is another delivery at work (throw: retry);
 * 3. for kinds that repeat, take the tenant's cooldown for the kind (conditional): held by
 *    another event means suppressed (recorded on the claim, final);
 * 4. send; on failure release the cooldown and the claim, and throw, so that the queue retries;
 * 5. record the claim `sent` with the message id. Should that write fail after SES accepted the
 *    mail, the result says `recorded: false` and nothing is thrown: a retry would send again.
 */
export class Notifier {
  private readonly clock: () => number;
  private readonly cooldownMs: number;
  private readonly leaseMs: number;
  private readonly retentionMs: number;

  constructor(private readonly props: NotifierProps) {
    this.clock = props.clock ?? Date.now;
    this.cooldownMs = (props.cooldownSeconds ?? 3600) * 1000;
    this.leaseMs = (props.leaseSeconds ?? NOTIFICATION_LEASE_SECONDS) * 1000;
    this.retentionMs = (props.retentionSeconds ?? 15 * 86_400) * 1000;
  }

  /** Notifies one event's `detail`; throws when it should be retried (or, invalid, dead-lettered). */
  public async notify(detail: unknown): Promise<NotifyResult> {
    const event = parseEvent(detail);
    const policy: AccountEventKindPolicy = ACCOUNT_EVENT_KINDS[event.kind];
    const to = await this.recipients(event, policy);
    if (to.length === 0) return { outcome: 'no-recipient' };
    if (!policy.critical && policy.audience === 'tenant' && (await this.props.store.optOuts(event.tenantId)).includes(event.kind)) return { outcome: 'opted-out' };
    const now = this.clock();
    const claim = await this.props.store.claim(event.eventId, now, this.leaseMs, this.retentionMs);
    if (claim.kind === 'done') return { outcome: 'duplicate' };
    if (claim.kind === 'held') throw new NotificationInProgressError(event.eventId);
    const cooling = policy.cooldown && this.cooldownMs > 0;
    let messageId: string;
    try {
      if (cooling && !(await this.props.store.takeCooldown(event.tenantId, event.kind, event.eventId, now, this.cooldownMs))) {
        await this.props.store.finish(event.eventId, claim.token, 'suppressed');
        return { outcome: 'cooldown' };
      }
      const mail = renderNotification(event, this.props.templates);
      ({ messageId } = await this.props.sender.send({ to, ...mail }));
    } catch (error) {
      await this.releaseAfterFailure(event, claim.token, cooling);
      throw new NotificationSendError(event.eventId, error);
    }
    const recorded = await this.props.store.finish(event.eventId, claim.token, 'sent', messageId).catch(() => false);
    return { outcome: 'sent', messageId, to, recorded };
  }

  private async recipients(event: AccountEventDetail, policy: AccountEventKindPolicy): Promise<string[]> {
    if (policy.audience === 'operators') return [...this.props.operators];
    const tenant = await this.props.tenants.getTenant(event.tenantId);
    return tenant?.owner ? [tenant.owner.email] : [];
  }

  /** Best effort: what is not released here expires (the claim's lease; the cooldown is the event's own, taken again by its retry). */
  private async releaseAfterFailure(event: AccountEventDetail, token: string, cooling: boolean): Promise<void> {
    try {
      if (cooling) await this.props.store.releaseCooldown(event.tenantId, event.kind, event.eventId);
      await this.props.store.release(event.eventId, token);
    } catch {
      // The send's error is what the caller needs; the lease frees the claim.
    }
  }
}

function parseEvent(detail: unknown): AccountEventDetail {
  const parsed = accountEventDetailSchema.safeParse(detail);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new InvalidAccountEventError(`Not an account event: ${issue.path.join('.') || '(detail)'}: ${issue.message}`);
  }
  return parsed.data;
}
