/**
 * The shop's products: the demo model's catalogue (`models/online-retail/data/catalogue.json`,
 * derived from the UCI Online Retail data set), cut to the items in the model's vocabulary,
 * because only those can be personalized: the SDK leaves unknown items where the page put them.
 * Products added while the shop runs ({@link addProduct}, `POST /admin/products`) join it: the
 * aggregation server appends them to the vocabulary at its next version, and pages rank them once
 * they run that version.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/** One product as the shop shows it. */
export interface Product {
  id: string;
  /** Title-cased product name from the data set: escape it wherever it is rendered. */
  name: string;
  category: string;
  /** Price in GBP. */
  price: number;
  /** How many baskets held it in the data set: the shop's default ("bestsellers") order. */
  popularity: number;
}

/** A derived category and its products, most popular first. */
export interface Category {
  name: string;
  slug: string;
  products: Product[];
}

/** Everything the pages need, read once at start-up. */
export interface Catalogue {
  byId: Map<string, Product>;
  /** Categories, the one with the most total popularity first. */
  categories: Category[];
  bySlug: Map<string, Category>;
  /** The data set's credit line (first line of CREDIT.txt), shown in every page's footer. */
  credit: string;
  /**
   * Products of the data set that the shipped model does not know (not in vocab.txt): the shop
   * does not list them, but `POST /admin/products` can add one by id alone.
   */
  unlisted: Map<string, Product>;
  /** Grows by one with every added product (the catalogue endpoint rebuilds on a change). */
  revision: number;
}

/** "Candles & Lights" → "candles-lights". */
export function slugify(name: string): string {
  return name
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-|-$/g, '');
}

/** Reads the catalogue, vocabulary and credit line of the model directory `dir`. */
export function loadCatalogue(dir: string): Catalogue {
  const vocab = new Set(
    readFileSync(join(dir, 'vocab.txt'), 'utf8')
      .split('\n')
      .map((l) => l.trim())
      .filter(Boolean),
  );
  const all = JSON.parse(readFileSync(join(dir, 'data', 'catalogue.json'), 'utf8')) as Product[];
  const products = all.filter((p) => vocab.has(p.id)).sort((a, b) => b.popularity - a.popularity);
  const unlisted = new Map(all.filter((p) => !vocab.has(p.id)).map((p) => [p.id, p]));
  const groups = new Map<string, Product[]>();
  for (const p of products) groups.set(p.category, [...(groups.get(p.category) ?? []), p]);
  const total = (list: Product[]): number => list.reduce((sum, p) => sum + p.popularity, 0);
  const categories = [...groups]
    .map(([name, list]) => ({ name, slug: slugify(name), products: list }))
    .sort((a, b) => total(b.products) - total(a.products));
  const credit = readFileSync(join(dir, 'data', 'CREDIT.txt'), 'utf8')
    .split('\n')[0]!
    .trim();
  return {
    byId: new Map(products.map((p) => [p.id, p])),
    categories,
    bySlug: new Map(categories.map((c) => [c.slug, c])),
    credit,
    unlisted,
    revision: 0,
  };
}

/**
 * Adds a new product to the shop (the caller checked that its id is new). It goes first in its
 * category (a new category goes last), so the category page lists it at once: a product with no
 * sales yet would otherwise sit below the page's cut of bestsellers.
 */
export function addProduct(cat: Catalogue, product: Product): void {
  cat.byId.set(product.id, product);
  cat.unlisted.delete(product.id);
  const slug = slugify(product.category);
  const category = cat.bySlug.get(slug);
  if (category) category.products.unshift(product);
  else {
    const created = { name: product.category, slug, products: [product] };
    cat.categories.push(created);
    cat.bySlug.set(slug, created);
  }
  cat.revision++;
}

/**
 * Round-robin over categories (each list most popular first), so that any prefix of the result
 * is spread over categories: the page's own order favours no category and whatever the model
 * moves to the top is visibly its choice.
 */
export function interleave(lists: readonly Product[][], count: number): Product[] {
  const out: Product[] = [];
  for (let round = 0; out.length < count; round++) {
    const before = out.length;
    for (const list of lists) if (list[round] && out.length < count) out.push(list[round]!);
    if (out.length === before) break;
  }
  return out;
}

/** The home page's "Recommended for you" candidates: the top few of every category, interleaved. */
export function recommendedCandidates(cat: Catalogue, count = 48): Product[] {
  return interleave(
    cat.categories.map((c) => c.products),
    count,
  );
}

/** A product page's "You may also like" candidates: its category first, then popular others. */
export function alsoLikeCandidates(cat: Catalogue, product: Product, count = 16): Product[] {
  const same = cat.bySlug
    .get(slugify(product.category))!
    .products.filter((p) => p.id !== product.id)
    .slice(0, count / 2);
  const others = interleave(
    cat.categories.filter((c) => c.name !== product.category).map((c) => c.products),
    count - same.length,
  );
  return interleave([same, others], count);
}
