import { errorName, fullJitterDelay, isRetryableCallError, isRetryableEntryError } from '../../sdk/retry-policy';

describe('Function: fullJitterDelay', () => {
  const options = { baseDelayMs: 100, maxDelayMs: 5000 };

  it('draws uniformly below base·2^(attempt-1)', () => {
    expect(fullJitterDelay(1, { ...options, random: () => 0.999 })).toBe(99);
    expect(fullJitterDelay(3, { ...options, random: () => 0.5 })).toBe(200);
    expect(fullJitterDelay(3, { ...options, random: () => 0 })).toBe(0);
  });

  it('caps the ceiling at maxDelayMs', () => {
    expect(fullJitterDelay(30, { ...options, random: () => 0.999 })).toBe(4995);
  });
});

describe('Function: isRetryableEntryError', () => {
  it("retries the service's own transient failures only", () => {
    expect(isRetryableEntryError('InternalFailure')).toBe(true);
    expect(isRetryableEntryError('ThrottlingException')).toBe(true);
    expect(isRetryableEntryError('MalformedDetail')).toBe(false);
    expect(isRetryableEntryError('NotAuthorizedForSourceException')).toBe(false);
  });
});

describe('Function: isRetryableCallError', () => {
  it('retries network, throttling and credential errors but not a malformed request', () => {
    expect(isRetryableCallError(Object.assign(new Error('x'), { name: 'ThrottlingException' }))).toBe(true);
    expect(isRetryableCallError(Object.assign(new Error('x'), { code: 'ECONNREFUSED' }))).toBe(true);
    expect(isRetryableCallError(Object.assign(new Error('x'), { name: 'CredentialsProviderError' }))).toBe(true);
    expect(isRetryableCallError(Object.assign(new Error('x'), { name: 'ValidationException' }))).toBe(false);
  });
});

describe('Function: errorName', () => {
  it('names errors by code, then name, and anything else UnknownError', () => {
    expect(errorName(Object.assign(new Error('x'), { code: 'ECONNRESET' }))).toBe('ECONNRESET');
    expect(errorName(Object.assign(new Error('x'), { name: 'TimeoutError' }))).toBe('TimeoutError');
    expect(errorName('text')).toBe('UnknownError');
  });
});
