import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import type { AdminTokenResponse } from '../../contracts/api-schemas';
import { AuditLog } from '../admin/audit-log';
import { HttpError, JsonResult, errorResult, json } from '../http/responses';
import { TokenService } from '../tokens/token-service';

/** An HTTP API (payload 2.0) event of a route with IAM authorization. */
export type IamAuthorizedEvent = APIGatewayProxyEventV2 & {
  readonly requestContext: APIGatewayProxyEventV2['requestContext'] & { readonly authorizer?: { readonly iam?: { readonly userArn?: string } } };
};

/** The IAM principal API Gateway verified (SigV4, IAM authorization), or undefined. */
function verifiedCallerArn(event: IamAuthorizedEvent): string | undefined {
  const arn = event.requestContext.authorizer?.iam?.userArn;
  return typeof arn === 'string' && arn.startsWith('arn:') ? arn : undefined;
}

/**
 * POST /v1/admin/token: an admin token for the caller's IAM principal. The route uses IAM
 * authorization, so API Gateway has checked the SigV4 signature and that the principal may
 * `execute-api:Invoke` this route before the function runs, and hands it the principal's ARN as
 * `requestContext.authorizer.iam.userArn`
 * (https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-access-control-iam.html).
 * That ARN, never anything the caller sends, becomes the token's subject and the audit actor.
 */
export function adminTokenRoute(tokens: TokenService, audit: AuditLog): (event: IamAuthorizedEvent) => Promise<JsonResult> {
  return async (event) => {
    const principalArn = verifiedCallerArn(event);
    // Only a route without IAM authorization could get here without one: refuse rather than mint for nobody.
    if (!principalArn) return errorResult(new HttpError(403, 'forbidden', 'Admin tokens are minted for IAM-authenticated callers only.'), event.requestContext.requestId);
    const { token, tokenId, expiresIn, expiresAt } = await tokens.mintAdminToken(principalArn);
    // Audited before it is handed out: no admin token exists that the log does not name.
    await audit.append({ actor: principalArn, action: 'admin-token.mint', target: tokenId, details: { expiresAt: new Date(expiresAt * 1000).toISOString() } });
    return json(200, { access_token: token, token_type: 'Bearer', expires_in: expiresIn, token_id: tokenId, subject: principalArn } satisfies AdminTokenResponse);
  };
}
