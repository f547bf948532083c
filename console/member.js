// The member view, for demos and manual checks: Inbox, Other and Archived, a thread, compose
// (text or markdown, emoji, a GIF link), live updates from the event stream, report and
// block, and the "possible spam" label where the classifier put one.

import { api, followEvents, ApiError } from './api.js';
import { $, el, fill, messageBody, safeText, time, toast } from './render.js';

const FOLDERS = ['inbox', 'other', 'archived'];
const EMOJI = ['👍', '🙂', '🎉', '🙏', '☕', '🚀'];

const state = {
  folder: 'inbox',
  thread: null, // the open ThreadDisplay
  handles: new Map(), // member id → handle, from the folder listings
  events: null, // AbortController of the stream
  received: 0,
};

function describeError(error) {
  return error instanceof ApiError ? `${error.message} (${error.code})` : String(error);
}

async function loadFolders() {
  const pages = await Promise.all(FOLDERS.map((f) =>
    api('GET', `/v1/folders/${f}?limit=100`).catch((error) => ({ error }))));
  FOLDERS.forEach((folder, i) => {
    const page = pages[i];
    const unread = page.threads ? page.threads.filter((t) => t.unread > 0).length : 0;
    fill($(`count-${folder}`), unread ? String(unread) : '');
    if (folder === state.folder) renderThreads(page);
  });
}

function renderThreads(page) {
  const list = $('thread-list');
  if (page.error) {
    fill(list, el('li', { class: 'error' }, describeError(page.error)));
    return;
  }
  for (const t of page.threads) state.handles.set(t.with, t.with_handle);
  fill(list, page.threads.map((t) => el('li', {
    class: `row${t.unread ? ' unread' : ''}${state.thread && state.thread.thread_id === t.thread_id ? ' open' : ''}`,
    dataset: { thread: String(t.thread_id), with: t.with_handle },
  },
  el('b', {}, `@${t.with_handle}`),
  t.unread ? el('span', { class: 'badge' }, String(t.unread)) : null,
  el('span', { class: 'age' }, time(t.last_activity)),
  el('div', { class: 'preview', dir: 'auto' }, t.last_message ? safeText(t.last_message.body) : ''))));
  if (page.threads.length === 0) list.append(el('li', { class: 'empty' }, `Nothing in ${state.folder}.`));
  list.dataset.count = String(page.threads.length);
}

async function showFolder(folder) {
  state.folder = folder;
  for (const f of FOLDERS) $(`folder-${f}`).classList.toggle('on', f === folder);
  await loadFolders();
}

async function openThread(threadId) {
  let thread;
  try {
    thread = await api('GET', `/v1/threads/${threadId}/display`);
  } catch (error) {
    toast(describeError(error), 'error');
    return;
  }
  state.thread = thread;
  renderThread();
  loadFolders();
}

function renderThread() {
  const thread = state.thread;
  $('thread-empty').hidden = Boolean(thread);
  $('thread-view').hidden = !thread;
  if (!thread) {
    composeFor(null);
    return;
  }
  const archived = thread.folder === 'archived';
  const archive = el('button', { type: 'button', id: 't-archive' }, archived ? 'Unarchive' : 'Archive');
  archive.addEventListener('click', async () => {
    await act(() => api('POST', `/v1/threads/${thread.thread_id}/${archived ? 'unarchive' : 'archive'}`), archived ? 'Unarchived.' : 'Archived.');
    openThread(thread.thread_id);
  });
  const block = el('button', { type: 'button', id: 't-block', class: 'danger' }, `Block #${thread.with}`);
  block.addEventListener('click', async () => {
    if (await act(() => api('POST', '/v1/blocks', { member_id: thread.with }), `Member #${thread.with} blocked.`)) {
      state.thread = null;
      renderThread();
      loadFolders();
    }
  });
  fill($('thread-head'), el('h2', {}, `Conversation with ${who(thread.with)}`), ` in ${thread.folder} `, archive, ' ', block);
  fill($('thread-messages'), thread.messages.map((m) => messageView(m, thread)));
  composeFor(thread);
}

function who(id) {
  const handle = state.handles.get(id);
  return handle ? `@${handle} (#${id})` : `#${id}`;
}

