/**
 * Mints a short-lived admin token for the metered API as your IAM principal: a SigV4-signed
 * `POST /v1/admin/token` (IAM authorization), signed with your usual AWS credentials (profile,
 * SSO, environment). Your principal needs `execute-api:Invoke` on that route (the stack's
 * `MeteredHttpApi.grantMintAdminTokens`); the token's subject, and the audit log's actor for
 * everything done with it, is your principal's ARN.
 *
 *   npx tsx scripts/mint-admin-token.ts --api-url <MeteredApiUrl> [--region eu-west-1]
 */
import { defaultProvider } from '@aws-sdk/credential-provider-node';
import { ADMIN_TOKEN_ROUTE } from '../contracts/metered-api';
import { AwsCredentials, SigV4Signer } from '../sdk/sigv4';

function argument(name: string): string | undefined {
  const index = process.argv.indexOf(`--${name}`);
  return index === -1 ? undefined : process.argv[index + 1];
}

/** The signed request: SigV4 for service `execute-api`, as IAM authorization of an HTTP API expects. */
export function signedMintRequest(apiUrl: string, region: string, credentials: AwsCredentials, now = new Date()): { url: string; init: RequestInit } {
  const url = new URL(ADMIN_TOKEN_ROUTE.routeKey.split(' ')[1], apiUrl);
  const headers = new SigV4Signer('execute-api', region).sign({ method: 'POST', path: url.pathname, headers: { host: url.host }, body: '' }, credentials, now);
  // fetch writes the Host header itself, from the URL: the same value the signature covers.
  const sent = Object.fromEntries(Object.entries(headers).filter(([name]) => name !== 'host'));
  return { url: url.href, init: { method: 'POST', headers: sent, body: '' } };
}

async function main(): Promise<void> {
  const apiUrl = argument('api-url');
  const region = argument('region') ?? process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION ?? /execute-api\.([a-z0-9-]+)\./.exec(apiUrl ?? '')?.[1];
  if (!apiUrl || !region) {
    console.error('Usage: npx tsx scripts/mint-admin-token.ts --api-url <MeteredApiUrl> [--region <region>]');
    process.exit(2);
  }
  const credentials = await defaultProvider()();
  const { url, init } = signedMintRequest(apiUrl, region, credentials);
  const response = await fetch(url, init);
  const body = (await response.json().catch(() => ({}))) as { access_token?: string; expires_in?: number; token_id?: string; subject?: string; message?: string };
  if (!response.ok || !body.access_token) throw new Error(`${response.status}: ${body.message ?? JSON.stringify(body)}`);
  console.error(`Admin token for ${body.subject}, valid for ${body.expires_in} s; revoke it with POST /v1/admin/tokens/${body.token_id}/revoke`);
  console.log(body.access_token);
}

if (require.main === module) {
  main().catch((error: unknown) => {
    console.error(`Could not mint an admin token: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  });
}
