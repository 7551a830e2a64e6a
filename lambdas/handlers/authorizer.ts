import type { APIGatewayRequestAuthorizerEventV2, Context } from 'aws-lambda';
import { authorizerConfigOfInvokedArn, authorizerNameOf } from '../../contracts/metered-api';
import { authorizerFunctionDependencies } from '../runtime/function-dependencies';
import { createAuthorizerHandler } from './registry';

type AuthorizerHandler = ReturnType<typeof createAuthorizerHandler>;
const deps = authorizerFunctionDependencies();
const byAuthorizer = new Map<string, AuthorizerHandler>();

/**
 * Lambda REQUEST authorizer of the metered HTTP API (simple responses). Every authorizer of the
 * API invokes this function through an alias of its own name; the access it grants follows from
 * that alias (see `authorizerConfigOfInvokedArn`), never from the request.
 */
export const handler = async (event: APIGatewayRequestAuthorizerEventV2, context: Pick<Context, 'invokedFunctionArn'>): ReturnType<AuthorizerHandler> => {
  const config = authorizerConfigOfInvokedArn(context.invokedFunctionArn);
  const name = authorizerNameOf(config);
  let authorize = byAuthorizer.get(name);
  if (!authorize) {
    authorize = createAuthorizerHandler(deps, config);
    byAuthorizer.set(name, authorize);
  }
  return authorize(event);
};
