import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

/** Command-line parsing shared by the examples: errors that name the bad option and value. */

/** A bad command line: the message says what is wrong; exit code 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/**
 * `text` (from option or variable `name`) as a whole number in `[min, max]`.
 * @throws UsageError naming `name`, `what` was expected and the text given.
 */
export function wholeNumber(
  [name, text]: [string, string],
  min: number,
  max: number,
  what: string,
) {
  const n = /^\s*\d+\s*$/.test(text) ? Number(text) : NaN;
  if (!Number.isSafeInteger(n) || n < min || n > max) {
    throw new UsageError(`${name} must be ${what}, got '${text}'.`);
  }
  return n;
}

/**
 * `text` (from option or variable `name`) as a number of seconds > 0 that `setTimeout` can wait.
 * @throws UsageError naming `name` and the text given.
 */
export function positiveSeconds([name, text]: [string, string]): number {
  const n = /^\s*(\d+(\.\d*)?|\.\d+)\s*$/.test(text) ? Number(text) : NaN;
  // Up to ~24 days: what setTimeout can wait.
  if (!(n > 0) || n * 1000 > 2 ** 31 - 1) {
    throw new UsageError(`${name} must be a number of seconds > 0, got '${text}'.`);
  }
  return n;
}

/** What {@link runJobCli} hands the job: where to serve and write, and the stop signal. */
export interface JobIo {
  readonly port: number;
  readonly out: { write(text: string): unknown };
  readonly isTTY: boolean;
  readonly columns?: number;
  readonly signal: AbortSignal;
}

/** What {@link runJobCli} needs to know about one example job. */
export interface JobCli<A extends { readonly help: boolean; readonly port?: number }> {
  /** The script's name, put before its messages. */
  readonly name: string;
  readonly usage: string;
  /** The port used when `--port` is not given; a free one is taken when it is busy. */
  readonly defaultPort: number;
  /** Parses `argv` and `env`, throwing a {@link UsageError} for a bad command line. */
  parse(argv: readonly string[], env: Readonly<Record<string, string | undefined>>): A;
  run(args: A, io: JobIo): Promise<unknown>;
}

/**
 * The `main()` of a long-running example job: parses the command line (exit 2 with the usage on
 * a bad one), stops the job cleanly on the first Ctrl-C or SIGTERM and at once on the second,
 * falls back to a free port when the default one is taken, and returns the exit code.
 *
 * @example
 * ```ts
 * if (isMain(import.meta.url)) process.exitCode = await runJobCli({ name, usage, defaultPort: 9464, parse, run });
 * ```
 */
export async function runJobCli<A extends { readonly help: boolean; readonly port?: number }>(
  cli: JobCli<A>,
): Promise<number> {
  let args: A;
  try {
    args = cli.parse(process.argv.slice(2), process.env);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    process.stderr.write(`${cli.name}: ${error.message}\n${cli.usage}\n`);
    return 2;
  }
  if (args.help) {
    process.stdout.write(`${cli.usage}\n`);
    return 0;
  }

  // First Ctrl-C (or SIGTERM): stop cleanly. Second: stop now.
  const isTTY = process.stdout.isTTY === true;
  const controller = new AbortController();
  const onSignal = (signal: NodeJS.Signals): void => {
    if (controller.signal.aborted) {
      process.stdout.write(`\n${signal} again: exiting at once.\n`);
      process.exit(130);
    }
    // On a terminal the line break leaves the progress line (and the echoed ^C) above.
    process.stdout.write(`${isTTY ? '\n' : ''}${signal}: stopping (again to force)…\n`);
    controller.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const run = (port: number) =>
    cli.run(args, {
      port,
      out: process.stdout,
      isTTY,
      ...(isTTY ? { columns: process.stdout.columns } : {}),
      signal: controller.signal,
    });
  const inUse = (error: unknown) => (error as { code?: string }).code === 'EADDRINUSE';
  try {
    try {
      await run(args.port ?? cli.defaultPort);
    } catch (error) {
      // The default port is taken (another job, a real exporter): any free port will do.
      if (args.port !== undefined || !inUse(error)) throw error;
      process.stderr.write(`${cli.name}: port ${cli.defaultPort} is in use; using a free port.\n`);
      await run(0);
    }
    return 0;
  } catch (error) {
    if (inUse(error)) {
      process.stderr.write(`${cli.name}: port ${args.port} is in use; try --port 0.\n`);
      return 1;
    }
    process.stderr.write(`${cli.name}: failed: ${(error as Error).stack ?? String(error)}\n`);
    return 1;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

/**
 * True when the module at `moduleUrl` is the script node was started with (not imported, as the
 * e2e specs import the jobs).
 *
 * @example
 * ```ts
 * if (isMain(import.meta.url)) process.exitCode = await main();
 * ```
 */
export function isMain(moduleUrl: string): boolean {
  return (
    process.argv[1] !== undefined && moduleUrl === pathToFileURL(resolve(process.argv[1])).href
  );
}
