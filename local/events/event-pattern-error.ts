/**
 * The error of a pattern EventBridge refuses: PutRule and TestEventPattern answer
 * `InvalidEventPatternException`, "The event pattern is not valid"
 * (https://docs.aws.amazon.com/botocore/latest/reference/services/events/client/exceptions/InvalidEventPatternException.html),
 * with a message `Event pattern is not valid. Reason: <what is wrong>` whose reason is the text of
 * AWS's matcher, event-ruler (https://github.com/aws/event-ruler, JsonRuleCompiler.java).
 */
export class InvalidEventPatternError extends Error {
  /** The exception type the EventBridge API answers with, for adapters that map this error to a response. */
  readonly awsErrorType = 'InvalidEventPatternException';

  constructor(reason: string, options?: ErrorOptions) {
    super(`Event pattern is not valid. Reason: ${reason}`, options);
    this.name = 'InvalidEventPatternError';
  }
}
