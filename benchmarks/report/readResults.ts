import { readFileSync } from 'node:fs';
import type { BenchResults } from './BenchResults.js';

/**
 * Reads a results JSON written by `npm run bench` and checks the fields the report scripts rely
 * on, so a wrong or truncated file fails with its path named rather than deep inside a renderer.
 */
export function readResults(path: string): BenchResults {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new Error(`Cannot read benchmark results ${path}: ${(error as Error).message}`);
  }
  return parseResults(text, path);
}

/** Parses and checks results JSON text; `source` names it in errors. */
export function parseResults(text: string, source: string): BenchResults {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (error) {
    throw new Error(`${source} is not JSON: ${(error as Error).message}`);
  }
  const fail = (what: string): never => {
    throw new Error(`${source} is not benchmark results: ${what}.`);
  };
  if (typeof data !== 'object' || data === null) fail('not an object');
  const results = data as Partial<BenchResults>;
  if (!Array.isArray(results.cases)) fail("no 'cases' array");
  for (const [i, c] of results.cases!.entries()) {
    if (typeof c?.name !== 'string') fail(`cases[${i}] has no name`);
    if (typeof c.ratio !== 'number') fail(`case '${c.name}' has no ratio`);
    if (typeof c.processSpread?.min !== 'number' || typeof c.processSpread.max !== 'number') {
      fail(`case '${c.name}' has no processSpread`);
    }
  }
  return results as BenchResults;
}
