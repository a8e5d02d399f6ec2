// What a site's widget settings mean for this visitor: the language spoken (the one the page asked
// for, else the browser's first that the site offers, else the site's first), and the text colour
// that reads on the site's colour.

/** The languages the widget's texts are written in. */
export const LANGUAGES = ['zh-CN', 'en'];

/**
 * @param {readonly string[]} offered the site's languages, most preferred first
 * @param {string | null | undefined} wanted `data-lang`, `Kefu('config', {lang})`
 * @returns {'zh-CN' | 'en'}
 */
export function pickLanguage(offered, wanted) {
  const known = offered.filter((l) => LANGUAGES.includes(l));
  const tried = [wanted || '', ...(navigator.languages || [navigator.language || ''])];
  for (const tag of tried) {
    const lang = /^zh/i.test(tag) ? 'zh-CN' : /^en/i.test(tag) ? 'en' : '';
    if (lang && known.includes(lang)) return lang;
  }
  return /** @type {'zh-CN' | 'en'} */ (known[0] || 'en');
}

/**
 * Black or white, whichever reads better on `color` (`#rrggbb`): a site may pick a pale colour.
 * @param {string} color
 */
export function textOn(color) {
  const n = parseInt(color.slice(1), 16);
  // Relative luminance as WCAG defines it, with the sRGB curve taken as a 2.2 power (close enough
  // to choose between black and white).
  const luminance = [16, 8, 0].reduce((sum, shift, i) => sum + [0.2126, 0.7152, 0.0722][i] * (((n >> shift) & 255) / 255) ** 2.2, 0);
  // Contrast with white is 1.05 / (L + 0.05), with black (L + 0.05) / 0.05: pick the larger.
  return 1.05 / (luminance + 0.05) >= (luminance + 0.05) / 0.05 ? '#fff' : '#111';
}
