import { describe, expect, it } from 'vitest';
import { quotaPruneCount, retentionCut } from '../../../src/store/retention';

const DAY = 24 * 60 * 60 * 1000;

describe('retention', () => {
  it('cuts events older than the age cap and the oldest beyond the count cap', () => {
    const now = 100 * DAY;
    expect(retentionCut(10, now, { maxEvents: 10, maxAgeDays: 90 })).toEqual({ olderThan: 10 * DAY, excess: 0 });
    expect(retentionCut(13, now, { maxEvents: 10, maxAgeDays: 90 })).toEqual({ olderThan: 10 * DAY, excess: 3 });
    expect(retentionCut(0, now, { maxEvents: 10, maxAgeDays: 0.5 }).olderThan).toBe(now - DAY / 2);
  });
  it('prunes a tenth of the history, at least one event, when the quota is exceeded', () => {
    expect(quotaPruneCount(0)).toBe(1);
    expect(quotaPruneCount(5)).toBe(1);
    expect(quotaPruneCount(10_000)).toBe(1000);
    expect(quotaPruneCount(10_001)).toBe(1001);
  });
});
