// The publisher's sender thread: signs and sends PutEvents requests handed over by the main thread.
import { parentPort } from 'node:worker_threads';
import type { SenderReply, SenderRequest } from './put-events-transport';
import type { AwsCredentials } from './sigv4';
import { SignedPutEventsSender, toSenderFailure } from './signed-put-events-sender';

let sender: SignedPutEventsSender | undefined;
let credentials: AwsCredentials | undefined;

if (!parentPort) throw new Error('put-events-sender-thread runs on a worker thread, started by WorkerPutEventsTransport.');
const port = parentPort;

port.on('message', (message: SenderRequest) => {
  if (message.type === 'init') {
    sender = new SignedPutEventsSender(message.endpoint, { connections: message.connections, ...message.timeouts });
    return;
  }
  if (message.type === 'credentials') {
    credentials = message.credentials;
    return;
  }
  // The main thread sends 'init' and 'credentials' before any 'send'.
  const ready = sender && credentials ? sender.send(message.body, credentials) : Promise.reject(new Error('the sender thread got a request before its endpoint and credentials'));
  ready
    .then((entries) => { port.postMessage({ id: message.id, entries } satisfies SenderReply); })
    .catch((error: unknown) => { port.postMessage({ id: message.id, failure: toSenderFailure(error) } satisfies SenderReply); });
});
