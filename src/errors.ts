/**
 * The SDK's error vocabulary: every error that reaches a site's `onError` or `status().errors`
 * has one of these names (check `err.name`, not `instanceof`: errors raised in the Worker cross
 * the boundary as plain name/message). Built one way ({@link sdkError}); anything else caught, or
 * received from the Worker, is mapped into the vocabulary in one place ({@link asError}). None of
 * them is ever thrown into the host page; the page keeps its own order whenever one is reported.
 * The README's error table lists the same names (a unit test compares them).
 */
export const SDK_ERROR_NAMES = [
  /** A `track()` call was ignored (`reason` says why). */
  'InvalidEventError',
  /** More events waited for the Worker than the queue holds (10,000): the newest were dropped. */
  'QueueOverflowError',
  /** A configuration value or an API argument was refused (the default applies). */
  'ConfigError',
  /** The Worker could not start or died. */
  'WorkerUnavailableError',
  /** IndexedDB is missing, refused, broken or over quota; the session lives in memory for this page. */
  'StorageUnavailableError',
  /** The model URL cannot be fetched (network failure, HTTP error). */
  'ModelFetchError',
  /** The model's files do not match their format (truncated, wrong version, non-finite values). */
  'ModelFormatError',
  /** A call needed the model before it loaded (or its load failed). */
  'ModelNotReadyError',
  /** A tfjs backend could not start (the next one is tried; the error names what runs). */
  'BackendUnavailableError',
  /** The aggregation server could not be reached or answered with an error status. */
  'FederatedNetworkError',
  /** The model is too large to federate: one update would exceed the upload limit. */
  'UpdateTooLargeError',
  /** Anything else (a bug of ours, or a browser failure the SDK does not name). */
  'InternalError',
] as const;

export type SdkErrorName = (typeof SDK_ERROR_NAMES)[number];

/** An error of the vocabulary. `reason` is a machine-readable detail (e.g. `InvalidEventError`'s). */
export type SdkError = Error & { name: SdkErrorName; reason?: string };

export function isSdkErrorName(name: unknown): name is SdkErrorName {
  return typeof name === 'string' && (SDK_ERROR_NAMES as readonly string[]).includes(name);
}

/** The one way the SDK builds its errors (no subclassing: cheap in the loader). */
export function sdkError(name: SdkErrorName, message: string, reason?: string): SdkError {
  const err = new Error(message) as SdkError;
  err.name = name;
  if (reason !== undefined) err.reason = reason;
  return err;
}

/**
 * Maps anything caught (an Error, a DOMException, a string) or received from the Worker (a
 * `{ name, message }` record, a comlink-rebuilt Error) into the vocabulary. A name outside it
 * (`QuotaExceededError`, tfjs' `Error`…) becomes `fallbackName`, and the original name stays in
 * the message, so nothing is lost for debugging.
 */
export function asError(value: unknown, fallbackName: SdkErrorName): SdkError {
  if (value && typeof value === 'object' && 'message' in value) {
    const v = value as { name?: unknown; message?: unknown; stack?: unknown; reason?: unknown };
    if (value instanceof Error && isSdkErrorName(v.name)) return value as SdkError;
    const known = isSdkErrorName(v.name);
    const foreign = typeof v.name === 'string' && v.name !== 'Error' && !known ? `${v.name}: ` : '';
    const err = sdkError(
      known ? (v.name as SdkErrorName) : fallbackName,
      foreign + String(v.message),
      typeof v.reason === 'string' ? v.reason : undefined,
    );
    if (typeof v.stack === 'string') err.stack = v.stack;
    return err;
  }
  return sdkError(fallbackName, String(value));
}
