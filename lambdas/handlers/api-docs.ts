import { buildOpenApiDocument } from '../../contracts/openapi';
import { METERED_API_SERVICE } from '../../contracts/metered-api';
import { UsageLogWriter } from '../usage-log/usage-log-writer';
import { createApiDocsHandler } from '../routes/api-docs-route';

/**
 * Lambda entry of GET /openapi.json, /docs, /sdk, /sdk.js and /sdk.mjs (the api-docs routes of
 * PUBLIC_ROUTES): the document and every answer are built once per execution environment, at
 * init; the client's browser bundles are in this function's bundle (dist/client/browser-bundles.ts,
 * written by `npm run build:client`); the function makes no AWS call.
 */
export const handler = createApiDocsHandler({ usageLog: new UsageLogWriter({ service: METERED_API_SERVICE }) }, buildOpenApiDocument());
