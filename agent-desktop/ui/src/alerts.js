// Telling the agent something new came while they look elsewhere: the window title counts what is
// unread, a short sound, and a desktop notification that opens the conversation when clicked.
// The desktop app puts its own notifications and tray count behind the same calls.

import { t } from './i18n.js';

/** @type {AudioContext | null} */
let audio = null;

/** Two soft notes; made here, so there is no sound file to load. */
export function chime() {
  if (localStorage.getItem('kefu.console.sound') === 'off') return;
  try {
    audio ??= new AudioContext();
    const now = audio.currentTime;
    for (const [at, pitch] of [[0, 880], [0.14, 1175]]) {
      const tone = audio.createOscillator();
      const gain = audio.createGain();
      tone.frequency.value = pitch;
      gain.gain.setValueAtTime(0.0001, now + at);
      gain.gain.exponentialRampToValueAtTime(0.15, now + at + 0.02);
      gain.gain.exponentialRampToValueAtTime(0.0001, now + at + 0.25);
      tone.connect(gain).connect(audio.destination);
      tone.start(now + at);
      tone.stop(now + at + 0.3);
    }
  } catch (_) {
    // No audio here (a page the browser keeps silent until clicked): the title still says it.
  }
}

/**
 * A desktop notification; clicking it brings the console forward and opens the conversation.
 * @param {string} title @param {string} body @param {string} tag one per conversation
 * @param {() => void} open
 */
export function notify(title, body, tag, open) {
  const host = /** @type {{kefuNotify?: (title: string, body: string, tag: string, open: () => void) => void}} */ (
    /** @type {unknown} */ (window)
  );
  if (host.kefuNotify) return host.kefuNotify(title, body, tag, open);
  if (!('Notification' in window) || Notification.permission !== 'granted') return;
  const shown = new Notification(title, { body: body.slice(0, 200), tag });
  shown.onclick = () => {
    window.focus();
    open();
    shown.close();
  };
}

/** Whether to offer the button that asks for permission (not in the desktop app, which notifies itself). */
export function mayAskToNotify() {
  const host = /** @type {{kefuNotify?: unknown}} */ (/** @type {unknown} */ (window));
  return !host.kefuNotify && 'Notification' in window && Notification.permission === 'default';
}

/** The count shown last: the title and the desktop's tray change only when it does. */
let shownUnread = -1;

/** @param {number} unread */
export function showUnread(unread) {
  const title = unread > 0 ? `(${unread}) ${t('product')}` : t('product');
  if (document.title !== title) document.title = title;
  if (unread === shownUnread) return;
  shownUnread = unread;
  const host = /** @type {{kefuUnread?: (n: number) => void}} */ (/** @type {unknown} */ (window));
  host.kefuUnread?.(unread);
}
