/**
 * A tiny HTML template helper: every interpolated value is escaped unless it is already
 * {@link SafeHtml} (another template's output, or {@link raw} for text we wrote ourselves).
 * Product names come from a real data set ("Record Frame 7\" Single Size", "Snakes & Ladders"),
 * so escaping is the default and opting out is explicit.
 */

/** HTML that is safe to insert as is. */
export class SafeHtml {
  constructor(readonly value: string) {}
  toString(): string {
    return this.value;
  }
}

const ENTITIES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** Escapes text for element content and quoted attribute values. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ENTITIES[c]!);
}

/** Marks trusted markup (our own constants, never data) as safe. */
export function raw(markup: string): SafeHtml {
  return new SafeHtml(markup);
}

/** A value a template accepts: arrays are joined, null/undefined/false render nothing. */
export type HtmlValue = SafeHtml | string | number | boolean | null | undefined | readonly HtmlValue[];

function render(value: HtmlValue): string {
  if (value === null || value === undefined || value === false) return '';
  if (value instanceof SafeHtml) return value.value;
  if (Array.isArray(value)) return value.map(render).join('');
  return escapeHtml(String(value));
}

/** Tagged template: `` html`<h1>${product.name}</h1>` `` escapes the name. */
export function html(strings: TemplateStringsArray, ...values: HtmlValue[]): SafeHtml {
  let out = strings[0]!;
  values.forEach((v, i) => {
    out += render(v) + strings[i + 1]!;
  });
  return new SafeHtml(out);
}
