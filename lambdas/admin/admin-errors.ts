/**
 * What the admin service refuses before it asks the store: a request body or an id of the wrong
 * form. The store's own refusals (an unknown tenant, a revoked key, ...) are CredentialStoreErrors.
 * Neither knows HTTP: the admin route maps both to answers.
 */
export class InvalidAdminInput extends Error {
  constructor(
    public readonly code: 'invalid-body' | 'invalid-token-id',
    message: string,
  ) {
    super(message);
    this.name = 'InvalidAdminInput';
  }
}
