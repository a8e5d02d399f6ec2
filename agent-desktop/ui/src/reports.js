// Reports for owners and admins: conversations per day, how fast they were answered and closed,
// and how visitors rated them, per agent and per site, for the days chosen (in the agent's own
// time zone). The server computes the figures; this draws them.

import { el, labelled, titled } from './dom.js';
import { currentLanguage, t } from './i18n.js';

/** @typedef {import('./api.js').Api} Api */
/** @typedef {{median_ms: number, p90_ms: number}} Spread */
/**
 * @typedef {{conversations: number, answered: number, unanswered: number, first_response: Spread | null,
 *   resolution: Spread | null, ratings: {count: number, average: number | null, by_score: number[]}}} Figures
 */
/**
 * @typedef {{totals: Figures, days: {date: string, conversations: number, answered: number}[],
 *   agents: (Figures & {agent: string, name: string | null})[], sites: (Figures & {site: string, name: string | null})[]}} Report
 */

/** A date input's value for a day `back` days before today (calendar days, whatever the clocks did). @param {number} back */
function dayBefore(back) {
  const now = new Date();
  const day = new Date(now.getFullYear(), now.getMonth(), now.getDate() - back);
  const pad = (/** @type {number} */ n) => String(n).padStart(2, '0');
  return `${day.getFullYear()}-${pad(day.getMonth() + 1)}-${pad(day.getDate())}`;
}

/** A duration as "45 s", "3 min 20 s" or "2 h 5 min". @param {number} ms */
export function span(ms) {
  const seconds = Math.round(ms / 1000);
  if (seconds < 60) return t('seconds', { n: seconds });
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return t('minutesSeconds', { n: minutes, s: seconds % 60 });
  return t('hours', { n: Math.floor(minutes / 60), m: minutes % 60 });
}

/** @param {Spread | null} spread */
function spreadText(spread) {
  return spread ? t('medianP90', { median: span(spread.median_ms), p90: span(spread.p90_ms) }) : '—';
}

/** @param {Figures['ratings']} ratings */
function ratingText(ratings) {
  if (!ratings.count || ratings.average === null) return '—';
  const average = ratings.average.toLocaleString(currentLanguage(), { maximumFractionDigits: 2 });
  return t('ratingOf', { average, n: ratings.count });
}

/**
 * @param {Api} api
 * @param {{sites: () => Map<string, string>}} ctx
 */
