'use strict';
// The local Cognito emulator's process (started by cognito-emulator.ts with `fork`): cognito-local's
// server, built from its own pieces as its createDefaultServer builds it, with three differences:
//   - confirmation codes go to the parent as IPC messages ({ kind: 'code', email, code }), not in a
//     box on the console;
//   - no AWS SDK v2: it is only needed for Lambda triggers and KMS (custom email senders), which the
//     local pool has none of, so neither the SDK's load time nor its end-of-support notice is paid;
//   - the port and the issuer come from the parent (PORT, HOST, ISSUER_DOMAIN), which learns the port first;
//   - ResendConfirmationCode, which cognito-local does not serve, is answered as Cognito does for an
//     unconfirmed user (a new code, delivered as SignUp's), and refused for a confirmed one.
// Its data is in `.cognito/` under its working directory (the parent's `<dir>`); its pino log
// goes to standard output, which the parent points at a log file.
// It stops on SIGTERM or when the parent's IPC channel closes (the parent ended, however it ended);
// SIGINT is left to the parent.

const { createRequire } = require('node:module');

const fromCognitoLocal = createRequire(require.resolve('cognito-local/package.json'));
const lib = (name) => fromCognitoLocal(`./lib/${name}`);

const host = process.env.HOST ?? '127.0.0.1';
const port = Number.parseInt(process.env.PORT ?? '', 10);
const logger = fromCognitoLocal('pino')({ level: process.env.COGNITO_LOCAL_LOG_LEVEL ?? 'info', base: null });

/** cognito-local's MessageSender: each code is one message to the parent. */
class ParentMessageSender {
  sendEmail(_ctx, user, destination, message) {
    return this.send(user, destination, message);
  }
  sendSms(_ctx, user, destination, message) {
    return this.send(user, destination, message);
  }
  send(user, destination, message) {
    return new Promise((resolve) => {
      // The parent may be gone; the code is then lost with it.
      if (!process.connected) { resolve(); return; }
      process.send({ kind: 'code', email: destination, username: user.Username, code: message.__code }, () => { resolve(); });
    });
  }
}

/** Lambda triggers and KMS are what the AWS SDK v2 is for: the local pool configures neither. */
const noLambda = { invoke: () => ({ promise: () => Promise.reject(new Error('Lambda triggers are not available in the local Cognito emulator')) }) };
const noKms = { encrypt: () => Promise.reject(new Error('Custom email senders are not available in the local Cognito emulator')) };

async function createServer() {
  const ctx = { logger };
  const { loadConfig } = lib('server/config.js');
  const { StormDBDataStoreFactory } = lib('services/dataStore/stormDb.js');
  const { DateClock, TriggersService, LambdaService, MessagesService } = lib('services/index.js');
  const { CognitoServiceFactoryImpl } = lib('services/cognitoService.js');
  const { UserPoolServiceFactoryImpl } = lib('services/userPoolService.js');
  const { MessageDeliveryService } = lib('services/messageDelivery/messageDelivery.js');
  const { JwtTokenGenerator } = lib('services/tokenGenerator.js');
  const { otp } = lib('services/otp.js');
  const { Router } = lib('server/Router.js');
  const { createServer: createCognitoServer } = lib('server/server.js');

  const config = await loadConfig(ctx, new StormDBDataStoreFactory('.cognito'));
  config.ServerConfig = { ...config.ServerConfig, port, hostname: host, https: false, development: false };
  // The parent keeps a pool's issuer across restarts (its subject mappings are keyed by it): ISSUER_DOMAIN.
  config.TokenConfig = { ...config.TokenConfig, IssuerDomain: process.env.ISSUER_DOMAIN ?? `http://${host}:${port}` };
  const clock = new DateClock();
  const dataDirectory = '.cognito/db';
  const dataStores = new StormDBDataStoreFactory(dataDirectory);
  const cognito = await new CognitoServiceFactoryImpl(dataDirectory, dataStores, new UserPoolServiceFactoryImpl(clock, dataStores)).create(ctx, config.UserPoolDefaults);
  const triggers = new TriggersService(clock, cognito, new LambdaService(config.TriggerFunctions, noLambda), noKms);
  const services = {
    clock,
    cognito,
    config,
    messages: new MessagesService(triggers, new MessageDeliveryService(new ParentMessageSender())),
    otp,
    tokenGenerator: new JwtTokenGenerator(clock, triggers, config.TokenConfig),
    triggers,
  };
  const route = Router(services);
  const router = (target) => (target === 'ResendConfirmationCode' ? resendConfirmationCode(services) : route(target));
  return createCognitoServer(router, logger, config.ServerConfig, services);
}

/**
 * ResendConfirmationCode (https://docs.aws.amazon.com/cognito-user-identity-pools/latest/APIReference/API_ResendConfirmationCode.html):
 * a new code for an unconfirmed user, delivered as SignUp delivers its own; `UserNotFoundException`
 * for no such user, `InvalidParameterException` for a confirmed one.
 */
function resendConfirmationCode({ cognito, messages, otp, clock }) {
  const errors = lib('errors.js');
  const { selectAppropriateDeliveryMethod } = lib('services/messageDelivery/deliveryMethod.js');
  return async (ctx, req) => {
    const userPool = await cognito.getUserPoolForClientId(ctx, req.ClientId);
    const user = await userPool.getUserByUsername(ctx, req.Username);
    if (!user) throw new errors.UserNotFoundError();
    if (user.UserStatus !== 'UNCONFIRMED') throw new errors.InvalidParameterError('User is already confirmed.');
    const code = otp();
    const details = selectAppropriateDeliveryMethod(userPool.options.AutoVerifiedAttributes ?? [], user);
    await userPool.saveUser(ctx, { ...user, ConfirmationCode: code, UserLastModifiedDate: clock.get() });
    if (details) await messages.deliver(ctx, 'ResendCode', req.ClientId, userPool.options.Id, user, code, req.ClientMetadata, details);
    return { CodeDeliveryDetails: details ?? undefined };
  };
}

/** How long a stop waits for the requests in flight (each saves its data before it answers). */
const STOP_GRACE_MS = 2000;

function stopOn(server) {
  let stopping = false;
  return () => {
    if (stopping) return;
    stopping = true;
    setTimeout(() => { process.exit(0); }, STOP_GRACE_MS).unref();
    server.close(() => { process.exit(0); });
    server.closeIdleConnections();
  };
}

async function main() {
  if (!Number.isInteger(port) || port <= 0) throw new Error(`PORT must be a port number; got ${JSON.stringify(process.env.PORT)}`);
  const server = await (await createServer()).start();
  const stop = stopOn(server);
  process.on('SIGTERM', stop);
  // Ctrl-C in a terminal reaches the whole process group: the stack stops this process itself
  // (SIGTERM), once its own requests are done.
  process.on('SIGINT', () => undefined);
  process.on('disconnect', stop);
  if (!process.connected) { stop(); return; }
  logger.info(`Cognito Local running on http://${host}:${port}`);
  process.send({ kind: 'ready', port: server.address().port });
}

main().catch((error) => {
  logger.error(error);
  const send = process.connected ? (message, done) => process.send(message, done) : (_message, done) => done();
  send({ kind: 'failed', message: error instanceof Error ? error.message : String(error), code: error?.code }, () => { process.exit(1); });
});
