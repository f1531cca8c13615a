import { brand, hasBrand } from '../../errors/brand.js';

const BRAND = brand('ResumeIdNotFoundError');

/**
 * A resumed export's source ended without the row the partial file ends with, so the export
 * cannot know where to continue. The partial file is kept; delete it to start over.
 *
 * @example
 * ```ts
 * try { await exportToFile(rows, { path, format: 'ndjson', resume: { idOf: (r) => r.id } }); }
 * catch (error) { if (isResumeIdNotFoundError(error)) await unlink(`${path}.partial`); throw error; }
 * ```
 */
export class ResumeIdNotFoundError extends Error {
  declare readonly [BRAND]: true;
  override readonly name = 'ResumeIdNotFoundError';

  constructor(
    /** The id of the last row in the partial file. */
    readonly id: string | number,
  ) {
    super(
      `The source ended before the row with id ${JSON.stringify(id)} the partial export ends with.`,
    );
    Object.defineProperty(this, BRAND, { value: true });
  }
}

/**
 * True when `error` is a {@link ResumeIdNotFoundError}, from this or any other copy of the
 * package.
 *
 * @example
 * ```ts
 * if (isResumeIdNotFoundError(e)) console.warn(`restart the export: ${e.id} is gone`);
 * ```
 */
export function isResumeIdNotFoundError(error: unknown): error is ResumeIdNotFoundError {
  return hasBrand(error, BRAND);
}
