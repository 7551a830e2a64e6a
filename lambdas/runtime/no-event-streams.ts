/**
 * What the Lambda bundles have in place of `@smithy/core/event-streams` (an esbuild alias,
 * lib/lambda-bundling.ts). The SDK's protocols load event streams with a dynamic `import()` that
 * esbuild cannot trim, so every bundle carried the whole module (about 19 KB minified) although
 * no function calls an event-stream operation: DynamoDB and EventBridge have none. Should one
 * ever be called, it fails saying why instead of misbehaving.
 */
export class EventStreamsNotBundledError extends Error {
  constructor() {
    super('Event streams are not bundled in the Lambda functions (lib/lambda-bundling.ts aliases @smithy/core/event-streams): remove the alias to call an event-stream operation.');
    this.name = 'EventStreamsNotBundledError';
  }
}

/** Stands for the SDK's event-stream serde: refuses to be built, and to work. */
export class EventStreamSerde {
  constructor() {
    throw new EventStreamsNotBundledError();
  }

  public serializeEventStream(): never {
    throw new EventStreamsNotBundledError();
  }

  public deserializeEventStream(): never {
    throw new EventStreamsNotBundledError();
  }
}

/** Stands for the SDK's event-stream marshaller provider: refuses to provide one. */
export function eventStreamSerdeProvider(): never {
  throw new EventStreamsNotBundledError();
}
