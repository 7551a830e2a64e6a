'use strict';
// The local SES server's process (started by ses-local-server.ts with `fork`): aws-ses-v2-local's
// Express app on HOST:PORT (PORT 0: a free port), which it reports to the parent over IPC
// ({ kind: 'ready', port }) once it listens. It keeps the mails in its own memory (GET /store), so
// each process is one empty mailbox. It stops on SIGTERM or when the parent's IPC channel closes
// (the parent ended, however it ended).

const http = require('node:http');
const startServer = require('aws-ses-v2-local').default;

// aws-ses-v2-local resolves its start even when listening failed (Express 5 hands the error to a
// callback that ignores it): keep the error of the server it creates, to report it.
let listenError;
const createServer = http.createServer;
http.createServer = (...args) => {
  const server = createServer(...args);
  server.once('error', (error) => { listenError = error; });
  return server;
};

const host = process.env.HOST ?? '127.0.0.1';
const port = Number.parseInt(process.env.PORT ?? '0', 10);

startServer({ host, port }).then(
  (server) => {
    if (!server.listening) {
      const reason = listenError ?? new Error(`could not listen on ${host}:${port}`);
      process.send({ kind: 'failed', message: String(reason.message), code: reason.code }, () => process.exit(1));
      return;
    }
    const stop = () => {
      server.closeAllConnections();
      server.close(() => process.exit(0));
    };
    process.once('SIGTERM', stop);
    process.once('disconnect', stop);
    process.send({ kind: 'ready', port: server.address().port });
  },
  (error) => {
    process.send({ kind: 'failed', message: String(error?.message ?? error), code: error?.code }, () => process.exit(1));
  },
);
