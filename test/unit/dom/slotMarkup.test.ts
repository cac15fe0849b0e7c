import { describe, expect, it } from 'vitest';
import { applyOrder, sameChildren, slotChildren } from '../../../src/dom/slotMarkup';

/** Just enough of an element for slotMarkup: attributes, children, insertBefore (counted). */
class FakeElement {
  parent: FakeElement | null = null;
  kids: FakeElement[] = [];
  moves = 0;
  isConnected = true;
  constructor(private readonly _attrs: Record<string, string> = {}) {}
  get children(): FakeElement[] {
    return this.kids;
  }
  get nextSibling(): FakeElement | null {
    const k = this.parent?.kids ?? [];
    return k[k.indexOf(this) + 1] ?? null;
  }
  getAttribute(name: string): string | null {
    return this._attrs[name] ?? null;
  }
  setAttribute(name: string, value: string): void {
    this._attrs[name] = value;
  }
  hasAttribute(name: string): boolean {
    return name in this._attrs;
  }
  append(...els: FakeElement[]): this {
    for (const e of els) this.insertBefore(e, null);
    this.moves = 0;
    return this;
  }
  insertBefore(node: FakeElement, ref: FakeElement | null): void {
    if (node.parent) node.parent.kids.splice(node.parent.kids.indexOf(node), 1);
    const at = ref ? this.kids.indexOf(ref) : this.kids.length;
    this.kids.splice(at < 0 ? this.kids.length : at, 0, node);
    node.parent = this;
    this.moves++;
  }
}

const tile = (id: string) => new FakeElement({ 'data-personalize-item': id });
const slotOf = (...ids: string[]) => new FakeElement({ 'data-personalize-slot': '' }).append(...ids.map(tile));
const ids = (slot: FakeElement) => slot.kids.map((k) => k.getAttribute('data-personalize-item'));
const asElement = (e: FakeElement) => e as unknown as Element;

describe('applyOrder', () => {
  it('puts the children in order, moving only those out of place', () => {
    const slot = slotOf('a', 'b', 'c', 'd', 'e');
    const children = slotChildren(asElement(slot));
    expect(applyOrder(asElement(slot), children, [4, 0, 1, 2, 3])).toBe(true);
    expect(ids(slot)).toEqual(['e', 'a', 'b', 'c', 'd']);
    expect(slot.moves).toBe(1); // a-d keep their place
    const again = slotChildren(asElement(slot));
    expect(applyOrder(asElement(slot), again, [4, 3, 2, 1, 0])).toBe(true);
    expect(ids(slot)).toEqual(['d', 'c', 'b', 'a', 'e']);
  });

  it('does nothing when the order is the same', () => {
    const slot = slotOf('a', 'b');
    expect(applyOrder(asElement(slot), slotChildren(asElement(slot)), [0, 1])).toBe(false);
    expect(slot.moves).toBe(0);
  });

  it('never puts back or adds a node once the page changed the slot', () => {
    const cases: Array<[string, (slot: FakeElement) => void]> = [
      ['a child removed', (s) => s.kids.splice(1, 1)],
      ['a child added', (s) => s.append(tile('x'))],
      ["the page's own reorder", (s) => s.insertBefore(s.kids[2]!, s.kids[0]!)],
      ['all children replaced', (s) => (s.kids = [tile('x'), tile('y'), tile('z')])],
      ['an item id rewritten', (s) => s.kids[0]!.setAttribute('data-personalize-item', 'x')],
      ['a pin added', (s) => s.kids[0]!.setAttribute('data-personalize-pin', '')],
      ['the slot detached', (s) => (s.isConnected = false)],
    ];
    for (const [name, change] of cases) {
      const slot = slotOf('a', 'b', 'c');
      const children = slotChildren(asElement(slot));
      change(slot);
      const before = [...slot.kids];
      expect(sameChildren(asElement(slot), children), name).toBe(false);
      expect(applyOrder(asElement(slot), children, [2, 1, 0]), name).toBe(false);
      expect(slot.kids, name).toEqual(before);
    }
  });
});
