/** One line of `usage-tracker status`: a component of the pipeline and whether it is healthy. */
export interface StatusCheck {
  readonly component: string;
  readonly state: string;
  readonly healthy: boolean;
  readonly detail: string;
}
