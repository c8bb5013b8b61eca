/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/tests'],
  testMatch: ['**/*.test.ts'],
  transform: { '^.+\\.tsx?$': ['ts-jest', { tsconfig: 'tsconfig.json', diagnostics: { warnOnly: false } }] },
  // Two cores on CI: native work (sharp, onnxruntime, SQLite) already uses both.
  maxWorkers: 2,
  testTimeout: 60000,
  reporters: ['default', '<rootDir>/tests/summary-reporter.js'],
};
