import { sdkError, type SdkError } from '../errors';
import { DEFAULT_TRACK_LIMITS, STANDARD_EVENT_TYPES, type TrackedEvent, type TrackLimits } from './trackedEvent';

/**
 * Why a `track()` call was ignored: an `InvalidEventError` whose `reason` is machine-readable
 * (`unknown_type`, `missing_item_id`, `item_id_not_string`, `item_id_too_long`,
 * `props_not_object`, `props_not_serialisable`, `props_too_large`) and whose message says what to do.
 */
const invalid = (reason: string, message: string): SdkError => sdkError('InvalidEventError', `track(): ${message}`, reason);

/**
 * Checks one `track(type, props)` call and returns the event to store, or an
 * `InvalidEventError` to report through `onError`. Never throws: a bad call from the
 * page must not break the page. `props.itemId` is the item; the other props are kept if small.
 */
export function validateEvent(
  type: unknown,
  props: unknown,
  now: number,
  limits: TrackLimits = DEFAULT_TRACK_LIMITS,
): TrackedEvent | SdkError {
  const known = (STANDARD_EVENT_TYPES as readonly string[]).includes(type as string) || limits.customTypes.includes(type as string);
  if (typeof type !== 'string' || !known) {
    return invalid(
      'unknown_type',
      `unknown event type ${JSON.stringify(type)}; use ${STANDARD_EVENT_TYPES.join(', ')} or register it in init({ customEventTypes })`,
    );
  }
  if (props === null || typeof props !== 'object' || Array.isArray(props)) {
    return invalid('props_not_object', 'the second argument must be an object such as { itemId: "SKU-1" }');
  }
  const { itemId, ...rest } = props as Record<string, unknown>;
  if (itemId === undefined || itemId === '') return invalid('missing_item_id', 'props.itemId is required');
  if (typeof itemId !== 'string') return invalid('item_id_not_string', `props.itemId must be a string, got ${typeof itemId}`);
  if (itemId.length > limits.maxItemIdLength) {
    return invalid('item_id_too_long', `props.itemId is ${itemId.length} characters, the limit is ${limits.maxItemIdLength}`);
  }
  const event: TrackedEvent = { type, itemId, at: now };
  if (Object.keys(rest).length > 0) {
    let json: string;
    try {
      json = JSON.stringify(rest);
    } catch {
      // Cyclic props, a BigInt, a throwing toJSON: JSON.stringify throws, and nothing can be stored.
      return invalid('props_not_serialisable', 'props must be plain JSON');
    }
    if (json.length > limits.maxPropsBytes) {
      return invalid('props_too_large', `props must be JSON of at most ${limits.maxPropsBytes} characters`);
    }
    event.props = JSON.parse(json) as Record<string, unknown>;
  }
  return event;
}
