import type { ProductsResponse, UsersResponse } from '../../contracts/api-schemas';
import { DEMO_LATENCY_SPREAD } from '../../contracts/metered-api';
import { RouteLogic } from '../http/metered-route';
import { HttpError } from '../http/responses';

/** Behaviour of a demo route, standing for one of the original mock services. */
export interface DemoRouteOptions {
  /** Added latency, ms. @default 0 */
  readonly latencyMs?: number;
  /** Share of requests that fail with 500. @default 0 */
  readonly errorRate?: number;
  readonly random?: () => number;
}

/** Waits `ms` on the global timer (which tests can fake). */
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

const USERS = Array.from({ length: 20 }, (_, i) => ({ id: `u-${1000 + i}`, name: `User ${i + 1}`, plan: ['free', 'pro'][i % 2] }));
const PRODUCTS = Array.from({ length: 12 }, (_, i) => ({ id: `p-${200 + i}`, name: `Product ${i + 1}`, priceCents: 999 + i * 250 }));

/** GET /v1/users and GET /v1/products: fixed data, with configurable latency and failures. */
export function demoRoute(resource: 'users' | 'products', options: DemoRouteOptions = {}): RouteLogic {
  const random = options.random ?? Math.random;
  return async () => {
    if (options.latencyMs) await sleep(options.latencyMs * (DEMO_LATENCY_SPREAD.min + (DEMO_LATENCY_SPREAD.max - DEMO_LATENCY_SPREAD.min) * random()));
    if (options.errorRate && random() < options.errorRate) {
      throw new HttpError(500, 'upstream-failure', `The ${resource} service failed (demo error rate ${options.errorRate}).`);
    }
    return { statusCode: 200, body: (resource === 'users' ? { items: USERS } : { items: PRODUCTS }) satisfies UsersResponse | ProductsResponse };
  };
}
