/** Words kept upper-case: acronyms that read wrongly in title case. */
const ACRONYMS = new Set(['LED', 'USB', 'TV', 'CD', 'DVD', 'UK', 'USA', 'ABC', 'DIY', 'UFO', 'PVC', 'M.O.P', 'D.O.F', 'D.O.F.']);

/** Short words written lower-case inside a name ("Set of 4", "Bag with Handles"). */
const MINOR = new Set(['of', 'and', 'in', 'with', 'on', 'the', 'for', 'to', 'or', 'at', 'by', 'from']);

/**
 * Abbreviations spelled out because they read badly on a shop page: `W` is "with" in every one
 * of the 49 names that use it (`EARRINGS W LONG BEADS`), `ASS`/`ASSTD` are "assorted".
 */
const SPELLED_OUT: Record<string, string> = { W: 'with', ASS: 'Assorted', ASSTD: 'Assorted' };

/**
 * Title-cases one word. Letters are capitalized at the start of the word and after a hyphen,
 * slash, plus, dot, quote or bracket, so `T-LIGHT` → `T-Light`, `S/4` → `S/4`, `C/COVER` →
 * `C/Cover`; after an apostrophe they stay lower (`POPPY'S` → `Poppy's`, `50'S` → `50's`);
 * letters right after a digit are units and stay lower (`60CM` → `60cm`, `125G` → `125g`),
 * except `3D`.
 */
function titleWord(word: string): string {
  const upper = word.toUpperCase();
  if (ACRONYMS.has(upper.replace(/^[("*]+|[)",.!]+$/g, ''))) return upper;
  let out = '';
  for (let i = 0; i < word.length; i++) {
    const c = word[i]!;
    const prev = i > 0 ? word[i - 1]! : '';
    if (!/[A-Za-z]/.test(c)) {
      out += c;
    } else if (/\d/.test(prev)) {
      out += /^\d+D$/i.test(word) ? c.toUpperCase() : c.toLowerCase();
    } else if (prev === '' || /[-/+.,"(&]/.test(prev)) {
      out += c.toUpperCase();
    } else {
      out += c.toLowerCase();
    }
  }
  return out;
}

/**
 * A readable shop name from an Online Retail description, which is ALL CAPS with stray spaces:
 * trims, folds runs of spaces, puts a space after a comma (`TEA,COFFEE,SUGAR` → `Tea, Coffee,
 * Sugar`), separates a glued count (`SET OF4` → `Set of 4`), drops a leading `*` and a trailing full stop, and title-cases each word (see
 * `titleWord` above) with short connecting words in lower case except first; `W` becomes
 * "with" and `ASS`/`ASSTD` "Assorted".
 * `SET OF 4 KNICK KNACK TINS  ` → `Set of 4 Knick Knack Tins`.
 */
export function displayName(raw: string): string {
  const cleaned = raw
    .replace(/\s*,\s*/g, ', ')
    .replace(/\b(OF|SET)(\d)/gi, '$1 $2')
    .replace(/\s+/g, ' ')
    .trim()
    .replace(/^[*\s]+/, '')
    .replace(/,$/, '')
    .replace(/(?<![A-Z]\.[A-Z])\.$/i, '')
    .trim();
  return cleaned
    .split(' ')
    .map((w) => SPELLED_OUT[w.toUpperCase()] ?? w)
    .map((w, i) => (i > 0 && MINOR.has(w.toLowerCase()) ? w.toLowerCase() : titleWord(w)))
    .join(' ');
}
