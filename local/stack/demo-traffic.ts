import { randomUUID } from 'node:crypto';
import { API_KEY_PREFIX } from '../../contracts/metered-api';
import { TierName } from '../../contracts/tiers';
import { createEventBridgeClient } from '../../sdk/eventbridge-client';
import { UsagePublisher } from '../../sdk/usage-publisher';

/** A demo tenant and its API key, one per tier. */
export interface DemoTenant {
  readonly tier: TierName;
  readonly tenantId: string;
  readonly apiKey: string;
}

export interface DemoTrafficOptions {
  readonly apiUrl: string;
  readonly eventsUrl: string;
  readonly busName: string;
  readonly source: string;
  readonly tenants: readonly DemoTenant[];
  /** Calls per minute each tier's consumer makes: some beyond their limit, so 429s show. */
  readonly callsPerMinute?: Partial<Record<TierName, number>>;
  /** Events per second the simulated services record through the SDK. */
  readonly serviceEventsPerSecond?: number;
  readonly log?: (line: string) => void;
}

/** Beyond the free (5/min) and basic (20/min) limits on purpose; within premium's and enterprise's. */
const DEFAULT_CALLS_PER_MINUTE: Record<TierName, number> = { free: 30, basic: 60, premium: 90, enterprise: 150 };

interface DemoRoute {
  readonly operation: string;
  readonly feature: string;
  /** Typical latency, ms. */
  readonly latency: number;
  readonly errorRate: number;
}

/** Microservices of a shop, with their routes and how slow and flaky each is. */
const SERVICES: readonly { readonly service: string; readonly routes: readonly DemoRoute[] }[] = [
  {
    service: 'orders-service',
    routes: [
      { operation: 'POST /v1/orders', feature: 'checkout', latency: 120, errorRate: 0.03 },
      { operation: 'GET /v1/orders/{orderId}', feature: 'order-tracking', latency: 35, errorRate: 0.005 },
    ],
  },
  {
    service: 'catalog-service',
    routes: [
      { operation: 'GET /v1/catalog/items', feature: 'browse', latency: 25, errorRate: 0.002 },
      { operation: 'GET /v1/catalog/items/{itemId}', feature: 'browse', latency: 15, errorRate: 0.002 },
    ],
  },
  {
    service: 'search-service',
    routes: [{ operation: 'GET /v1/search', feature: 'search', latency: 80, errorRate: 0.01 }],
  },
];

const pick = <T>(items: readonly T[]): T => items[Math.floor(Math.random() * items.length)];
/** A long-tailed latency around a typical value. */
const latency = (typical: number) => Math.round(typical * (0.5 + Math.random()) * (Math.random() < 0.05 ? 6 : 1) * 10) / 10;

/**
 * Demo traffic: several simulated services record usage through the producer SDK (to the local
 * bus, as a real service would), and one API consumer per tier calls the metered API with its
 * key — free and basic beyond their limits, so rate limiting shows — plus the odd bad credential.
 */
export class DemoTraffic {
  private readonly publishers: UsagePublisher[] = [];
  private readonly timers: NodeJS.Timeout[] = [];
  private stopped = false;
  private readonly inFlight = new Set<Promise<unknown>>();
  private readonly answers = new Map<number, number>();

  constructor(private readonly options: DemoTrafficOptions) {}

  public start(): void {
    const client = createEventBridgeClient({ endpoint: this.options.eventsUrl, region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
    for (const { service, routes } of SERVICES) {
      const publisher = new UsagePublisher({ eventBusName: this.options.busName, source: this.options.source, client, flushOnExitSignals: false, defaults: { service }, sendFrom: 'event-loop' });
      this.publishers.push(publisher);
      const perSecond = (this.options.serviceEventsPerSecond ?? 9) / SERVICES.length;
      this.every(1000 / perSecond, () => {
        const tenant = pick(this.options.tenants);
        const route = pick(routes);
        const failed = Math.random() < route.errorRate;
        publisher.record({
          tenantId: tenant.tenantId,
          tier: tenant.tier,
          operation: route.operation,
          feature: route.feature,
          method: route.operation.split(' ')[0],
          statusCode: failed ? pick([500, 502, 503]) : Math.random() < 0.04 ? 404 : route.operation.startsWith('POST') ? 201 : 200,
          latencyMs: latency(route.latency),
          responseBytes: Math.floor(200 + Math.random() * 4000),
          billableUnits: route.feature === 'search' ? 2 : 1,
          attributes: { demo: 'true' },
        });
      });
    }
    const perMinute = { ...DEFAULT_CALLS_PER_MINUTE, ...this.options.callsPerMinute };
    for (const tenant of this.options.tenants) {
      this.every(60_000 / perMinute[tenant.tier], () => { this.call(pick(['/v1/users', '/v1/products', '/v1/products', '/v1/usage']), `ApiKey ${tenant.apiKey}`); });
    }
    // Now and then a caller with a bad credential: refused, and tracked as such.
    this.every(7000, () => { this.call('/v1/users', pick([`ApiKey ${API_KEY_PREFIX}${randomUUID().replace(/-/g, '')}`, 'Bearer not-a-jwt', ''])); });
  }

  /** Answers the API gave, by status code. */
  public statusCounts(): Record<number, number> {
    return Object.fromEntries(this.answers);
  }

  public async stop(): Promise<void> {
    this.stopped = true;
    for (const timer of this.timers) clearInterval(timer);
    await Promise.allSettled([...this.inFlight]);
    await Promise.all(this.publishers.map((publisher) => publisher.close()));
  }

  private every(ms: number, task: () => void): void {
    const timer = setInterval(() => {
      if (!this.stopped) task();
    }, Math.max(10, ms));
    timer.unref();
    this.timers.push(timer);
  }

  private call(route: string, authorization: string): void {
    const request = fetch(`${this.options.apiUrl}${route}`, { headers: authorization ? { authorization } : {} })
      .then(async (response) => {
        await response.arrayBuffer();
        this.answers.set(response.status, (this.answers.get(response.status) ?? 0) + 1);
      })
      .catch((error: unknown) => this.options.log?.(`demo call ${route} failed: ${error instanceof Error ? error.message : String(error)}`));
    this.inFlight.add(request);
    void request.finally(() => this.inFlight.delete(request));
  }
}
