import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { asError, SDK_ERROR_NAMES, sdkError } from '../../src/errors';

describe('the error vocabulary', () => {
  it('is the README’s list, name for name', () => {
    const readme = readFileSync(resolve(__dirname, '../../README.md'), 'utf8');
    const section = readme.slice(readme.indexOf('### Errors'), readme.indexOf('\n## ', readme.indexOf('### Errors')));
    const documented = [...section.matchAll(/^\| `([A-Za-z]+Error)` \|/gm)].map((m) => m[1]);
    expect(documented).toEqual([...SDK_ERROR_NAMES]);
  });

  it('maps names from outside it (a DOMException, tfjs, a plain Error) to the fallback and keeps the original name in the message', () => {
    const quota = asError(new DOMException('quota', 'QuotaExceededError'), 'StorageUnavailableError');
    expect(quota.name).toBe('StorageUnavailableError');
    expect(quota.message).toBe('QuotaExceededError: quota');
    expect(asError(new Error('boom'), 'InternalError')).toMatchObject({ name: 'InternalError', message: 'boom' });
    expect(asError('a string', 'InternalError')).toMatchObject({ name: 'InternalError', message: 'a string' });
    expect(asError(null, 'ConfigError')).toMatchObject({ name: 'ConfigError', message: 'null' });
  });

  it('rebuilds a record from the Worker with its own name, and keeps an SDK error as it is', () => {
    expect(asError({ name: 'ModelFetchError', message: 'HTTP 404' }, 'InternalError')).toMatchObject({
      name: 'ModelFetchError',
      message: 'HTTP 404',
    });
    expect(asError({ name: 'InvalidEventError', message: 'm', reason: 'props_too_large' }, 'InternalError').reason).toBe('props_too_large');
    const own = sdkError('ModelNotReadyError', 'not yet');
    expect(asError(own, 'InternalError')).toBe(own);
    // A name that merely looks like one of ours is still mapped.
    expect(asError({ name: 'TokenRefusedError', message: 'm' }, 'InternalError')).toMatchObject({
      name: 'InternalError',
      message: 'TokenRefusedError: m',
    });
  });
});
