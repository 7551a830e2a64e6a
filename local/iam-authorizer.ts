import { timingSafeEqual } from 'node:crypto';
import { SigV4Signer } from '../sdk/sigv4';

/** A local IAM principal: the access key it signs with and the ARN API Gateway would report. */
export interface LocalIamPrincipal {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly arn: string;
}

/** What the gateway hands the authorizer of a route with IAM authorization. */
export interface IamSignedRequest {
  readonly method: string;
  readonly path: string;
  /** Lower-case header names; a header the request lacks is absent. */
  readonly headers: Readonly<Partial<Record<string, string>>>;
  readonly body: string;
}

/** How far a request's `x-amz-date` may be from now, as AWS allows (15 minutes). */
const MAX_CLOCK_SKEW_MS = 15 * 60 * 1000;
const AUTHORIZATION = /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([^/]+)\/execute-api\/aws4_request, SignedHeaders=([a-z0-9;-]+), Signature=[0-9a-f]{64}$/;

/**
 * IAM authorization of an HTTP API route, locally: verifies a SigV4 signature (service
 * `execute-api`) against known principals and answers the caller's ARN, as API Gateway puts it in
 * `requestContext.authorizer.iam.userArn`. Locally there is no IAM policy to evaluate: every known
 * principal may invoke the route, as one granted `execute-api:Invoke` would.
 */
export class LocalIamAuthorizer {
  private readonly principals: ReadonlyMap<string, LocalIamPrincipal>;
  private readonly signer: SigV4Signer;

  constructor(
    principals: readonly LocalIamPrincipal[],
    private readonly region: string,
    private readonly clock: () => number = Date.now,
  ) {
    this.principals = new Map(principals.map((principal) => [principal.accessKeyId, principal]));
    this.signer = new SigV4Signer('execute-api', region);
  }

  /** The ARN of the principal that signed the request, or undefined (API Gateway answers 403). */
  public verify(request: IamSignedRequest): string | undefined {
    const authorization = request.headers.authorization ?? '';
    const match = AUTHORIZATION.exec(authorization);
    if (!match) return undefined;
    const [, accessKeyId, scopeDate, region, signedHeaderList] = match;
    const principal = this.principals.get(accessKeyId);
    const amzDate = request.headers['x-amz-date'] ?? '';
    const time = Date.parse(amzDate.replace(/^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/, '$1-$2-$3T$4:$5:$6Z'));
    if (!principal || region !== this.region || !amzDate.startsWith(scopeDate) || !Number.isFinite(time) || Math.abs(this.clock() - time) > MAX_CLOCK_SKEW_MS) return undefined;
    const signed = signedHeaderList.split(';');
    if (!signed.includes('host') || !signed.includes('x-amz-date')) return undefined;
    // The signer adds x-amz-date and the session token itself: hand it the other signed headers.
    const headers = Object.fromEntries(signed.filter((name) => name !== 'x-amz-date' && name !== 'x-amz-security-token').map((name) => [name, request.headers[name] ?? '']));
    const sessionToken = signed.includes('x-amz-security-token') ? request.headers['x-amz-security-token'] : undefined;
    const expected = this.signer.sign({ method: request.method, path: request.path, headers, body: request.body }, { ...principal, sessionToken }, new Date(time)).authorization;
    const [a, b] = [Buffer.from(expected), Buffer.from(authorization)];
    return a.byteLength === b.byteLength && timingSafeEqual(a, b) ? principal.arn : undefined;
  }
}
