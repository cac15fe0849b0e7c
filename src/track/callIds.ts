/**
 * A source of `callId`s for one page: a random page id and the call's number on the page, e.g.
 * `k3f9x2ma.17`. Random per page, not per tab: a duplicated tab copies `sessionStorage`, so a
 * tab id kept there could repeat. Never leaves the device.
 */
export function callIdSource(): () => string {
  const page = Math.random().toString(36).slice(2, 10);
  let n = 0;
  return () => `${page}.${n++}`;
}
