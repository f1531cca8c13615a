/**
 * Whether an `Accept` header asks for OpenMetrics 1.0.0 at least as much as for the Prometheus
 * text format (`text/plain`, `text/*`, `*\/*`), going by `q` weights. Prometheus sends e.g.
 * `application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5,*\/*;q=0.1`.
 * An absent header means the text format.
 * @internal
 */
export function prefersOpenMetrics(accept: string | readonly string[] | undefined): boolean {
  if (accept === undefined) return false;
  const header = typeof accept === 'string' ? accept : accept.join(',');
  let openMetrics = 0;
  let text = 0;
  for (const range of header.split(',')) {
    const [mediaType = '', ...params] = range.split(';');
    const type = mediaType.trim().toLowerCase();
    let q = 1;
    let version: string | undefined;
    for (const param of params) {
      const eq = param.indexOf('=');
      if (eq < 0) continue;
      const key = param.slice(0, eq).trim().toLowerCase();
      const value = param
        .slice(eq + 1)
        .trim()
        .replace(/^"|"$/g, '');
      if (key === 'q') {
        const weight = Number(value);
        q = Number.isFinite(weight) ? weight : 0;
      } else if (key === 'version') version = value;
    }
    if (type === 'application/openmetrics-text') {
      if (version === undefined || version === '1.0.0') openMetrics = Math.max(openMetrics, q);
    } else if (
      (type === 'text/plain' && (version === undefined || version === '0.0.4')) ||
      type === 'text/*' ||
      type === '*/*'
    ) {
      text = Math.max(text, q);
    }
  }
  return openMetrics > 0 && openMetrics >= text;
}
