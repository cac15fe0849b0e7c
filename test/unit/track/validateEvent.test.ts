import { describe, expect, it } from 'vitest';
import type { SdkError } from '../../../src/errors';
import { validateEvent } from '../../../src/track/validateEvent';
import { DEFAULT_TRACK_LIMITS } from '../../../src/track/trackedEvent';

const reason = (r: unknown): string | undefined => (r instanceof Error ? (r as SdkError).reason : undefined);

describe('validateEvent', () => {
  it('accepts the standard types with an item id and keeps small props', () => {
    for (const type of ['view', 'click', 'add_to_cart', 'purchase']) {
      expect(validateEvent(type, { itemId: 'SKU-1' }, 1000)).toEqual({ type, itemId: 'SKU-1', at: 1000 });
    }
    expect(validateEvent('purchase', { itemId: 'a', price: 2.5 }, 5)).toEqual({
      type: 'purchase',
      itemId: 'a',
      at: 5,
      props: { price: 2.5 },
    });
  });

  it('accepts a custom type only once registered', () => {
    expect(reason(validateEvent('wishlist', { itemId: 'a' }, 0))).toBe('unknown_type');
    const limits = { ...DEFAULT_TRACK_LIMITS, customTypes: ['wishlist'] };
    expect(validateEvent('wishlist', { itemId: 'a' }, 0, limits)).toMatchObject({ type: 'wishlist' });
  });

  it('names every way a call can be wrong, and never throws', () => {
    expect(reason(validateEvent(42, { itemId: 'a' }, 0))).toBe('unknown_type');
    expect(reason(validateEvent('view', null, 0))).toBe('props_not_object');
    expect(reason(validateEvent('view', ['a'], 0))).toBe('props_not_object');
    expect(reason(validateEvent('view', {}, 0))).toBe('missing_item_id');
    expect(reason(validateEvent('view', { itemId: '' }, 0))).toBe('missing_item_id');
    expect(reason(validateEvent('view', { itemId: 7 }, 0))).toBe('item_id_not_string');
    expect(reason(validateEvent('view', { itemId: 'x'.repeat(129) }, 0))).toBe('item_id_too_long');
    expect(reason(validateEvent('view', { itemId: 'a', blob: 'y'.repeat(3000) }, 0))).toBe('props_too_large');
    const cyclic: Record<string, unknown> = { itemId: 'a' };
    cyclic.self = { cyclic };
    (cyclic.self as Record<string, unknown>).loop = cyclic.self;
    // Not too large: not JSON at all. The reason says so.
    expect(reason(validateEvent('view', cyclic, 0))).toBe('props_not_serialisable');
    expect(reason(validateEvent('view', { itemId: 'a', n: 10n }, 0))).toBe('props_not_serialisable');
    const throwing = {
      itemId: 'a',
      x: {
        toJSON() {
          throw new Error('no');
        },
      },
    };
    expect(reason(validateEvent('view', throwing, 0))).toBe('props_not_serialisable');
    // The limit is on the props' JSON (without itemId): 2,048 characters pass, 2,049 do not.
    const fill = (n: number) => ({ itemId: 'a', p: 'y'.repeat(n - '{"p":""}'.length) });
    expect(validateEvent('view', fill(2048), 0)).not.toBeInstanceOf(Error);
    expect(reason(validateEvent('view', fill(2049), 0))).toBe('props_too_large');
    const err = validateEvent('nope', { itemId: 'a' }, 0) as SdkError;
    expect(err.name).toBe('InvalidEventError');
    expect(err.message).toMatch(/unknown event type "nope"/);
  });
});
