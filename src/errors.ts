/**
 * The named errors the SDK reports through `onError`. Each carries a `name` (check `err.name`,
 * not `instanceof`: errors raised in the Worker cross the boundary as plain name/message/stack)
 * and a message that says what happened and what to do. None of them is ever thrown into the
 * host page; the page keeps its own order whenever one is reported.
 */
export type SdkErrorName =
  | 'InvalidEventError'
  | 'QueueOverflowError'
  | 'ConfigError'
  | 'WorkerUnavailableError'
  | 'StorageUnavailableError'
  | 'ModelFetchError'
  | 'ModelFormatError'
  | 'BackendUnavailableError'
  | 'InternalError';

/** An error with one of the SDK's names, built without subclassing so it is cheap in the loader. */
export function sdkError(name: SdkErrorName, message: string): Error {
  const err = new Error(message);
  err.name = name;
  return err;
}

/**
 * Normalises anything caught (a string, a DOMException, a structured clone of an Error) to an
 * Error with a specific name; a plain `Error` gets `fallbackName`.
 */
export function asError(value: unknown, fallbackName: SdkErrorName): Error {
  if (value instanceof Error) {
    if (value.name === 'Error') value.name = fallbackName;
    return value;
  }
  if (value && typeof value === 'object' && 'message' in value) {
    const v = value as { name?: unknown; message?: unknown; stack?: unknown };
    const err = new Error(String(v.message));
    err.name = typeof v.name === 'string' && v.name !== 'Error' ? v.name : fallbackName;
    if (typeof v.stack === 'string') err.stack = v.stack;
    return err;
  }
  return sdkError(fallbackName, String(value));
}
