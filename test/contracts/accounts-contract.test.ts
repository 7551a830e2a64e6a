import { PASSWORD_POLICY, passwordProblems } from '../../contracts/accounts';
import { corsOriginProblems } from '../../contracts/cors';
import { isLoopbackHost } from '../../contracts/external-issuer';

describe('The accounts contract', () => {
  it('names every rule of the password policy a password misses, and none for a good one', () => {
    // Act / Assess
    expect(passwordProblems('Correct-horse-9')).toEqual([]);
    expect(passwordProblems('short')).toEqual([`at least ${PASSWORD_POLICY.minLength} characters`, 'an upper-case letter', 'a digit', 'a symbol']);
    expect(passwordProblems('ALLUPPERCASE123!')).toEqual(['a lower-case letter']);
    expect(passwordProblems(`Aa1!${'x'.repeat(PASSWORD_POLICY.maxLength)}`)).toEqual([`at most ${PASSWORD_POLICY.maxLength} characters`]);
    // A space counts as a symbol for Cognito.
    expect(passwordProblems('Correct horse 9')).toEqual([]);
  });
});

describe('Allowed CORS origins', () => {
  it('accepts "*" alone, https origins and loopback http origins', () => {
    // Act / Assess
    expect(corsOriginProblems(['*'])).toEqual([]);
    expect(corsOriginProblems(['https://app.example.com', 'http://localhost:5173', 'http://127.0.0.1:8080'])).toEqual([]);
  });

  it('names what is wrong with each origin', () => {
    // Act / Assess
    expect(corsOriginProblems([])).toEqual(['corsAllowOrigins must name at least one origin, or "*"']);
    expect(corsOriginProblems(['*', 'https://a.example'])).toEqual(['"*" must be the only origin when given']);
    expect(corsOriginProblems(['https://a.example/'])).toEqual(['"https://a.example/" is not an origin: write "https://a.example" (no path, no trailing slash)']);
    expect(corsOriginProblems(['http://a.example'])).toEqual(['"http://a.example" must be https (http only for localhost)']);
    expect(corsOriginProblems(['not a url'])).toEqual(['"not a url" is not an origin (scheme://host[:port])']);
  });
});

describe('Loopback hosts', () => {
  it('are 127.0.0.0/8, ::1 and localhost, nothing else', () => {
    // Act / Assess
    expect(['127.0.0.1', '127.10.0.3', 'localhost', '[::1]'].map(isLoopbackHost)).toEqual([true, true, true, true]);
    expect(['128.0.0.1', 'localhost.example', '127.0.0.1.nip.io', '10.0.0.1'].map(isLoopbackHost)).toEqual([false, false, false, false]);
  });
});
