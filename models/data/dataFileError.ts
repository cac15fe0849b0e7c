/**
 * Raised when an input file cannot be used at all: it is missing, or its header does not name
 * the columns the reader needs. Bad *rows* never raise; readers count them in a
 * {@link ReadReport} instead.
 *
 * It carries a `name` so callers (the CLI, a worker boundary) can check `err.name` rather than
 * `instanceof`, as the house style asks.
 */
export class DataFileError extends Error {
  override name = 'DataFileError';
}