export function reportsPanel(api, ctx) {
  const { section } = titled('reports', t('reports'));
  const form = el('form', 'search');
  const from = el('input');
  from.type = 'date';
  from.name = 'from';
  from.value = dayBefore(6);
  const to = el('input');
  to.type = 'date';
  to.name = 'to';
  to.value = dayBefore(0);
  const site = el('select');
  site.name = 'site';
  form.append(labelled(t('searchFrom'), from), labelled(t('searchTo'), to), labelled(t('site'), site));
  const go = el('button', 'primary', t('showReport'));
  go.type = 'submit';
  form.append(go);
  const problem = el('p', 'problem');
  problem.setAttribute('role', 'alert');
  const result = el('div', 'report');
  section.append(form, problem, result);

  function fillSites() {
    const chosen = site.value;
    site.replaceChildren(new Option(t('allSites'), ''));
    for (const [id, name] of ctx.sites()) site.append(new Option(name, id));
    site.value = chosen;
  }

  let requests = 0;

  async function load() {
    fillSites();
    problem.textContent = '';
    // From the start of `from` to the end of `to`, in the agent's time zone (the server counts
    // days with the offset of the first one).
    const start = new Date(from.value + 'T00:00').getTime();
    const last = new Date(to.value + 'T00:00');
    const end = new Date(last.getFullYear(), last.getMonth(), last.getDate() + 1).getTime();
    const asked = ++requests;
    const params = new URLSearchParams({
      from: String(start),
      to: String(end),
      utc_offset_minutes: String(-new Date(start).getTimezoneOffset()),
    });
    if (site.value) params.set('site', site.value);
    try {
      if (!(end > start)) throw new Error(t('badSpan'));
      /** @type {Report} */
      const report = await api.request('GET', '/reports?' + params);
      if (asked === requests) draw(report); // an older answer arriving late is dropped
    } catch (error) {
      if (asked !== requests) return;
      result.replaceChildren();
      problem.textContent = /** @type {Error} */ (error).message;
    }
  }
  form.onsubmit = (event) => {
    event.preventDefault();
    load();
  };

  /** @param {Report} report */
  function draw(report) {
    const totals = report.totals;
    const cards = el('dl', 'cards');
    /** @param {string} name @param {string} value @param {string} [note] */
    const card = (name, value, note) => {
      const box = el('div', 'card');
      box.append(el('dt', '', name), el('dd', '', value));
      if (note) box.append(el('dd', 'note', note));
      cards.append(box);
    };
    card(t('conversationsCount'), String(totals.conversations));
    card(t('answered'), String(totals.answered), t('unansweredCount', { n: totals.unanswered }));
    card(t('firstResponse'), totals.first_response ? span(totals.first_response.median_ms) : '—',
      totals.first_response ? t('p90Within', { p90: span(totals.first_response.p90_ms) }) : '');
    card(t('resolution'), totals.resolution ? span(totals.resolution.median_ms) : '—',
      totals.resolution ? t('p90Within', { p90: span(totals.resolution.p90_ms) }) : '');
    card(t('rating'), totals.ratings.average === null ? '—' : `${totals.ratings.average} ★`,
      t('ratingsCount', { n: totals.ratings.count }));
    result.replaceChildren(cards, days(report.days), table(t('perAgent'), t('agent'), report.agents.map((a) => ({
      name: a.name || t('deletedAgent'), figures: a,
    }))), table(t('perSite'), t('site'), report.sites.map((s) => ({ name: s.name || s.site, figures: s }))));
  }

  /** Bars of conversations per day, the answered part darker. @param {Report['days']} list */
  function days(list) {
    const box = el('figure', 'days');
    const caption = el('figcaption', '', t('perDay'));
    const bars = el('div', 'bars');
    const most = Math.max(1, ...list.map((d) => d.conversations));
    const step = Math.max(1, Math.ceil(list.length / 14)); // at most about 14 date labels
    list.forEach((day, i) => {
      const column = el('div', 'day');
      const label = t('dayBar', { date: day.date, n: day.conversations, answered: day.answered });
      column.title = label;
      column.setAttribute('role', 'img');
      column.setAttribute('aria-label', label);
      const bar = el('div', 'bar');
      bar.style.height = `${(day.conversations / most) * 100}%`;
      const answered = el('div', 'answered');
      answered.style.height = day.conversations ? `${(day.answered / day.conversations) * 100}%` : '0';
      bar.append(answered);
      const count = el('span', 'count', day.conversations ? String(day.conversations) : '');
      const date = el('span', 'date', i % step === 0 ? day.date.slice(5) : '');
      column.append(count, bar, date);
      bars.append(column);
    });
    const legend = el('p', 'legend');
    legend.append(el('span', 'key all', t('conversationsCount')), el('span', 'key answered', t('answered')));
    box.append(caption, bars, legend);
    return box;
  }

  /**
   * @param {string} title @param {string} first the first column's heading
   * @param {{name: string, figures: Figures}[]} rows
   */
  function table(title, first, rows) {
    const box = el('div', 'figures');
    box.append(el('h3', '', title));
    if (!rows.length) {
      box.append(el('p', 'empty', t('noConversationsInSpan')));
      return box;
    }
    const scroller = el('div', 'scroller');
    const grid = el('table');
    const head = el('tr');
    for (const name of [first, t('conversationsCount'), t('answered'), t('unanswered'), t('firstResponse'), t('resolution'), t('rating')]) {
      head.append(el('th', '', name));
    }
    const thead = el('thead');
    thead.append(head);
    const tbody = el('tbody');
    for (const { name, figures } of rows) {
      const tr = el('tr');
      tr.append(
        el('td', 'name', name),
        el('td', 'n', String(figures.conversations)),
        el('td', 'n', String(figures.answered)),
        el('td', 'n', String(figures.unanswered)),
        el('td', '', spreadText(figures.first_response)),
        el('td', '', spreadText(figures.resolution)),
        el('td', '', ratingText(figures.ratings)),
      );
      tbody.append(tr);
    }
    grid.append(thead, tbody);
    scroller.append(grid);
    box.append(scroller);
    return box;
  }

  return { node: section, load };
}
