/** The SDK's IndexedDB database (one per origin). Alone in this file so the page's loader can name it without bundling `idb`. */
export const HISTORY_DB_NAME = 'edge-personalize';
