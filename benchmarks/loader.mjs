/**
 * The TypeScript loader of the benchmark children: `node --import ./benchmarks/loader.mjs …`.
 *
 * Why not tsx: tsx compiles with esbuild's `keepNames`, which wraps every function expression in
 * `__name(fn, 'name')` — an `Object.defineProperty` each time a closure is created. Code that
 * makes closures per call (lastValue(), forHandler(), behaviors' next) then measures up to 5×
 * slower than the same source compiled by tsc, as users run it. This loader runs the same esbuild
 * transform without `keepNames`, so the working copy in src/ is measured as shipped.
 * (No `emitDecoratorMetadata`: esbuild has none; the benchmarks do not use inversify.)
 */
import { readFile } from 'node:fs/promises';
import { register } from 'node:module';
import { fileURLToPath } from 'node:url';
import { isMainThread } from 'node:worker_threads';

if (isMainThread) register(import.meta.url);

/** NodeNext style: `./x.js` in a .ts file means `./x.ts`. */
export async function resolve(specifier, context, nextResolve) {
  try {
    return await nextResolve(specifier, context);
  } catch (error) {
    const fromTs = context.parentURL?.endsWith('.ts');
    if (fromTs && specifier.startsWith('.') && specifier.endsWith('.js')) {
      return nextResolve(`${specifier.slice(0, -3)}.ts`, context);
    }
    throw error;
  }
}

export async function load(url, context, nextLoad) {
  if (!url.startsWith('file:') || !url.endsWith('.ts')) return nextLoad(url, context);
  const { transform } = await import('esbuild');
  const file = fileURLToPath(url);
  const { code } = await transform(await readFile(file, 'utf8'), {
    loader: 'ts',
    format: 'esm',
    target: 'node20',
    sourcefile: file,
    sourcemap: 'inline',
    tsconfigRaw: { compilerOptions: { target: 'ES2022', experimentalDecorators: true } },
  });
  return { format: 'module', source: code, shortCircuit: true };
}
