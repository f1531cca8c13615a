/**
 * Number formats shared by the terminal tables, RESULTS.md, the chart and the regression guard,
 * so the same figure reads the same everywhere.
 */

/** ns with one decimal below 1 µs, whole ns above. */
export const fmtNs = (ns: number): string => (ns >= 1000 ? ns.toFixed(0) : ns.toFixed(1));

/** A ratio or speed-up: `1.23×`. */
export const fmtRatio = (r: number): string => `${r.toFixed(2)}×`;

/** ns per op or per item as a rate: `8.12 M items/s`. */
export function fmtRate(ns: number, unit: 'op' | 'item' = 'op'): string {
  const perSecond = 1e9 / ns;
  const scaled =
    perSecond >= 1e6
      ? `${(perSecond / 1e6).toFixed(2)} M`
      : perSecond >= 1e4
        ? `${(perSecond / 1e3).toFixed(1)} k`
        : perSecond.toFixed(0);
  return `${scaled} ${unit}s/s`;
}

/** ns, with `/item` for stream sides. */
export const fmtPer = (ns: number, unit: 'op' | 'item'): string =>
  unit === 'item' ? `${fmtNs(ns)}/item` : fmtNs(ns);

/** Bytes as GiB with one decimal (machine RAM). */
export const fmtGiB = (bytes: number): string => `${(bytes / 2 ** 30).toFixed(1)} GiB`;
