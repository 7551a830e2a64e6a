import { Duration } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as firehose from 'aws-cdk-lib/aws-kinesisfirehose';
import * as sqs from 'aws-cdk-lib/aws-sqs';

/** Properties of a {@link FirehoseTargetWithDeadLetterQueue}. */
export interface FirehoseTargetWithDeadLetterQueueProps {
  /** The queue receiving events EventBridge could not deliver after its retries. */
  readonly deadLetterQueue: sqs.IQueue;
  /** Retries before an event goes to the dead-letter queue (0-185). */
  readonly retryAttempts: number;
  /** How long EventBridge keeps retrying an event (1 minute - 24 hours). */
  readonly maxEventAge: Duration;
}

/**
 * A rule target that puts events on a Firehose stream, with the dead-letter queue and retry
 * policy that `aws-events-targets.FirehoseDeliveryStream` does not offer. Without a dead-letter
 * queue EventBridge drops an event for good once its retries run out.
 */
export class FirehoseTargetWithDeadLetterQueue implements events.IRuleTarget {
  private readonly target: targets.FirehoseDeliveryStream;

  constructor(
    deliveryStream: firehose.IDeliveryStream,
    private readonly props: FirehoseTargetWithDeadLetterQueueProps,
  ) {
    if (!Number.isInteger(props.retryAttempts) || props.retryAttempts < 0 || props.retryAttempts > 185) {
      throw new Error(`retryAttempts must be a whole number from 0 to 185 (EventBridge's limit); got ${props.retryAttempts}.`);
    }
    const ageSeconds = props.maxEventAge.toSeconds();
    if (ageSeconds < 60 || ageSeconds > 86_400) {
      throw new Error(`maxEventAge must be from 1 minute to 24 hours (EventBridge's limit); got ${props.maxEventAge.toHumanString()}.`);
    }
    this.target = new targets.FirehoseDeliveryStream(deliveryStream);
  }

  bind(rule: events.IRule, id?: string): events.RuleTargetConfig {
    const config = this.target.bind(rule, id);
    // Only this rule may send to the queue.
    this.props.deadLetterQueue.grantSendMessages(
      new iam.ServicePrincipal('events.amazonaws.com').withConditions({ ArnEquals: { 'aws:SourceArn': rule.ruleArn } }),
    );
    return {
      ...config,
      deadLetterConfig: { arn: this.props.deadLetterQueue.queueArn },
      retryPolicy: {
        maximumRetryAttempts: this.props.retryAttempts,
        maximumEventAgeInSeconds: this.props.maxEventAge.toSeconds(),
      },
    };
  }
}
