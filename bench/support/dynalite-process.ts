// dynalite in its own process, so that a benchmark's client has a core to itself.
import { AddressInfo } from 'node:net';
import { createDynaliteServer } from '../../local/dynalite-server';

const server = createDynaliteServer();
server.listen(0, '127.0.0.1', () => process.send!({ port: (server.address() as AddressInfo).port }));
process.on('disconnect', () => server.close(() => process.exit(0)));
