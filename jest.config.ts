/** @jest-config-loader esbuild-register */
import type { Config } from 'jest';

const swc = [
  '@swc/jest',
  {
    jsc: {
      target: 'es2022',
      parser: { syntax: 'typescript', decorators: true },
      transform: { legacyDecorator: true, decoratorMetadata: true },
    },
  },
] as const;

const config: Config = {
  testEnvironment: 'node',
  extensionsToTreatAsEsm: ['.ts'],
  transform: { '^.+\\.ts$': swc as unknown as [string, Record<string, unknown>] },
  // Examples import the package by name; specs that run them get the working copy.
  moduleNameMapper: {
    '^fs-mediator$': '<rootDir>/src/index.ts',
    '^fs-mediator/(inversify|postgres|websocket|file)$': '<rootDir>/src/integrations/$1/index.ts',
    '^fs-mediator/(prometheus|winston)$': '<rootDir>/src/observability/$1/index.ts',
    '^(\\.{1,2}/.*)\\.js$': '$1',
  },
  roots: ['<rootDir>/spec'],
  testMatch: ['**/*.spec.ts'],
  // Specs that need real servers run under `npm run test:services` (see scripts/).
  testPathIgnorePatterns: ['/node_modules/', '\\.services\\.spec\\.ts$'],
  collectCoverageFrom: ['src/**/*.ts'],
  coverageThreshold: { global: { lines: 90, branches: 90, functions: 90, statements: 90 } },
  coverageReporters: ['text-summary', 'lcov'],
};

export default config;
