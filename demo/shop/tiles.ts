import { slugify, type Catalogue, type Product } from './catalogue';
import { html, type SafeHtml } from './html';

const GBP = new Intl.NumberFormat('en-GB', { style: 'currency', currency: 'GBP' });

/** "£2.95". */
export function formatPrice(price: number): string {
  return GBP.format(price);
}

/** "Paper Chain Kit 50's Christmas" → "PC": the generated visual's label. */
export function initials(name: string): string {
  const words = name.split(/\s+/).filter((w) => /^[a-z]/i.test(w));
  return (
    words
      .slice(0, 2)
      .map((w) => w[0]!.toUpperCase())
      .join('') || '?'
  );
}

/** A stable small number from an id, to vary shades within a category. */
function hash(id: string): number {
  let h = 0;
  for (const ch of id) h = (h * 31 + ch.charCodeAt(0)) >>> 0;
  return h;
}

/**
 * The product's picture: a coloured block with its initials (the data set has no images, and the
 * demo loads nothing from other hosts). Each category has its own hue, so a personalized slot
 * shows at a glance which category the model favours.
 */
export function productArt(cat: Catalogue, product: Product, size: 'tile' | 'large' = 'tile'): SafeHtml {
  const index = cat.categories.findIndex((c) => c.name === product.category);
  const hue = Math.round((index * 360) / Math.max(1, cat.categories.length));
  const shade = hash(product.id) % 3;
  return html`<span class="art art-${size} shade-${shade}" style="--hue:${hue}" aria-hidden="true">${initials(product.name)}</span>`;
}

/**
 * "Why this item?" inside a tile: a button and its note, both absolutely positioned over the
 * tile's picture, so opening the note never resizes the tile. It has to sit inside the slot child
 * (the SDK moves children, and the button must move with its tile), so `/static/why.js` keeps its
 * clicks from being recorded as clicks on the product.
 */
function whyThis(product: Product): SafeHtml {
  return html`<div class="why" data-why="${product.id}">
    <button type="button" class="why-button" aria-expanded="false">Why this item?</button>
    <p class="why-note" role="status" hidden></p>
  </div>`;
}

/** One product tile: a slot child (`data-personalize-item`) that links to the product page. */
export function productTile(cat: Catalogue, product: Product, why = false): SafeHtml {
  return html`<li class="tile" data-personalize-item="${product.id}">
    <a href="/product/${encodeURIComponent(product.id)}">
      ${productArt(cat, product)}
      <span class="tile-name">${product.name}</span>
      <span class="tile-meta"><span>${product.category}</span><span class="price">${formatPrice(product.price)}</span></span>
    </a>
    ${why && whyThis(product)}
  </li>`;
}

/** Options of {@link productSlot}. */
export interface SlotOptions {
  /** Show only the first `visible` candidates (all by default). */
  visible?: number;
  /** Give every tile a "Why this item?" button (needs `/static/why.js` on the page). */
  why?: boolean;
}

/**
 * A slot: a grid of candidate tiles of which CSS shows only the first `visible`, so the model
 * in effect chooses which products appear, while the slot's size never changes.
 */
export function productSlot(cat: Catalogue, label: string, products: readonly Product[], options: SlotOptions = {}): SafeHtml {
  const shown = options.visible === undefined ? '' : ` show-${options.visible}`;
  return html`<ul class="grid${shown}" data-personalize-slot="${label}">
    ${products.map((p) => productTile(cat, p, options.why))}
  </ul>`;
}

/** The link to a product's category page. */
export function categoryLink(product: Product): SafeHtml {
  return html`<a href="/category/${slugify(product.category)}">${product.category}</a>`;
}
