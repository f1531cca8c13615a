import { describe, expect, it, jest } from '@jest/globals';
import winston from 'winston';
import { createDefaultLogger, defaultLogger } from '../../../src/observability/winston/index.js';

describe('defaultLogger', () => {
  it('is one logger, created once and shared', () => {
    expect(defaultLogger()).toBe(defaultLogger());
    expect(defaultLogger().level).toBe(createDefaultLogger().level);
  });
});

describe('createDefaultLogger', () => {
  it.each([
    [undefined, 'info'],
    ['debug', 'debug'],
    [' WARN ', 'warn'],
    ['trace', 'info'], // not an npm level
    ['', 'info'],
  ])('takes LOG_LEVEL=%p as level %p', (value, level) => {
    expect(createDefaultLogger({ LOG_LEVEL: value }).level).toBe(level);
  });

  it('writes one JSON line per record to stdout, with a timestamp', () => {
    const logger = createDefaultLogger({});
    expect(logger.transports).toHaveLength(1);
    const transport = logger.transports[0] as InstanceType<typeof winston.transports.Console>;
    expect(transport).toBeInstanceOf(winston.transports.Console);
    expect(transport.stderrLevels).toEqual({}); // no level goes to stderr
    // The Console transport writes to console._stdout, which Node's console maps to
    // process.stdout (jest's console to its own buffer), or uses console.log without one.
    const lines: string[] = [];
    const stdout = (console as unknown as { _stdout?: { write(chunk: unknown): boolean } })._stdout;
    const spy =
      stdout === undefined
        ? jest.spyOn(console, 'log').mockImplementation((line: unknown) => {
            lines.push(`${String(line)}\n`);
          })
        : jest.spyOn(stdout, 'write').mockImplementation((chunk: unknown) => {
            lines.push(String(chunk));
            return true;
          });
    try {
      logger.log({ level: 'error', message: 'request failed', messageName: 'GetOrder' });
      logger.log({ level: 'debug', message: 'dropped' });
    } finally {
      spy.mockRestore();
    }
    expect(lines).toHaveLength(1);
    expect(lines[0]!.endsWith('\n')).toBe(true);
    expect(JSON.parse(lines[0]!)).toEqual({
      level: 'error',
      message: 'request failed',
      messageName: 'GetOrder',
      timestamp: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
    });
  });
});
