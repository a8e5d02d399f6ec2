// Small DOM helpers. Everything a visitor, an agent or a page can influence is set as text, never
// as HTML.

/**
 * @template {keyof HTMLElementTagNameMap} K
 * @param {K} tag @param {string} [className] @param {string} [text]
 * @returns {HTMLElementTagNameMap[K]}
 */
export function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

/** @param {string} text @param {string} [className] */
export function button(text, className) {
  const b = el('button', className, text);
  b.type = 'button';
  return b;
}

/**
 * A field with its name written above it.
 * @param {string} text @param {HTMLInputElement | HTMLTextAreaElement | HTMLSelectElement} input
 */
export function labelled(text, input) {
  const label = el('label', 'field');
  label.append(el('span', '', text), input);
  return label;
}

/**
 * A section of the page with a header naming it (the header is where its controls go too).
 * @param {string} name its class, and its title's id with `-title` @param {string} title
 */
export function titled(name, title) {
  const section = el('section', name);
  section.setAttribute('aria-labelledby', name + '-title');
  const head = el('header');
  const h2 = el('h2', '', title);
  h2.id = name + '-title';
  head.append(h2);
  section.append(head);
  return { section, head };
}

/** How long ago, as "3 min" or "1 h 5 min". @param {number} since ms since the epoch @param {(key: any, values?: any) => string} t */
export function duration(since, t) {
  const minutes = Math.floor((Date.now() - since) / 60_000);
  if (minutes < 1) return t('justNow');
  if (minutes < 60) return t('minutes', { n: minutes });
  return t('hours', { n: Math.floor(minutes / 60), m: minutes % 60 });
}

/** A clock time in the page's language. @param {number} at @param {string} lang */
export function clock(at, lang) {
  return new Date(at).toLocaleTimeString(lang, { hour: '2-digit', minute: '2-digit' });
}

/** A short description of a browser from its user agent: "Chrome on Windows". @param {string} ua */
export function browserOf(ua) {
  const browser = /Edg\//.test(ua)
    ? 'Edge'
    : /Firefox\//.test(ua)
      ? 'Firefox'
      : /Chrome\//.test(ua)
        ? 'Chrome'
        : /Safari\//.test(ua)
          ? 'Safari'
          : '';
  const system = /iPhone|iPad/.test(ua)
    ? 'iOS'
    : /Android/.test(ua)
      ? 'Android'
      : /Windows/.test(ua)
        ? 'Windows'
        : /Mac OS X/.test(ua)
          ? 'macOS'
          : /Linux/.test(ua)
            ? 'Linux'
            : '';
  return [browser, system].filter(Boolean).join(' · ') || ua.slice(0, 40);
}
