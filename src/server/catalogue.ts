import { createHash } from 'node:crypto';

/**
 * New products without a central retrain. The shop adds items to the catalogue while the server
 * runs (`POST /v1/admin/catalogue`, `RoundManager.addItems`); they wait in `state.json` and are
 * published with the next version: appended to the vocabulary (an existing item's index never
 * changes, so what devices stored stays valid) with a row the server can make without any event,
 * and scheduled first for training (RowSchedule.addRows).
 *
 * The start row: the mean direction of the rows of the item's category when the category is
 * given and the server knows items in it (`itemCategories`, or items added earlier), else a
 * neutral start, a random direction (seeded by the id, so a restart makes the same row); either at
 * the median norm of the table's rows. The model scores by cosine, so the direction is what counts.
 */

/** One product as the admin route takes it. */
export interface CatalogueItem {
  id: string;
  name?: string;
  category?: string;
}

/** What `state.json` keeps of the catalogue. */
export interface CatalogueState {
  /** Added since the current version was published, in order: appended at the next publish. */
  pending: CatalogueItem[];
  /** Categories of the items added so far (those of the base model come with the options). */
  categories: Record<string, string>;
}

/** Named error for a refused catalogue request (`reason` is machine-readable; the route answers 400 or 409). */
export class CatalogueError extends Error {
  override name = 'CatalogueError';
  constructor(
    readonly status: 400 | 409,
    readonly reason: 'bad_request' | 'bad_item' | 'duplicate_item',
    message: string,
  ) {
    super(message);
  }
}

/** Most items one request may add. */
export const MAX_ITEMS_PER_REQUEST = 1000;

/** An id is one line of vocab.txt: printable, no white space, at most 128 characters. */
const ID_PATTERN = /^[\x21-\x7e\u00a0-\uffff]{1,128}$/;

/**
 * Checks a request body (`{ items: [{ id, name?, category? }] }`) against the vocabulary and the
 * items already waiting: the items, or a {@link CatalogueError} naming the first problem. Nothing
 * is changed: the caller stores all the items or none.
 */
export function checkNewItems(body: unknown, known: (id: string) => boolean): CatalogueItem[] {
  const bad = (message: string): never => {
    throw new CatalogueError(400, 'bad_item', message);
  };
  if (!body || typeof body !== 'object' || Array.isArray(body) || !Array.isArray((body as { items?: unknown }).items))
    throw new CatalogueError(400, 'bad_request', 'the body must be JSON {"items": [{"id": "…", "name": "…", "category": "…"}]}');
  const extra = Object.keys(body).filter((k) => k !== 'items');
  if (extra.length > 0) throw new CatalogueError(400, 'bad_request', `unknown field ${extra[0]}: the body holds only "items"`);
  const list = (body as { items: unknown[] }).items;
  if (list.length === 0 || list.length > MAX_ITEMS_PER_REQUEST)
    throw new CatalogueError(400, 'bad_request', `"items" must hold 1 to ${MAX_ITEMS_PER_REQUEST} items, not ${list.length}`);
  const seen = new Set<string>();
  return list.map((raw, i) => {
    if (!raw || typeof raw !== 'object' || Array.isArray(raw)) bad(`items[${i}] must be an object {"id": "…"}`);
    const o = raw as Record<string, unknown>;
    const unknown = Object.keys(o).filter((k) => k !== 'id' && k !== 'name' && k !== 'category');
    if (unknown.length > 0) bad(`items[${i}] has the unknown field ${unknown[0]} (an item has id, name, category)`);
    if (typeof o.id !== 'string' || !ID_PATTERN.test(o.id))
      bad(`items[${i}].id must be 1-128 printable characters without white space, got ${JSON.stringify(o.id)}`);
    const id = o.id as string;
    for (const k of ['name', 'category'] as const)
      if (o[k] !== undefined && (typeof o[k] !== 'string' || (o[k] as string).length === 0 || (o[k] as string).length > 200))
        bad(`items[${i}].${k} must be a string of 1-200 characters`);
    if (seen.has(id)) throw new CatalogueError(400, 'duplicate_item', `item ${JSON.stringify(id)} is listed twice in this request`);
    if (known(id))
      throw new CatalogueError(
        409,
        'duplicate_item',
        `item ${JSON.stringify(id)} is already in the catalogue (or waiting to be published): nothing was added`,
      );
    seen.add(id);
    return {
      id,
      ...(o.name !== undefined ? { name: o.name as string } : {}),
      ...(o.category !== undefined ? { category: o.category as string } : {}),
    };
  });
}

/**
 * The item table with a row for each of `added` appended (see the module comment for the start
 * rows). `categoryOf` gives the category of an item already in `vocab`.
 */
export function appendItems(
  items: Float32Array,
  vocab: readonly string[],
  dim: number,
  added: readonly CatalogueItem[],
  categoryOf: (id: string) => string | undefined,
): { items: Float32Array; vocab: string[]; starts: Array<'category' | 'neutral'> } {
  const n = vocab.length;
  const norms = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let k = 0; k < dim; k++) s += items[i * dim + k]! ** 2;
    norms[i] = Math.sqrt(s);
  }
  const median = n > 0 ? Float64Array.from(norms).sort()[Math.floor(n / 2)]! : 1;
  const byCategory = new Map<string, number[]>();
  vocab.forEach((id, i) => {
    const c = categoryOf(id);
    if (c !== undefined) byCategory.set(c, [...(byCategory.get(c) ?? []), i]);
  });
  const out = new Float32Array((n + added.length) * dim);
  out.set(items.subarray(0, n * dim));
  const starts: Array<'category' | 'neutral'> = [];
  added.forEach((item, k) => {
    const row = out.subarray((n + k) * dim, (n + k + 1) * dim);
    const peers = item.category !== undefined ? byCategory.get(item.category) : undefined;
    if (peers && peers.length > 0) {
      // The mean of the peers' unit rows: their common direction.
      for (const p of peers) for (let j = 0; j < dim; j++) row[j]! += items[p * dim + j]! / (norms[p]! || 1);
      starts.push('category');
    } else {
      const rand = seeded(item.id);
      for (let j = 0; j < dim; j += 2) {
        // Box–Muller: a random direction, uniform on the sphere.
        const r = Math.sqrt(-2 * Math.log(1 - rand()));
        const a = 2 * Math.PI * rand();
        row[j] = r * Math.cos(a);
        if (j + 1 < dim) row[j + 1] = r * Math.sin(a);
      }
      starts.push('neutral');
    }
    let s = 0;
    for (let j = 0; j < dim; j++) s += row[j]! ** 2;
    const f = s > 0 ? median / Math.sqrt(s) : 0;
    for (let j = 0; j < dim; j++) row[j] = row[j]! * f;
  });
  return { items: out, vocab: [...vocab, ...added.map((i) => i.id)], starts };
}

/** A uniform [0, 1) source seeded by a string (SHA-256 in counter mode): the same id, the same row. */
function seeded(key: string): () => number {
  let counter = 0;
  let block = Buffer.alloc(0);
  let at = 0;
  return () => {
    if (at + 4 > block.length) {
      block = createHash('sha256').update(`edge-personalize/new-item/${key}/${counter++}`).digest();
      at = 0;
    }
    const v = block.readUInt32LE(at) / 2 ** 32;
    at += 4;
    return v;
  };
}
