/**
 * The attribution the CC BY 4.0 licence of UCI Online Retail asks for; it is written to
 * `CREDIT.txt` beside every file derived from the data set.
 */
export const ONLINE_RETAIL_CREDIT =
  'Chen, D. (2015). Online Retail [Dataset]. UCI Machine Learning Repository. https://doi.org/10.24432/C5BW33 — licensed CC BY 4.0; product categories are derived from name keywords by edge-personalize';
