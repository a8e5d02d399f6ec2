// Put into every page the window shows, the server's console included: the console calls these
// when they exist (see agent-desktop/ui/src/alerts.js), so its notifications and unread count
// become the app's.
(() => {
  const invoke = (command, args) => window.__TAURI_INTERNALS__.invoke(command, args);
  // What a notification opens when clicked, by its tag (one per conversation); the latest 200.
  const openers = new Map();
  window.kefuNotify = (title, body, tag, open) => {
    openers.delete(tag);
    openers.set(tag, open);
    if (openers.size > 200) openers.delete(openers.keys().next().value);
    invoke('notify', { title, body, tag }).catch(() => {});
  };
  window.kefuUnread = (count) => invoke('unread', { count }).catch(() => {});
  window.kefuDesktop = {
    opened: (tag) => openers.get(tag)?.(),
    changeServer: () => invoke('change_server'),
  };
})();
