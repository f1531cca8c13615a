import type { Registry, RegistryContentType } from 'prom-client';
import { show } from '../../errors/validate.js';

/** @internal A prom-client `Registry` (checked by shape, so two copies of prom-client work), or undefined. */
export function checkRegistry(
  registry: unknown,
  option = 'registry',
): Registry<RegistryContentType> | undefined {
  if (registry === undefined) return undefined;
  const r = registry as Partial<Record<string, unknown>> | null;
  if (
    typeof r !== 'object' ||
    r === null ||
    typeof r.registerMetric !== 'function' ||
    typeof r.removeSingleMetric !== 'function' ||
    typeof r.getSingleMetric !== 'function' ||
    typeof r.getMetricsAsJSON !== 'function' ||
    typeof r.metrics !== 'function'
  ) {
    throw new TypeError(
      `Option '${option}' must be a prom-client Registry, got ${show(registry)}.`,
    );
  }
  return registry as Registry<RegistryContentType>;
}
