/**
 * `npm run demo:add-product -- --id 23552` (or `--id X --name "…" --category "…" --price 2.5`):
 * adds a product to the running demo shop through its localhost admin route
 * (demo/shop/adminRoutes.ts). An id of the data set that the shipped model does not know needs
 * nothing else. `--shop` gives the shop's address (default http://127.0.0.1:$PORT, PORT 8080).
 */
import { parseArgs } from 'node:util';

const usage = 'usage: npm run demo:add-product -- --id ID [--name NAME --category CATEGORY --price GBP] [--shop URL]';
let values: { id?: string; name?: string; category?: string; price?: string; shop?: string };
try {
  ({ values } = parseArgs({
    options: {
      id: { type: 'string' },
      name: { type: 'string' },
      category: { type: 'string' },
      price: { type: 'string' },
      shop: { type: 'string' },
    },
  }));
} catch (err) {
  console.error(`demo:add-product: ${(err as Error).message}\n${usage}`);
  process.exit(2);
}
if (!values.id) {
  console.error(`demo:add-product: --id is required\n${usage}`);
  process.exit(2);
}
const price = values.price === undefined ? undefined : Number(values.price);
if (price !== undefined && !Number.isFinite(price)) {
  console.error(`demo:add-product: --price must be a number, got ${values.price}`);
  process.exit(2);
}
const shop = (values.shop ?? `http://127.0.0.1:${process.env.PORT ?? 8080}`).replace(/\/$/, '');
const body = { id: values.id, name: values.name, category: values.category, price };
let res: Response;
try {
  res = await fetch(`${shop}/admin/products`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify(body),
  });
} catch (err) {
  console.error(`demo:add-product: cannot reach the demo shop at ${shop} (is \`npm run demo\` running?): ${(err as Error).message}`);
  process.exit(1);
}
const answer = (await res.json().catch(() => ({}))) as { message?: string; page?: string; product?: { name: string } };
if (res.status !== 201) {
  console.error(`demo:add-product: ${res.status} ${answer.message ?? res.statusText}`);
  process.exit(1);
}
console.log(
  `added ${answer.product!.name}: ${shop}${answer.page} (the model ranks it from its next version: after the next federated round)`,
);
