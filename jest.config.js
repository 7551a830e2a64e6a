// The AWS SDK's notice that its releases after January 2027 need Node 22 concerns versions this
// project does not install (package.json pins exact ones, and test/repo/node-engines.test.ts fails
// on any locked package whose engines range the stated Node version does not meet).
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';

/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  transform: {
    '^.+\\.[tj]sx?$': ['ts-jest', { tsconfig: 'tsconfig.json' }],
  },
  // jose 6 ships ESM only.
  transformIgnorePatterns: ['/node_modules/(?!jose/)'],
  testTimeout: 60_000,
};
