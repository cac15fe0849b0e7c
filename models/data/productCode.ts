/**
 * What counts as a product in the UCI Online Retail data: five digits and up to three letters
 * (`85123A`). Other stock codes are postage (`POST`), fees, discounts and manual lines.
 */
export const PRODUCT_CODE = /^[0-9]{5}[A-Za-z]{0,3}$/;

/**
 * Codes that match {@link PRODUCT_CODE} but are not goods a shop would recommend: 23444 next-day
 * carriage, 23702 a high-resolution image fee, 22016 a gift voucher.
 */
export const NON_GOODS_CODES: ReadonlySet<string> = new Set(['23444', '23702', '22016']);

/**
 * The canonical (upper-cased) product code, or null when `raw` is not a product code. The data
 * spells 112 codes in both cases (`85099b` and `85099B`) for the same product.
 */
export function productCode(raw: string): string | null {
  const code = raw.trim();
  return PRODUCT_CODE.test(code) ? code.toUpperCase() : null;
}
