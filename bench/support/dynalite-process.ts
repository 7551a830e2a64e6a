// dynalite in its own process, so that a benchmark's client has a core to itself.
import { AddressInfo } from 'node:net';
import { createDynaliteServer } from '../../local/dynalite-server';

const send = process.send?.bind(process);
if (!send) throw new Error('dynalite-process is started by fork(), with an IPC channel to report its port on.');
const server = createDynaliteServer();
server.listen(0, '127.0.0.1', () => send({ port: (server.address() as AddressInfo).port }));
process.on('disconnect', () => server.close(() => process.exit(0)));
