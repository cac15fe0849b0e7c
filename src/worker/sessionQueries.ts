import type { FetchedModel } from '../model/tfjs/buildModel';
import type { SessionState } from '../model/plain/sessionState';
import type { Explanation } from './protocol';

/** The model's `count` best items after `state` (vocabulary ids, best first); empty for an empty session. */
export function topPicksFor(model: FetchedModel, state: SessionState, count: number): Array<{ itemId: string; score: number }> {
  const scores = model.model.scoreState(state);
  if (!scores) return [];
  const n = Math.max(0, Math.min(count | 0, 100));
  const top: number[] = [];
  for (let i = 0; i < scores.length; i++) {
    if (top.length < n || scores[i]! > scores[top[top.length - 1]!]!) {
      top.push(i);
      top.sort((a, b) => scores[b]! - scores[a]!);
      if (top.length > n) top.pop();
    }
  }
  return top.map((i) => ({ itemId: model.vocab[i]!, score: scores[i]! }));
}

/**
 * Why `itemId` scores as it does after `state`: leave-one-out over the session's items (each
 * item's influence = the score minus the score of the session rebuilt without it; ≤ maxLen GRU
 * passes of ≤ maxLen steps). Faithful to the whole model, unlike attention weights, which the GRU
 * mixes before the read-out sees them. Null for an unknown item or an empty session.
 */
export function explainItem(model: FetchedModel, state: SessionState, itemId: string): Explanation | null {
  const target = model.index.get(itemId);
  const items = state.items;
  if (target === undefined || items.length === 0) return null;
  const candidates = Int32Array.of(target);
  const score = model.model.scoreState(state, candidates)![0]!;
  const influences = items.map((item, k) => {
    let without: SessionState = { items: [], hidden: [] };
    items.forEach((other, j) => {
      if (j !== k) without = model.model.advance(without, other);
    });
    const s = without.items.length > 0 ? model.model.scoreState(without, candidates)![0]! : 0;
    return { itemId: model.vocab[item]!, influence: score - s };
  });
  influences.sort((a, b) => b.influence - a.influence);
  return { itemId, score, influences };
}

/**
 * Stored sessions in the model's terms, for on-device training: each session's items as
 * vocabulary indices, items the model does not know left out and repeats in a row collapsed.
 */
export function itemSequences(index: ReadonlyMap<string, number>, sessions: ReadonlyArray<ReadonlyArray<{ itemId: string }>>): number[][] {
  return sessions.map((events) => {
    const items: number[] = [];
    for (const e of events) {
      const i = index.get(e.itemId);
      if (i !== undefined && items[items.length - 1] !== i) items.push(i);
    }
    return items;
  });
}
