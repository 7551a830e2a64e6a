/** The CloudWatch namespace of every metric this project publishes (Lambda functions and the Glue job). */
export const METRICS_NAMESPACE = 'ApiUsageTracker';

/**
 * The CloudWatch metrics the curation job publishes once per run (the Glue job writes them, the
 * alarm and the dashboard read them): how many records it refused and how many it curated.
 * The job receives these names in its `--curated_columns` argument.
 */
export const CURATION_METRICS = {
  namespace: METRICS_NAMESPACE,
  /** Records the run refused (written to `errors/glue/`), summed per run. */
  rejectedRecords: 'RejectedRecords',
  /** Records the run curated (before deduplication against earlier runs). */
  curatedRecords: 'CuratedRecords',
  /** The one dimension: the Glue job's name. */
  jobNameDimension: 'JobName',
} as const;
