/** One rule of the keyword classifier: a category and the words that put a product in it. */
export interface CategoryRule {
  category: string;
  /** Regular-expression fragments matched as whole words against the upper-cased name. */
  keywords: string[];
}

/**
 * The demo shop's categories, derived from product-name keywords (the data has no categories).
 * Order matters, first match wins: seasonal and specific groups come before broad ones, so
 * `JUMBO BAG 50'S CHRISTMAS` is Christmas, `WHITE HANGING HEART T-LIGHT HOLDER` is Candles &
 * Lights, and Hearts & Love, Vintage & Retro and Home Decor collect what no specific word claimed.
 * The lists were tuned by reading samples of every category of the 3,788 goods; about 7% of the
 * products fall through to Other.
 */
export const CATEGORY_RULES: readonly CategoryRule[] = [
  {
    category: 'Christmas',
    keywords: ['CHRISTMAS', 'XMAS', 'SANTA', 'REINDEER', 'SNOWFLAKES?', 'SNOWMAN', 'ADVENT', 'BAUBLES?', 'NATIVITY',
      'CRACKERS?', 'ANGEL', 'TREE DECORATION', 'ELF', 'ROBIN', 'WREATH', 'ICICLE', 'STOCKING', 'MISTLETOE', 'SLEIGH', 'TINSEL'],
  },
  {
    category: 'Jewellery',
    keywords: ['NECKLACE', 'NECKLAC', 'NECKL', 'EARRINGS?', 'BRACELET', '(?<!NAPKIN )RINGS?', 'BANGLE', 'BROOCH', 'PENDANT',
      'CHARMS?', 'HAIR ?(?:CLIP|SLIDE|BAND|COMB|GRIP|TIE|BOBBLE)S?', 'HAIRCLIP', 'DIAMANTE', 'BEADS?', 'JEWEL', 'JEWELLERY',
      'TIARAS?', 'ALICE BAND', 'KEY ?RINGS?', 'KEYRINGS?'],
  },
  {
    category: 'Lunch & Picnic',
    keywords: ['LUNCH', 'PICNIC', 'SNACK BOX(?:ES)?', 'SANDWICH', 'FLASK', '(?<!HOT )WATER BOTTLE', 'TIFFIN', 'FOOD CONTAINER',
      'BREAKFAST', 'DRINKING', 'STRAWS'],
  },
  {
    category: 'Bags',
    keywords: ['BAGS?', 'PURSE', 'HANDBAG', 'SHOPPER', 'TOTE', 'WALLET', 'SATCHEL', 'BACKPACK', 'RUCKSACK', 'HOLDALL',
      'WASHBAG', 'COSMETIC'],
  },
  {
    category: 'Baking',
    keywords: ['CAKES?', 'CAKESTAND', 'BAKING', 'BAKE', 'CUTTERS?', 'CUPCAKES?', 'MUFFIN', 'BISCUITS?', 'ICING', 'PIE',
      'MOULDS?', 'DOILY', 'DOILIES', 'OVEN', 'MIXING BOWL', 'MEASURING', 'SCONE'],
  },
  {
    category: 'Mugs & Cups',
    keywords: ['MUGS?', 'CUPS?', 'TEACUPS?', 'SAUCERS?', 'BEAKERS?', 'TUMBLERS?', 'TEAPOT', 'TEA SET', 'GLASSES'],
  },
  {
    category: 'Candles & Lights',
    keywords: ['CANDLES?', 'CANDLEHOLDERS?', 'CANDLESTICKS?', 'CANDLE ?STICK', 'T-LIGHTS?', 'TEA ?LIGHTS?', 'TEALIGHTS?',
      'LANTERNS?', 'LIGHTS?', 'LAMPS?', 'INCENSE', 'NIGHT ?LIGHT', 'CHANDELIER', 'OIL BURNER', 'LAMPSHADE'],
  },
  {
    category: 'Cards & Wrap',
    keywords: ['CARDS?', 'WRAP', 'GIFT TAGS?', 'TAGS', 'TISSUES?', 'RIBBONS?', 'GIFT BOX', 'ENVELOPES?', 'WRAPPING',
      'CONFETTI', 'BUNTING', 'PARTY', 'BALLOONS?', 'GARLAND', 'NAPKINS', 'PAPER CHAIN', 'STRAWS', 'INVITES'],
  },
  {
    category: 'Stationery & Craft',
    keywords: ['NOTEBOOKS?', 'NOTE ?BOOKS?', 'PENCILS?', 'PENS?', 'ERASERS?', 'RUBBERS?', 'STICKERS?', 'CALENDAR', 'MEMO',
      'MEMOBOARD', 'JOURNAL', 'DIARY', 'NOTEPAD', 'NOTE ?PAD', 'RULER', 'SHARPENER', 'CRAYONS?', 'CHALK', 'SCISSORS?',
      'STATIONERY', 'BOOK ?MARK', 'ADDRESS BOOK', 'ALBUM', 'PAPER CLIPS?', 'CLIPS', 'STAMPS?', 'SKETCHBOOK', 'DRAWING',
      'PAINTING', 'BOOK ?COVER', 'LETTER RACK', 'MAGNETS?', 'MAGNETIC', 'BLACKBOARD', 'CHALKBOARD',
      'CRAFT', 'SEWING', 'KNITTING', 'STENCIL', 'SCRAP ?BOOK', 'TAPES?', 'BADGES'],
  },
  {
    category: 'Kids & Toys',
    keywords: ['TOYS?', 'CHILDRENS', "CHILDREN'S", 'CHILDS', 'CHILD', 'KIDS', 'KID', 'DOLLS?', 'DOLLY', 'GAMES?', 'JIGSAW',
      'PUZZLE', 'TEDDY', 'SKITTLES', 'PLAYHOUSE', 'SPACEBOY', 'DINOSAURS?', 'SOLDIERS?', 'BABY', 'NURSERY', 'MARBLES',
      'SKIPPING', 'SPINNING TOPS?', 'YO-YO', 'RATTLE', 'BUBBLES', 'KNITTING NANCY', 'PLAYING', 'HARMONICA', 'MAGIC',
      'DOMINOES', 'SNAKES', 'LADDERS', 'RABBIT', 'BUNNY', 'FELTCRAFT', 'PUPPET', 'BALL', 'KITE', 'CIRCUS', 'SPACE',
      'HELICOPTER', 'FARM ANIMAL', 'GLIDERS?'],
  },
  {
    category: 'Kitchen',
    keywords: ['KITCHEN', 'TEA TOWELS?', 'APRON', 'OVEN GLOVE', 'BOWLS?', 'PLATES?', 'PLATTER', 'JARS?', 'TRAY', 'CUTLERY',
      'SPOONS?', 'TEASPOONS?', 'FORKS?', 'KNIFE', 'NAPKIN', 'PANTRY', 'COASTERS?', 'DISH', 'JUG', 'TINS?', 'STORAGE', 'LARDER',
      'CHOPPING', 'BOARD', 'COLANDER', 'SCALES', 'EGG CUP', 'EGG', 'BREAD', 'BUTTER', 'TOAST', 'TOASTRACK', 'JAM', 'SUGAR',
      'SALT', 'PEPPER', 'CRUET', 'COOK', 'COOKING', 'PLACEMATS?', 'TABLE ?CLOTH', 'RECIPE', 'HONEY', 'MILK', 'PAN',
      'CONTAINER', 'TIFFIN', 'FOOD', 'CADDY', 'SQUEEZER', 'WASHING UP'],
  },
  {
    category: 'Garden',
    keywords: ['GARDEN', 'GARDENERS', 'BIRDS?', 'PLANT', 'PLANTER', 'WATERING', 'GNOME', 'TROWEL', 'FLOWER POT', 'HERB',
      'SEEDS?', 'PLANTERS?', 'HEN HOUSE', 'CHICKEN', 'BIRDHOUSE', 'FEEDER', 'WIND CHIME', 'WINDMILL', 'PARASOL', 'UMBRELLA', 'DOORMAT',
      'OUTDOOR', 'BUTTERFLY', 'HANGING BASKET', 'POTTING', 'GREENHOUSE', 'SUNFLOWER', 'RAIN'],
  },
  { category: 'Hearts & Love', keywords: ['HEARTS?', 'LOVE', 'SWEETHEART', 'VALENTINE', 'KISS', 'CUPID'] },
  {
    category: 'Vintage & Retro',
    keywords: ['VINTAGE', 'RETRO', 'ANTIQUE', "50'S", "70'S", 'RETROSPOT', 'BAROQUE', 'VICTORIAN', 'REGENCY', 'EDWARDIAN',
      'FRENCH', 'OLD'],
  },
  {
    category: 'Home Decor',
    keywords: ['CUSHION', 'C/COVER', 'FRAME', 'MIRROR', 'CLOCK', 'SIGN', 'DOORSIGN', 'HOOKS?', 'DOORSTOP', 'DOOR STOP', 'VASE', 'WALL',
      'DECORATION', 'ORNAMENT', 'DRAWER', 'CABINET', 'BOX', 'BOXES', 'BASKET', 'HANGER', 'THROW', 'BLANKET', 'QUILT',
      'CURTAIN', 'RUG', 'SHELF', 'PLAQUE', 'DOOR', 'KNOB', 'TILE', 'CHEST', 'STAND', 'HOLDER', 'STOOL', 'CHAIR', 'TABLE',
      'BATHROOM', 'TOWEL', 'SOAP', 'HOT WATER BOTTLE', 'PICTURE', 'PHOTO', 'CANVAS', 'FLOWERS?', 'ROSE', 'HOME', 'BELLS?',
      'CRATES?', 'TRINKET', 'MOBILE', 'DECORATIVE', 'HANGING', 'FEATHER', 'WICKER', 'ZINC', 'METAL', 'CERAMIC', 'GLASS',
      'WOODEN', 'WOOD', 'SCENTED', 'DIFFUSER', 'POT', 'BIN', 'MAT', 'POUFFE', 'FAN', 'PAPERWEIGHT', "P'WEIGHT"],
  },
];

/** The category of products no rule claims. */
export const OTHER_CATEGORY = 'Other';

/** Every category, in rule order, then {@link OTHER_CATEGORY}. */
export const CATEGORIES: readonly string[] = [...CATEGORY_RULES.map((r) => r.category), OTHER_CATEGORY];

// Whole words: no letter directly before or after, so `RING` does not match `EARRINGS` or
// `STRING`, while `T-LIGHT` and `50'S` still match inside punctuation.
const COMPILED = CATEGORY_RULES.map((r) => ({
  category: r.category,
  pattern: new RegExp(`(?<![A-Z])(?:${r.keywords.join('|')})(?![A-Z])`),
}));

/**
 * The derived category of a product name (raw or display form; matching is case-insensitive
 * and ignores runs of spaces): the first rule in {@link CATEGORY_RULES} with a keyword in the
 * name, else {@link OTHER_CATEGORY}. `REGENCY CAKESTAND 3 TIER` → Baking.
 */
export function categoryOf(name: string): string {
  const upper = name.toUpperCase().replace(/\s+/g, ' ');
  for (const r of COMPILED) if (r.pattern.test(upper)) return r.category;
  return OTHER_CATEGORY;
}
