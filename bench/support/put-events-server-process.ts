// The loopback PutEvents server in its own process, so the producer being measured has a core to
// itself. Controlled over IPC: { cmd: 'stats' | 'down' | 'blackhole' | 'up' | 'reset' }.
import { LoopbackPutEventsServer } from '../../test/support/put-events-server';

const send = process.send?.bind(process);
if (!send) throw new Error('put-events-server-process is started by fork(), with an IPC channel to take commands on.');
const server = new LoopbackPutEventsServer({ countOnly: true });
void server.start().then((url) => send({ url }));
process.on('message', (message: { cmd: string; id: number }) => {
  if (message.cmd === 'down') server.setDown(true);
  if (message.cmd === 'up') {
    server.setDown(false);
    server.setBlackhole(false);
  }
  if (message.cmd === 'blackhole') server.setBlackhole(true);
  if (message.cmd === 'reset') {
    server.accepted.clear();
    server.requests = 0;
    server.entries = 0;
    server.acceptedEntries = 0;
  }
  const cpu = process.cpuUsage();
  send({ id: message.id, requests: server.requests, entries: server.entries, accepted: server.acceptedEntries, cpuMicros: cpu.user + cpu.system });
});
process.on('disconnect', () => void server.stop().then(() => process.exit(0)));
