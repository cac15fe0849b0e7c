import { describe, expect, it } from 'vitest';
import { CATEGORIES, CATEGORY_RULES, categoryOf } from '../../../models/data/categoryOf';

describe('categoryOf', () => {
  it.each([
    ["JUMBO BAG 50'S CHRISTMAS", 'Christmas'], // seasonal beats Bags: first match wins
    ['WHITE HANGING HEART T-LIGHT HOLDER', 'Candles & Lights'], // a specific word beats HEART
    ['JUMBO BAG RED RETROSPOT', 'Bags'],
    ['LUNCH BAG RED RETROSPOT', 'Lunch & Picnic'],
    ['REGENCY CAKESTAND 3 TIER', 'Baking'],
    ['GOLD EAR MUFF HEADPHONES', 'Other'],
    ['SCANDINAVIAN 3 HEARTS NAPKIN RING', 'Kitchen'], // a napkin ring is not jewellery
    ['SILVER DIAMANTE EARRINGS', 'Jewellery'], // RING inside EARRINGS is not a whole word, EARRINGS is
    ['Heart of Wicker Small', 'Hearts & Love'], // display names work too
    ["PINK B'FLY C/COVER W BOBBLES", 'Home Decor'],
    ["CHILDREN'S APRON DOLLY GIRL", 'Kids & Toys'],
    ['NATURAL SLATE HEART CHALKBOARD', 'Stationery & Craft'],
    ['PARTY BUNTING', 'Cards & Wrap'],
  ])('%s → %s', (name, category) => {
    expect(categoryOf(name)).toBe(category);
  });

  it('has 10-16 categories, ending with Other', () => {
    expect(CATEGORIES.length).toBeGreaterThanOrEqual(10);
    expect(CATEGORIES.length).toBeLessThanOrEqual(16);
    expect(CATEGORIES.at(-1)).toBe('Other');
    expect(new Set(CATEGORY_RULES.map((r) => r.category)).size).toBe(CATEGORY_RULES.length);
  });
});
