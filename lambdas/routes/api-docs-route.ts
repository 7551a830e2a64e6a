import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { METERED_API_SERVICE } from '../../contracts/metered-api';
import { RESERVED_TENANT_IDS } from '../../contracts/tenants';
import { withUsageTracking } from '../../sdk/lambda-wrapper';
import { referencePage } from '../api-docs/reference-page';
import { HttpError, JsonResult, errorResult } from '../http/responses';
import type { MeteredApiDependencies } from '../runtime/dependencies';

/** How long a browser or proxy may keep the reference: it changes only with a deployment. */
const CACHE_CONTROL = 'public, max-age=300';

/**
 * GET /openapi.json and GET /docs (PUBLIC_ROUTES): the OpenAPI document, built once when the
 * function starts, and the reference page that renders it. No credential, no AWS call: API
 * Gateway's route throttle is all that bounds them. The document may be read from any origin
 * (`access-control-allow-origin: *`, for API tools); it describes the API and holds no secret.
 */
export function apiDocsRoute(document: object): (event: APIGatewayProxyEventV2) => Promise<JsonResult> {
  const documentBody = JSON.stringify(document);
  const page = referencePage();
  return (event) => {
    switch (event.routeKey) {
      case 'GET /openapi.json':
        return Promise.resolve({
          statusCode: 200,
          headers: { 'content-type': 'application/json', 'cache-control': CACHE_CONTROL, 'access-control-allow-origin': '*', 'x-content-type-options': 'nosniff' },
          body: documentBody,
        });
      case 'GET /docs':
        return Promise.resolve({ statusCode: 200, headers: { ...page.headers }, body: page.html });
      default:
        return Promise.resolve(errorResult(new HttpError(404, 'not-found', `No reference route ${event.routeKey}.`), event.requestContext.requestId));
    }
  };
}

/**
 * The function of the reference routes: {@link apiDocsRoute}, its answers recorded as anonymous
 * traffic (never billed). The document is passed in (contracts/openapi.ts builds it), so that
 * only this function's bundle holds the schemas and their generator. The Lambda entry and the
 * local runtime (through the handler registry) both compose it here.
 */
export const createApiDocsHandler = (
  deps: Pick<MeteredApiDependencies, 'usageLog'>,
  document: object,
): ((event: APIGatewayProxyEventV2, context: unknown) => Promise<JsonResult>) =>
  withUsageTracking(deps.usageLog, apiDocsRoute(document), {
    service: METERED_API_SERVICE,
    resolveCaller: () => ({ tenantId: RESERVED_TENANT_IDS.anonymous }),
  });
