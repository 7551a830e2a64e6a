export * from './usage-event';
export * from './event-pattern';
export * from './lake-layout';
export * from './curated-columns';
export * from './tiers';
export * from './named-queries';
export * from './tenants';
export * from './usage-aggregates';
