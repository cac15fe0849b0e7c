/** The interaction types the SDK understands out of the box; sites may add their own. */
export const STANDARD_EVENT_TYPES = ['view', 'click', 'add_to_cart', 'purchase'] as const;

/** A standard interaction type. */
export type StandardEventType = (typeof STANDARD_EVENT_TYPES)[number];

/** One interaction as stored on the device. Never sent anywhere. */
export interface TrackedEvent {
  /** `view`, `click`, `add_to_cart`, `purchase`, or a custom type the site registered. */
  type: string;
  /** The product's id as the page knows it (`data-personalize-item`). */
  itemId: string;
  /** Milliseconds since the epoch, from the device clock. */
  at: number;
  /** Small site-provided extras (JSON-serialisable), size-limited. */
  props?: Record<string, unknown>;
  /**
   * The `track()` call that made it: the page's random id and the call's number on the page. A
   * replay of the same call (the next page handing over what this one left) carries the same id,
   * so the store recognises it; two real calls never share one, whatever they contain.
   */
  callId?: string;
}

/** Limits applied to every `track()` call. */
export interface TrackLimits {
  /** Longest accepted item id, in characters. */
  maxItemIdLength: number;
  /** Largest accepted `props`, in characters of its JSON. */
  maxPropsBytes: number;
  /** Custom event types accepted besides the standard ones. */
  customTypes: readonly string[];
}

/** Defaults for {@link TrackLimits}. */
export const DEFAULT_TRACK_LIMITS: TrackLimits = { maxItemIdLength: 128, maxPropsBytes: 2048, customTypes: [] };
