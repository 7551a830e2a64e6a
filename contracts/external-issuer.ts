/**
 * What an external token issuer (e.g. a Cognito user pool) must be configured with: checked by the
 * CDK construct and the context reader at synth time, and again by the runtime at start-up.
 */

/** The problems of an external issuer's configuration, each saying what to change; empty when usable. */
export function externalIssuerProblems(issuer: { readonly issuer: string; readonly clientIds: readonly string[]; readonly jwksUrl?: string }): string[] {
  const problems: string[] = [];
  if (issuer.issuer.trim() === '') problems.push('the external issuer must not be empty');
  if (issuer.clientIds.length === 0 || issuer.clientIds.some((id) => id.trim() === '')) problems.push('the external issuer needs at least one app client id (client_id), none empty');
  if (issuer.jwksUrl !== undefined) {
    let url: URL | undefined;
    try {
      url = new URL(issuer.jwksUrl);
    } catch {
      url = undefined;
    }
    // Keys fetched over plain HTTP could be swapped on the way, and with them any tenant's identity;
    // only a loopback address (the local Cognito emulator, npm start) cannot be reached by others.
    if (url?.protocol !== 'https:' && !(url?.protocol === 'http:' && isLoopbackHost(url.hostname))) {
      problems.push(`the external JWKS URL must be an https URL (http only on a loopback address); got ${JSON.stringify(issuer.jwksUrl)}`);
    }
  }
  return problems;
}

/** Whether a URL's hostname is this machine's loopback (`127.0.0.0/8`, `::1`, `localhost`). */
export function isLoopbackHost(hostname: string): boolean {
  return hostname === 'localhost' || hostname === '[::1]' || hostname === '::1' || /^127(\.\d{1,3}){3}$/.test(hostname);
}
