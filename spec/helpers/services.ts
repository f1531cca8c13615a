/**
 * Helpers for the specs that talk to real servers (`*.services.spec.ts`, run by
 * `npm run test:services`, which starts the servers through scripts/services.sh and exports their
 * connection info). A missing variable or server is a failure with a message saying how to run
 * these specs, never a skip.
 */
import { spawn } from 'node:child_process';

/** The value of an environment variable exported by scripts/test-services.sh; throws when unset. */
export function serviceEnv(name: string): string {
  const value = process.env[name];
  if (value === undefined || value === '') {
    throw new Error(
      `${name} is not set: run these specs with \`npm run test:services\`, which starts the ` +
        `servers (scripts/services.sh) and exports their connection info`,
    );
  }
  return value;
}

/** What a child process printed and how it exited. */
export interface RunResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs `command args…` with `input` on stdin; fails when it does not exit within `timeoutMs`. */
export function run(
  command: string,
  args: readonly string[],
  input: string,
  timeoutMs = 10_000,
): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${command} ${args.join(' ')} did not exit within ${timeoutMs} ms`));
    }, timeoutMs);
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    child.stdin.on('error', () => {}); // EPIPE when the command exits early: `close` reports it
    child.stdin.end(input);
  });
}

/** One sample of an instant-vector answer of the Prometheus HTTP API. */
export interface PromSample {
  readonly metric: Record<string, string>;
  readonly value: number;
}

/** `GET /api/v1/query?query=…` against the Prometheus at `baseUrl`: the instant vector's samples. */
export async function queryPrometheus(baseUrl: string, promql: string): Promise<PromSample[]> {
  const url = `${baseUrl}/api/v1/query?query=${encodeURIComponent(promql)}`;
  const response = await fetch(url, { signal: AbortSignal.timeout(5_000) });
  const body = (await response.json()) as {
    status: string;
    error?: string;
    data?: {
      resultType: string;
      result: { metric: Record<string, string>; value: [number, string] }[];
    };
  };
  if (body.status !== 'success' || body.data === undefined) {
    throw new Error(`Prometheus query ${promql} failed: ${body.error ?? response.status}`);
  }
  if (body.data.resultType !== 'vector') {
    throw new Error(`Prometheus query ${promql} gave a ${body.data.resultType}, not a vector`);
  }
  return body.data.result.map((r) => ({ metric: r.metric, value: Number(r.value[1]) }));
}

/**
 * Calls `probe` every `intervalMs` until it returns `true`, for at most `timeoutMs`; then throws
 * with `describe()` (what was last seen), so a failure says what it waited for.
 */
export async function pollUntil(
  probe: () => Promise<boolean>,
  describe: () => string,
  { timeoutMs = 30_000, intervalMs = 250 }: { timeoutMs?: number; intervalMs?: number } = {},
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await probe()) return;
    if (Date.now() >= deadline) {
      throw new Error(`gave up after ${timeoutMs} ms waiting for ${describe()}`);
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}
