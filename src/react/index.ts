/** `edge-personalize/react`: the React binding (React ≥ 18, an optional peer dependency). */
export { useRankedItems } from './useRankedItems';
export type { RankedItems, UseRankedItemsOptions } from './useRankedItems';
