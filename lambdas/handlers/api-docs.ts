import { buildOpenApiDocument } from '../../contracts/openapi';
import { METERED_API_SERVICE } from '../../contracts/metered-api';
import { UsageLogWriter } from '../usage-log/usage-log-writer';
import { createApiDocsHandler } from '../routes/api-docs-route';

/**
 * Lambda entry of GET /openapi.json and GET /docs (see PUBLIC_ROUTES): the document is built once
 * per execution environment, at init; the function makes no AWS call.
 */
export const handler = createApiDocsHandler({ usageLog: new UsageLogWriter({ service: METERED_API_SERVICE }) }, buildOpenApiDocument());
