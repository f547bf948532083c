// Building the page safely. Every string from the server goes into the DOM as text
// (createTextNode / textContent), never as HTML: the CSP's Trusted Types requirement makes
// any innerHTML assignment throw, so a mistake here fails loudly instead of running a
// message's markup. Links in messages are shown as text with their real target, never as
// anchors, so nothing in a message is fetched or clickable.

/** An element with attributes (class, id, data-*, type, …) and children (nodes or text). */
export function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (/^on/i.test(key) || key === 'href' || key === 'src' || key === 'srcdoc') {
      throw new Error(`el(): refusing attribute ${key}`);
    }
    if (key === 'class') node.className = value;
    else if (key === 'dataset') Object.assign(node.dataset, value);
    else if (value === true) node.setAttribute(key, '');
    else node.setAttribute(key, String(value));
  }
  append(node, children);
  return node;
}

function append(node, children) {
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

/** Replaces an element's children. */
export function fill(node, ...children) {
  node.replaceChildren();
  append(node, children);
  return node;
}

export function $(id) {
  return document.getElementById(id);
}

/** Characters that reorder or hide text: bidi embeddings, overrides and isolates, marks,
 * zero-width characters. They are shown as visible markers instead of taking effect. */
const HIDDEN = /[\u202A-\u202E\u2066-\u2069\u200E\u200F\u061C\u200B-\u200D\u2060\uFEFF]/g;

const NAMES = {
  0x202a: 'LRE', 0x202b: 'RLE', 0x202c: 'PDF', 0x202d: 'LRO', 0x202e: 'RLO',
  0x2066: 'LRI', 0x2067: 'RLI', 0x2068: 'FSI', 0x2069: 'PDI', 0x200e: 'LRM',
  0x200f: 'RLM', 0x061c: 'ALM', 0x200b: 'ZWSP', 0x200c: 'ZWNJ', 0x200d: 'ZWJ',
  0x2060: 'WJ', 0xfeff: 'BOM',
};

/** Message text as inert nodes, with invisible controls made visible. */
export function safeText(text) {
  const fragment = document.createDocumentFragment();
  let last = 0;
  for (const match of String(text).matchAll(HIDDEN)) {
    if (match.index > last) fragment.append(document.createTextNode(text.slice(last, match.index)));
    const code = match[0].codePointAt(0);
    const hex = code.toString(16).toUpperCase().padStart(4, '0');
    fragment.append(
      el('span', { class: 'ctl', title: `invisible character U+${hex} (${NAMES[code]}) shown, not applied` },
        `⟦U+${hex} ${NAMES[code]}⟧`),
    );
    last = match.index + match[0].length;
  }
  if (last < text.length) fragment.append(document.createTextNode(text.slice(last)));
  return fragment;
}

/** The host a URL-like string names, lowercased; '' when it names none. */
function hostOf(text) {
  const m = /^(?:[a-z][a-z0-9+.-]*:\/\/)?([^/\s?#:@]+\.[^/\s?#:@]+)/i.exec(String(text).trim());
  return m ? m[1].toLowerCase().replace(/^www\./, '') : '';
}

/** Links as "shown text → real target", flagged when the text names another host. */
export function linkList(links) {
  if (!links || links.length === 0) return null;
  return el('ul', { class: 'links' },
    links.map((link) => {
      const shown = hostOf(link.text);
      const real = hostOf(link.target);
      const mismatch = shown && real && shown !== real;
      let scheme = '';
      const s = /^\s*([a-z][a-z0-9+.-]*):/i.exec(link.target);
      if (s && !['http', 'https', 'mailto'].includes(s[1].toLowerCase())) scheme = s[1].toLowerCase();
      return el('li', { class: mismatch || scheme ? 'link bad' : 'link' },
        el('span', { class: 'link-text' }, safeText(link.text || '(no text)')),
        ' → ',
        el('code', { class: 'link-target' }, safeText(link.target)),
        mismatch ? el('span', { class: 'flag' }, ` shown as ${shown}, opens ${real}`) : null,
        scheme ? el('span', { class: 'flag' }, ` ${scheme}: link`) : null);
    }));
}

/** A message body for display: the visible text, its links and (folded away) the source. */
export function messageBody(message) {
  return el('div', { class: 'body' },
    el('div', { class: 'text', dir: 'auto' }, safeText(message.visible_text ?? message.body)),
    linkList(message.links),
    (message.attachments || []).length
      ? el('ul', { class: 'links' }, message.attachments.map((a) =>
        el('li', { class: 'link' }, `${a.type} (not loaded): `, el('code', {}, safeText(a.url)))))
      : null,
    message.format === 'markdown'
      ? el('details', { class: 'source' }, el('summary', {}, 'markdown source'),
        el('pre', {}, safeText(message.body)))
      : null);
}

export function time(ms) {
  if (ms === null || ms === undefined) return '–';
  const d = new Date(ms);
  return `${d.toISOString().slice(0, 10)} ${d.toTimeString().slice(0, 8)}`;
}

export function percent(p) {
  return p === null || p === undefined ? '–' : `${(p * 100).toFixed(1)} %`;
}

let toastTimer = null;

/** A short status line for what just happened. */
export function toast(text, kind) {
  const node = $('toast');
  fill(node, text);
  node.className = kind === 'error' ? 'show error' : 'show';
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => { node.className = ''; }, 4000);
}

/** Whether a key event comes from a field the user is typing in. */
export function typing(event) {
  const t = event.target;
  return t instanceof HTMLElement && (t.isContentEditable || ['INPUT', 'TEXTAREA', 'SELECT'].includes(t.tagName));
}
