/**
 * Mints a short-lived admin token for the metered API from the admin signing secret, which only
 * operators can read (IAM): `npx tsx scripts/mint-admin-token.ts --secret-arn <AdminTokenSecretArn>
 * --issuer urn:api-usage-tracker:<stack> [--operator you@example.com]`.
 */
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { TokenService } from '../lambdas/tokens/token-service';

function argument(name: string): string | undefined {
  const index = process.argv.indexOf(`--${name}`);
  return index === -1 ? undefined : process.argv[index + 1];
}

async function main(): Promise<void> {
  const secretArn = argument('secret-arn');
  const issuer = argument('issuer');
  if (!secretArn || !issuer) {
    console.error('Usage: npx tsx scripts/mint-admin-token.ts --secret-arn <AdminTokenSecretArn> --issuer urn:api-usage-tracker:<stack name> [--operator <name>]');
    process.exit(2);
  }
  const client = new SecretsManagerClient({});
  const { SecretString } = await client.send(new GetSecretValueCommand({ SecretId: secretArn }));
  const secret = async () => new Uint8Array(Buffer.from(SecretString ?? '', 'utf8'));
  const tokens = new TokenService({ issuer, audience: 'api-usage-tracker', tenantSecret: secret, adminSecret: secret });
  const { token, expiresIn } = await tokens.mintAdminToken(argument('operator') ?? process.env.USER ?? 'operator');
  console.error(`Admin token valid for ${expiresIn} s:`);
  console.log(token);
}

main().catch((error: Error) => {
  console.error(`Could not mint an admin token: ${error.message}`);
  process.exit(1);
});
