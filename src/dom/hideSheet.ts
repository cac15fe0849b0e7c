/**
 * Anti-flicker: slots stay invisible (space kept, so nothing shifts) until the SDK marks them
 * shown, after ranking or at their deadline. The install snippet adds this rule before the page
 * renders; the SDK adds it itself when it was initialised without the snippet.
 *
 * A constructed stylesheet (`adoptedStyleSheets`) is used where possible: it is CSSOM, so a
 * strict `style-src` Content-Security-Policy does not block it as it would an inline `<style>`.
 */
export const SHOWN_ATTRIBUTE = 'data-personalize-shown';
export const HIDE_RULE = `[data-personalize-slot]:not([${SHOWN_ATTRIBUTE}]){visibility:hidden}`;

/** The installed rule: a constructed sheet or a `<style>` element. */
export type HideSheet = CSSStyleSheet | HTMLStyleElement;

/** Installs the hide rule. Returns null if neither route works (the slots then stay visible and are not reordered while on screen). */
export function installHideSheet(doc: Document = document): HideSheet | null {
  try {
    const sheet = new CSSStyleSheet();
    sheet.replaceSync(HIDE_RULE);
    doc.adoptedStyleSheets = [...doc.adoptedStyleSheets, sheet];
    return sheet;
  } catch {
    try {
      const style = doc.createElement('style');
      style.textContent = HIDE_RULE;
      (doc.head ?? doc.documentElement).appendChild(style);
      return style;
    } catch {
      return null;
    }
  }
}

/** Empties the hide rule: every slot is visible from now on. */
export function removeHideSheet(sheet: HideSheet | null): void {
  try {
    if (!sheet) return;
    if ('replaceSync' in sheet) sheet.replaceSync('');
    else sheet.remove();
  } catch {
    /* do nothing: the page is never broken by the SDK's clean-up */
  }
}

/** Whether the hide rule currently hides `slot` (false when the rule was blocked or removed). */
export function isHidden(slot: Element): boolean {
  try {
    return getComputedStyle(slot).visibility === 'hidden';
  } catch {
    return false;
  }
}