function messageView(m, thread) {
  const mine = m.from !== thread.with;
  const actions = [];
  if (!mine) {
    const reason = el('input', { class: 'note', placeholder: 'why report (e.g. spam)', 'aria-label': 'report reason' });
    const report = el('button', { type: 'button', class: 'report' }, 'Report');
    report.addEventListener('click', () => act(
      () => api('POST', `/v1/messages/${m.message_id}/report`, { reason: reason.value.trim() || 'spam' }),
      'Reported: a reviewer will look at it.'));
    actions.push(reason, report);
    if (m.possible_spam) {
      const safe = el('button', { type: 'button' }, 'Not spam');
      safe.addEventListener('click', () => act(() => api('POST', `/v1/messages/${m.message_id}/mark-safe`), 'Marked safe.'));
      actions.push(safe);
    }
  }
  return el('div', { class: `message ${mine ? 'mine' : 'theirs'}`, dataset: { message: String(m.message_id) } },
    el('p', { class: 'facts' }, mine ? 'you' : who(m.from), ` · ${time(m.created_at)}`,
      m.inmail ? ' · InMail' : '', m.status !== 'delivered' ? ` · ${m.status}` : '',
      m.possible_spam ? el('span', { class: 'label-spam' }, 'possible spam') : null),
    messageBody(m),
    actions.length ? el('div', { class: 'actions' }, actions) : null);
}

async function act(call, done) {
  try {
    await call();
    toast(done);
    return true;
  } catch (error) {
    toast(describeError(error), 'error');
    return false;
  }
}

function composeFor(thread) {
  fill($('compose-title'), thread ? `Reply to ${who(thread.with)}` : 'New message');
  $('c-to').value = thread ? String(thread.with) : $('c-to').value;
  $('c-to').disabled = Boolean(thread);
}

async function send() {
  const to = Number($('c-to').value);
  const body = $('c-body').value;
  const gif = $('c-gif').value.trim();
  const request = {
    to,
    body,
    format: $('c-format').value,
    thread_id: state.thread ? state.thread.thread_id : undefined,
    attachments: gif ? [{ type: 'gif', url: gif }] : undefined,
  };
  try {
    const sent = await api('POST', '/v1/messages', request);
    fill($('c-result'), `Sent: ${sent.decision}${sent.folder ? ` (${sent.folder})` : ''}.`);
    $('c-body').value = '';
    $('c-gif').value = '';
    if (state.thread) openThread(state.thread.thread_id);
    else loadFolders();
  } catch (error) {
    fill($('c-result'), el('span', { class: 'error' }, describeError(error)));
  }
}

function onEvent(event) {
  state.received += 1;
  $('live').dataset.events = String(state.received);
  if (event.kind === 'message.delivered') {
    toast(`New message in ${event.data.folder}.`);
    if (state.thread && state.thread.thread_id === event.data.thread_id) openThread(state.thread.thread_id);
    else loadFolders();
  } else {
    loadFolders();
  }
}

function onStreamState(s) {
  const live = $('live');
  live.dataset.state = s;
  fill(live, s === 'live' ? '● live' : '○ reconnecting');
}

export function onKey(event) {
  const folder = FOLDERS[Number(event.key) - 1];
  if (folder) {
    state.thread = null;
    renderThread();
    showFolder(folder);
    return true;
  }
  if (event.key === 'c') {
    $('c-body').focus();
    return true;
  }
  return false;
}

export function start() {
  state.thread = null;
  state.received = 0;
  $('live').dataset.events = '0';
  renderThread();
  showFolder('inbox');
  state.events = new AbortController();
  followEvents(onEvent, onStreamState, state.events.signal);
}

export function stop() {
  if (state.events) state.events.abort();
  state.events = null;
  state.thread = null;
  onStreamState('off');
  fill($('live'), '○ offline');
}

export function wire() {
  for (const f of FOLDERS) {
    $(`folder-${f}`).addEventListener('click', () => {
      state.thread = null;
      renderThread();
      showFolder(f);
    });
  }
  $('thread-list').addEventListener('click', (e) => {
    const row = e.target.closest('[data-thread]');
    if (row) openThread(Number(row.dataset.thread));
  });
  $('compose').addEventListener('submit', (e) => { e.preventDefault(); send(); });
  $('c-new').addEventListener('click', () => {
    state.thread = null;
    renderThread();
    $('c-to').focus();
  });
  fill($('emoji'), EMOJI.map((emoji) => {
    const b = el('button', { type: 'button', class: 'emoji', 'aria-label': `insert ${emoji}` }, emoji);
    b.addEventListener('click', () => {
      const area = $('c-body');
      const at = area.selectionStart ?? area.value.length;
      area.value = area.value.slice(0, at) + emoji + area.value.slice(area.selectionEnd ?? at);
      area.focus();
    });
    return b;
  }));
}

