// Files in conversations: pictures shown in place, other files offered for download, uploads.
// The bytes are fetched with the agent's token (a plain link would carry none) and kept as object
// URLs while the console runs.

import { button, el } from './dom.js';
import { t } from './i18n.js';

/** @typedef {import('../../../crates/chat-core/bindings/protocol').AttachmentView} AttachmentView */
/** @typedef {import('./api.js').Api} Api */

/** The object URL of each file fetched so far. @type {Map<string, Promise<string>>} */
const fetched = new Map();

/** @param {Api} api @param {string} id */
function objectUrl(api, id) {
  let url = fetched.get(id);
  if (!url) {
    url = api.blob('/files/' + encodeURIComponent(id)).then((blob) => URL.createObjectURL(blob));
    url.catch(() => fetched.delete(id));
    fetched.set(id, url);
  }
  return url;
}

/** A size as people read it. @param {number} bytes */
export function size(bytes) {
  if (bytes < 1000) return `${bytes} B`;
  if (bytes < 1_000_000) return `${(bytes / 1000).toFixed(0)} KB`;
  return `${(bytes / 1_000_000).toFixed(1)} MB`;
}

const PICTURES = ['image/png', 'image/jpeg', 'image/gif', 'image/webp'];

/**
 * A file in a message: the picture itself, or a button that downloads the file.
 * @param {Api} api @param {AttachmentView} file
 */
export function attachmentView(api, file) {
  const box = el('div', 'file');
  if (PICTURES.includes(file.type)) {
    const img = el('img');
    img.alt = t('picture', { name: file.name });
    if (file.width && file.height) {
      img.width = Math.min(240, file.width);
      img.height = Math.round((img.width * file.height) / file.width);
    }
    objectUrl(api, file.id).then(
      (url) => (img.src = url),
      () => (img.alt = t('fileGone', { name: file.name })),
    );
    const open = el('a');
    open.append(img);
    open.title = t('download', { name: file.name, size: size(file.size) });
    open.href = '#';
    open.onclick = (event) => {
      event.preventDefault();
      save(api, file);
    };
    box.append(open);
  } else {
    const get = button(t('download', { name: file.name, size: size(file.size) }), 'download');
    get.onclick = () => save(api, file);
    box.append(get);
  }
  return box;
}

/** Saves the file under its name. @param {Api} api @param {AttachmentView} file */
async function save(api, file) {
  const link = el('a');
  link.href = await objectUrl(api, file.id);
  link.download = file.name;
  link.click();
}

/**
 * Uploads a file for a site: the token for the `send` and what the file is.
 * @param {Api} api @param {string} site @param {File} file
 * @returns {Promise<{token: string, file: AttachmentView}>}
 */
export async function upload(api, site, file) {
  const path = `/files?name=${encodeURIComponent(file.name)}&site=${encodeURIComponent(site)}`;
  /** @type {{attachment: AttachmentView, attachment_token: string}} */
  const answer = await api.upload(path, file);
  return { token: answer.attachment_token, file: answer.attachment };
}
