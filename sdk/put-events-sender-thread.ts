// The publisher's sender thread: signs and sends PutEvents requests handed over by the main thread.
import { parentPort } from 'node:worker_threads';
import type { SenderReply, SenderRequest } from './put-events-transport';
import type { AwsCredentials } from './sigv4';
import { SignedPutEventsSender, toSenderFailure } from './signed-put-events-sender';

let sender: SignedPutEventsSender | undefined;
let credentials: AwsCredentials | undefined;

parentPort!.on('message', (message: SenderRequest) => {
  if (message.type === 'init') {
    sender = new SignedPutEventsSender(message.endpoint, { connections: message.connections, ...message.timeouts });
    return;
  }
  if (message.type === 'credentials') {
    credentials = message.credentials;
    return;
  }
  sender!
    .send(message.body, credentials!)
    .then((entries) => { parentPort!.postMessage({ id: message.id, entries } satisfies SenderReply); })
    .catch((error: unknown) => { parentPort!.postMessage({ id: message.id, failure: toSenderFailure(error) } satisfies SenderReply); });
});
