import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { LAMBDA_ENV, NOTIFICATION_COOLDOWN_RANGE } from '../../contracts/lambda-environment';
import { CredentialStore } from '../credentials/credential-store';
import { NotificationStore } from '../notifications/notification-store';
import { Notifier } from '../notifications/notifier';
import { MailSender, SesMailSender } from '../notifications/ses-mail-sender';
import { defaultProvider } from './lambda-credential-provider';
import { RuntimeConfigError, requestPathClientConfig } from './runtime-config';

/** What the notifier function reads from its environment (lib/account-notifications.ts writes it). */
export interface NotifierConfig {
  readonly credentialsTable: string;
  readonly from: string;
  readonly operators: readonly string[];
  readonly usageUrl: string;
  readonly cooldownSeconds: number;
}

type Env = Readonly<Record<string, string | undefined>>;

/** Reads the notifier's environment; throws naming every variable that is missing or wrong, so the function never half-works. */
export function readNotifierConfig(env: Env = process.env): NotifierConfig {
  const problems: string[] = [];
  const required = (name: string): string => {
    const value = env[name]?.trim();
    if (!value) problems.push(`${name} is not set`);
    return value ?? '';
  };
  const credentialsTable = required(LAMBDA_ENV.tables.credentials);
  const from = required(LAMBDA_ENV.notificationsFrom);
  const usageUrl = required(LAMBDA_ENV.notificationUsageUrl);
  const operators = (env[LAMBDA_ENV.notificationOperators] ?? '').split(',').map((address) => address.trim()).filter(Boolean);
  const cooldownText = env[LAMBDA_ENV.notificationCooldownSeconds] ?? '3600';
  const cooldownSeconds = Number(cooldownText);
  if (!Number.isInteger(cooldownSeconds) || cooldownSeconds < NOTIFICATION_COOLDOWN_RANGE.min || cooldownSeconds > NOTIFICATION_COOLDOWN_RANGE.max) {
    problems.push(`${LAMBDA_ENV.notificationCooldownSeconds} must be a whole number of seconds from ${String(NOTIFICATION_COOLDOWN_RANGE.min)} to ${String(NOTIFICATION_COOLDOWN_RANGE.max)}, got "${cooldownText}"`);
  }
  if (problems.length > 0) throw new RuntimeConfigError(problems);
  return { credentialsTable, from, operators, usageUrl, cooldownSeconds };
}

/** What the notifier function is built from: its configuration, and (for tests) another DynamoDB client or sender. */
export interface NotifierWiring {
  readonly config: NotifierConfig;
  readonly dynamodb?: DynamoDBClient;
  readonly sender?: MailSender;
}

/**
 * The notifier function's dependencies: the tenants' contacts and the notification state in the
 * credentials table, and SES v2 SendEmail signed with the function's own credentials (the
 * environment, where Lambda puts the execution role's: lambdas/runtime/lambda-credential-provider.ts).
 * Its limiter-free, route-free bundle holds the notifier and nothing of the API.
 */
export function notifierFunctionDependencies(wiring: NotifierWiring = { config: readNotifierConfig() }): Notifier {
  const { config } = wiring;
  const dynamodb = wiring.dynamodb ?? new DynamoDBClient(requestPathClientConfig());
  // The notifier reads tenant records only (getTenant): it writes no limiter item, so it is given no limiter table.
  const tenants = new CredentialStore({ client: dynamodb, credentialsTable: config.credentialsTable, limiterTable: '' });
  const sender = wiring.sender ?? new SesMailSender({ from: config.from, credentials: defaultProvider() });
  return new Notifier({
    tenants,
    store: new NotificationStore({ client: dynamodb, credentialsTable: config.credentialsTable }),
    sender,
    operators: config.operators,
    templates: { usageUrl: config.usageUrl },
    cooldownSeconds: config.cooldownSeconds,
  });
}
