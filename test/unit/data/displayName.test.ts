import { describe, expect, it } from 'vitest';
import { displayName } from '../../../models/data/displayName';

describe('displayName', () => {
  it.each([
    ['WHITE HANGING HEART T-LIGHT HOLDER', 'White Hanging Heart T-Light Holder'],
    ['S/4 IVORY MINI ROSE CANDLE IN BOWL', 'S/4 Ivory Mini Rose Candle in Bowl'],
    ["PINK B'FLY C/COVER W BOBBLES", "Pink B'fly C/Cover with Bobbles"],
    ["PAPER CHAIN KIT 50'S CHRISTMAS ", "Paper Chain Kit 50's Christmas"],
    ['HAND OVER THE CHOCOLATE   SIGN', 'Hand Over the Chocolate Sign'],
    ['LUNCH BAG  BLACK SKULL.', 'Lunch Bag Black Skull'],
    ['SET 3 RETROSPOT TEA,COFFEE,SUGAR', 'Set 3 Retrospot Tea, Coffee, Sugar'],
    ['KEY FOB , SHED', 'Key Fob, Shed'],
    ['RECORD FRAME 7" SINGLE SIZE', 'Record Frame 7" Single Size'],
    ['ROUND SNACK BOXES SET OF4 WOODLAND', 'Round Snack Boxes Set of 4 Woodland'],
    ['RED TOADSTOOL LED NIGHT LIGHT', 'Red Toadstool LED Night Light'],
    ['POLYESTER FILLER PAD 40x40cm', 'Polyester Filler Pad 40x40cm'],
    ['BAG 125g SWIRLY MARBLES', 'Bag 125g Swirly Marbles'],
    ['3D SHEET OF DOG STICKERS', '3D Sheet of Dog Stickers'],
    ['ASS COL LARGE SAND FROG', 'Assorted Col Large Sand Frog'],
    ['FLOWERS HANDBAG blue and orange', 'Flowers Handbag Blue and Orange'],
    ['*USB Office Mirror Ball', 'USB Office Mirror Ball'],
  ])('%s → %s', (raw, shown) => {
    expect(displayName(raw)).toBe(shown);
  });
});
