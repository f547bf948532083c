// The reviewer's console: queue board, claim next, item evidence, audited read, decisions
// with undo, appeals, audit log, restrictions and the embedded report.
//
// Undo: a decision is staged, not sent, and goes to the server when the reviewer moves on
// (next item, another item, another tab, sign-out, closing the page). Until then `u`
// takes it back, which nothing could do once a release has reached the recipient.

import { api, apiText, query, ApiError } from './api.js';
import { $, el, fill, messageBody, percent, time, toast } from './render.js';

const REPORT_POLICY = 'sendguard-report';

const state = {
  board: null,
  selected: 0,
  current: null, // { itemId, context, content }
  pending: null, // { itemId, label, action, note, describe }
  skipped: new Set(),
  tab: 'queue',
};

let reportPolicy = null;

function filter() {
  return {
    sort: $('f-sort').value,
    reason: $('f-reason').value,
    rule: $('f-rule').value.trim(),
    lang: $('f-lang').value,
    kind: $('f-kind').value,
  };
}

function describeError(error) {
  if (error instanceof ApiError) return `${error.message} (${error.code})`;
  return String(error);
}

// ---- queue board ------------------------------------------------------------------

export async function loadBoard() {
  let board;
  try {
    board = await api('GET', `/v1/review/board${query({ ...filter(), limit: 100 })}`);
  } catch (error) {
    toast(`queue: ${describeError(error)}`, 'error');
    return;
  }
  state.board = board;
  state.selected = Math.min(state.selected, Math.max(board.items.length - 1, 0));
  renderBoard();
}

function keepOptions(select, values, label) {
  const chosen = select.value;
  fill(select, el('option', { value: '' }, 'any'),
    Object.entries(values).map(([key, count]) => el('option', { value: key }, `${label(key)} (${count})`)));
  select.value = chosen in values || chosen === '' ? chosen : '';
  if (select.value !== chosen && chosen) {
    // The chosen value has no items left: keep it selectable so the filter stays visible.
    select.append(el('option', { value: chosen }, `${chosen} (0)`));
    select.value = chosen;
  }
}

function renderBoard() {
  const board = state.board;
  keepOptions($('f-reason'), board.by_reason, (k) => k);
  keepOptions($('f-lang'), board.by_language, (k) => k);
  fill($('reason-counts'),
    Object.entries(board.by_reason)
      .sort((a, b) => b[1] - a[1])
      .map(([key, count]) => el('button', {
        type: 'button',
        class: key === $('f-reason').value ? 'chip on' : 'chip',
        dataset: { reason: key },
      }, `${key} `, el('b', {}, String(count)))));
  fill($('queue-summary'),
    `${board.matching} of ${board.open} open items match`,
    board.truncated ? ' (queue longer than shown; counts cover its oldest part)' : '');
  const list = $('queue-list');
  fill(list, board.items.map((item, index) => {
    const reasons = item.reasons.filter((r) => r.source !== 'relationship').map((r) => `${r.source}/${r.id}`);
    return el('li', {
      class: [
        'row',
        index === state.selected ? 'selected' : '',
        state.current && state.current.itemId === item.item_id ? 'open' : '',
      ].join(' '),
      dataset: { item: String(item.item_id) },
    },
    el('span', { class: 'id' }, `#${item.item_id}`),
    el('span', { class: `origin ${item.origin}` }, item.origin),
    el('span', { class: 'score' }, `score ${percent(item.score)}`),
    el('span', { class: 'age' }, time(item.created_at)),
    el('span', { class: 'reasons' }, reasons.join(', ') || '–'),
    item.reports ? el('span', { class: 'reports' }, `${item.reports} report(s)`) : null,
    item.claimed_by !== null ? el('span', { class: 'claim' }, `claimed by reviewer ${item.claimed_by}`) : null);
  }));
  if (board.items.length === 0) list.append(el('li', { class: 'empty' }, 'Nothing waiting for review.'));
  $('queue-list').dataset.count = String(board.items.length);
}

function moveSelection(delta) {
  if (!state.board || state.board.items.length === 0) return;
  state.selected = Math.max(0, Math.min(state.board.items.length - 1, state.selected + delta));
  renderBoard();
  const row = $('queue-list').children[state.selected];
  if (row) row.scrollIntoView({ block: 'nearest' });
}

// ---- the item --------------------------------------------------------------------

/** Opens an item (its evidence, not its text). */
export async function openItem(itemId) {
  await commitPending();
  let context;
  try {
    context = await api('GET', `/v1/review/items/${itemId}/context`);
  } catch (error) {
    toast(`item ${itemId}: ${describeError(error)}`, 'error');
    return;
  }
  state.current = { itemId, context, content: null };
  renderItem();
  renderBoard();
}

/** Claims the next matching item and opens it. */
export async function next() {
  await commitPending();
  if (state.current && !state.current.decided) {
    state.skipped.add(state.current.itemId);
    // The server takes at most 500; the oldest skips are the first to come round again.
    for (const id of state.skipped) {
      if (state.skipped.size <= 500) break;
      state.skipped.delete(id);
    }
  }
  let answer;
  try {
    answer = await api('POST', '/v1/review/claim', { ...filter(), skip: [...state.skipped] });
  } catch (error) {
    toast(`claim: ${describeError(error)}`, 'error');
    return;
  }
  if (!answer.item) {
    state.current = null;
    renderItem();
    toast('Nothing left to claim with these filters.');
    await loadBoard();
    return;
  }
  await openItem(answer.item.item_id);
  await loadBoard();
}

function section(title, ...children) {
  return [el('h3', {}, title), ...children];
}

function reasonsView(context) {
  const verdict = context.verdict;
  const rules = new Map(context.rules.map((r) => [r.id, r]));
  const rows = verdict.reasons.map((reason) => {
    const rule = reason.source === 'rule' ? rules.get(reason.id) : null;
    return el('li', { class: `reason ${reason.source}` },
      el('b', {}, `${reason.source}/${reason.id}`), ' ',
      el('span', {}, reason.detail),
      rule ? el('div', { class: 'rule' },
        `rule: ${rule.description} · ${rule.category} · action ${rule.action} · score ${rule.score}${rule.shadow ? ' · shadow' : ''}`) : null,
      reason.evidence && reason.evidence.length
        ? el('div', { class: 'evidence' }, 'tokens that pushed the score: ',
          reason.evidence.map((token) => el('code', { class: 'token' }, token)))
        : null);
  });
  const behaviour = context.behaviour.map((s) =>
    el('li', {}, el('b', {}, s.id), ` ${s.detail} · score ${s.score}${s.hold ? ' · holds' : ''}`));
  const rel = context.relationship;
  return [
    ...section('Why it is here',
      el('p', { class: 'facts' },
        `decision ${verdict.decision} · would go to ${verdict.route} · classifier ${percent(verdict.score)}`,
        verdict.language ? ` · language ${verdict.language}` : '',
        ` · ${context.entry.kind}`,
        context.item.report_reason ? ` · reported: “${context.item.report_reason}”` : ''),
      el('ul', { class: 'reasons', id: 'reason-list' }, rows)),
    ...section('Behaviour signals',
      behaviour.length ? el('ul', {}, behaviour) : el('p', { class: 'muted' }, 'none recorded'),
      el('p', { class: 'muted' },
        `connected: ${rel.connected ? 'yes' : 'no'} · recipient replied: ${rel.recipient_replied ? 'yes' : 'no'} · InMail: ${rel.inmail ? 'yes' : 'no'}`)),
  ];
}

function senderView(context) {
  const s = context.sender;
  const restriction = s.restriction
    ? el('p', { class: 'restricted' },
      `restricted (${s.restriction.level}) since ${time(s.restriction.since)}: ${s.restriction.reason} `,
      el('button', { type: 'button', id: 'lift-sender', dataset: { member: String(s.member_id) } }, 'Lift restriction'))
    : el('p', {}, 'not restricted');
  return section(`Sender @${s.handle} (#${s.member_id})`,
    el('p', { class: 'facts' },
      `${s.plan} member since ${time(s.member_since)} · ${s.strike_points} strike point(s) · ${s.reports_against} recent report(s) · ${s.held_total} other held message(s)`),
    restriction,
    s.strikes.length ? el('ul', { class: 'strikes' }, s.strikes.map((k) =>
      el('li', {}, `${time(k.at)} · ${k.weight} pt · ${k.source}: ${k.detail}`))) : null,
    s.held.length ? el('ul', { class: 'held' }, s.held.map((h) =>
      el('li', {}, `message ${h.message_id} · ${time(h.created_at)} · ${h.status}${h.label ? ` · labelled ${h.label}` : ''} · ${h.reasons.join(', ')}`))) : null);
}

function renderItem() {
  const view = $('item-view');
  const current = state.current;
  $('item-empty').hidden = current !== null;
  view.hidden = current === null;
  if (!current) {
    fill($('item-content'));
    return;
  }
  const { context } = current;
  const entry = context.entry;
  view.dataset.item = String(current.itemId);
  fill($('item-head'),
    el('h2', {}, `Item #${current.itemId} · ${entry.origin} · message ${entry.message_id}`),
    el('p', { class: 'facts' },
      `from #${entry.sender} to #${entry.recipient} · ${time(entry.created_at)} · `,
      el('span', { id: 'lease' }, '')));
  fill($('item-reasons'), reasonsView(context));
  fill($('item-sender'), senderView(context));
  $('do-release').replaceChildren(`Release to ${context.verdict.route} (ham) `, el('kbd', {}, 'r'));
  renderContent();
  renderDecision();
  updateLease();
}

function renderContent() {
  const current = state.current;
  const gate = $('read-form');
  const target = $('item-content');
  if (!current || !current.content) {
    gate.hidden = false;
    $('justification').value = '';
    fill($('justification-error'));
    fill(target);
    target.dataset.state = 'hidden';
    return;
  }
  gate.hidden = true;
  const { content } = current;
  target.dataset.state = 'shown';
  fill(target,
    el('h3', {}, 'Message (read audited)'),
    el('div', { class: 'message held', id: 'message-body' }, messageBody(content.message)),
    content.thread.length > 1
      ? [el('h3', {}, 'Thread'), content.thread.map((m) =>
        el('div', { class: m.message_id === content.message.message_id ? 'message held' : 'message' },
          el('p', { class: 'facts' }, `#${m.from} → #${m.to} · ${time(m.created_at)} · ${m.status}`),
          messageBody(m)))]
      : null);
}

function updateLease() {
  const node = $('lease');
  if (!node || !state.current) return;
  const until = state.current.context.entry.claimed_until;
  if (!until) {
    fill(node, 'not claimed');
    return;
  }
  const left = Math.round((until - Date.now()) / 1000);
  fill(node, left > 0
    ? `claimed until ${time(until).slice(11)} (${Math.floor(left / 60)}:${String(left % 60).padStart(2, '0')} left)`
    : 'lease expired: the item is back in the queue');
}

async function read() {
  const current = state.current;
  if (!current) return;
  const justification = $('justification').value.trim();
  try {
    current.content = await api('GET',
      `/v1/review/items/${current.itemId}/content${query({ justification })}`);
  } catch (error) {
    fill($('justification-error'), describeError(error));
    $('justification').focus();
    return;
  }
  renderContent();
  $('item').focus();
}

// ---- decisions with undo ----------------------------------------------------------------

const DECISIONS = {
  release: { label: 'ham', action: 'release', describe: (c) => `release to ${c.verdict.route}` },
  remove: { label: 'spam', action: 'remove', describe: () => 'remove (spam)' },
  restrict: { label: 'spam', action: 'restrict_sender', describe: () => 'remove and restrict the sender' },
};

function stage(kind) {
  const current = state.current;
  if (!current || current.decided || state.pending) return;
  const d = DECISIONS[kind];
  const note = $('decision-note').value.trim();
  state.pending = {
    itemId: current.itemId,
    label: d.label,
    action: d.action,
    note: note || undefined,
    describe: d.describe(current.context),
  };
  renderDecision();
}

function undo() {
  if (!state.pending) return;
  state.pending = null;
  renderDecision();
  toast('Decision undone.');
}

/** Sends the staged decision, if any. */
export async function commitPending(options) {
  const pending = state.pending;
  if (!pending) return;
  state.pending = null;
  try {
    await api('POST', `/v1/review/items/${pending.itemId}/decision`,
      { label: pending.label, action: pending.action, note: pending.note }, options);
    if (state.current && state.current.itemId === pending.itemId) state.current.decided = pending.describe;
    toast(`Item #${pending.itemId}: ${pending.describe}.`);
  } catch (error) {
    toast(`Item #${pending.itemId} not decided: ${describeError(error)}`, 'error');
  }
  renderDecision();
}

function renderDecision() {
  const current = state.current;
  const pending = state.pending && current && state.pending.itemId === current.itemId ? state.pending : null;
  const banner = $('item-decision-banner');
  const decided = current && current.decided;
  banner.hidden = !pending && !decided;
  if (pending) {
    fill(banner, `Staged: ${pending.describe}. It is sent when you open the next item; `,
      el('kbd', {}, 'u'), ' undoes it.');
    banner.dataset.state = 'pending';
  } else if (decided) {
    fill(banner, `Decided: ${decided}.`);
    banner.dataset.state = 'decided';
  } else {
    banner.dataset.state = '';
  }
  for (const id of ['do-release', 'do-remove', 'do-restrict']) $(id).disabled = Boolean(pending || decided);
  $('do-undo').hidden = !pending;
}

// ---- appeals, audit, restrictions, report ---------------------------------------------

async function loadAppeals() {
  const target = $('appeals-list');
  try {
    const { appeals } = await api('GET', '/v1/review/appeals?limit=100');
    fill(target, appeals.length === 0 ? el('p', { class: 'muted' }, 'No open appeals.') : appeals.map((a) => {
      const note = el('input', { class: 'note', placeholder: 'note', 'aria-label': 'note' });
      const decide = (outcome) => async () => {
        try {
          await api('POST', `/v1/review/appeals/${a.id}/decision`, { outcome, note: note.value || undefined });
          toast(`Appeal #${a.id} ${outcome}.`);
          loadAppeals();
        } catch (error) {
          toast(describeError(error), 'error');
        }
      };
      const uphold = el('button', { type: 'button' }, 'Uphold');
      const overturn = el('button', { type: 'button' }, 'Overturn');
      uphold.addEventListener('click', decide('upheld'));
      overturn.addEventListener('click', decide('overturned'));
      const target2 = a.target.kind === 'message' ? `message ${a.target.message_id}` : `restriction since ${time(a.target.since)}`;
      return el('div', { class: 'card', dataset: { appeal: String(a.id) } },
        el('p', {}, el('b', {}, `Appeal #${a.id}`), ` by member #${a.member} on ${target2} · ${time(a.created_at)}`),
        el('p', { class: 'quote' }, a.reason), note, uphold, overturn);
    }));
  } catch (error) {
    fill(target, el('p', { class: 'error' }, describeError(error)));
  }
}

async function loadAudit() {
  const params = {
    reviewer: $('a-reviewer').value.trim(),
    action: $('a-action').value.trim(),
    limit: 200,
  };
  const table = $('audit-rows');
  try {
    const { entries } = await api('GET', `/v1/review/audit/search${query(params)}`);
    fill(table, entries.map((e) => el('tr', { dataset: { action: e.action } },
      el('td', {}, time(e.at)),
      el('td', {}, e.actor.type + (e.actor.id !== undefined ? ` #${e.actor.id}` : '')),
      el('td', {}, e.action),
      el('td', {}, e.item_id ?? '–'),
      el('td', {}, e.message_id ?? '–'),
      el('td', {}, e.member_id ?? '–'),
      el('td', { class: 'why' }, e.why ?? ''))));
    if (entries.length === 0) table.append(el('tr', {}, el('td', { colspan: 7, class: 'muted' }, 'No entries match.')));
  } catch (error) {
    fill(table, el('tr', {}, el('td', { colspan: 7, class: 'error' }, describeError(error))));
  }
}

async function lift(member, note) {
  try {
    await api('POST', `/v1/review/members/${member}/lift-restriction`, { note });
    toast(`Restriction of member #${member} lifted.`);
    return true;
  } catch (error) {
    toast(describeError(error), 'error');
    return false;
  }
}

async function loadRestrictions() {
  const target = $('restrictions-list');
  try {
    const { members } = await api('GET', '/v1/review/restrictions');
    fill(target, members.length === 0 ? el('p', { class: 'muted' }, 'Nobody is restricted.') : members.map((m) => {
      const note = el('input', { class: 'note', placeholder: 'why lift (required)', 'aria-label': 'note' });
      const button = el('button', { type: 'button' }, 'Lift');
      button.addEventListener('click', async () => {
        if (await lift(m.member_id, note.value.trim())) loadRestrictions();
      });
      return el('div', { class: 'card' },
        el('p', {}, el('b', {}, `@${m.handle} (#${m.member_id})`),
          ` · ${m.restriction.level} since ${time(m.restriction.since)} · ${m.strike_points} strike point(s)${m.restriction.automated ? ' · automated' : ''}`),
        el('p', { class: 'quote' }, m.restriction.reason), note, button);
    }));
  } catch (error) {
    fill(target, el('p', { class: 'error' }, describeError(error)));
  }
}

async function loadReport() {
  const frame = $('report-frame');
  try {
    const html = await apiText(`/v1/review/report${query({ format: 'html', from: $('r-from').value, to: $('r-to').value })}`);
    if (!reportPolicy) {
      // The one place an HTML string reaches the DOM: the server's own report, escaped
      // there, shown in a frame sandboxed without scripts or same-origin access.
      reportPolicy = window.trustedTypes
        ? window.trustedTypes.createPolicy(REPORT_POLICY, { createHTML: (s) => s })
        : { createHTML: (s) => s };
    }
    frame.srcdoc = reportPolicy.createHTML(html);
    frame.dataset.loaded = 'yes';
  } catch (error) {
    toast(`report: ${describeError(error)}`, 'error');
  }
}

// ---- tabs and keys ----------------------------------------------------------------------

const TABS = ['queue', 'appeals', 'audit', 'restrictions', 'report'];

export async function showTab(tab) {
  await commitPending();
  state.tab = tab;
  for (const name of TABS) {
    $(`pane-${name}`).hidden = name !== tab;
    $(`tab-${name}`).classList.toggle('on', name === tab);
  }
  if (tab === 'queue') loadBoard();
  if (tab === 'appeals') loadAppeals();
  if (tab === 'audit') loadAudit();
  if (tab === 'restrictions') loadRestrictions();
  if (tab === 'report' && !$('report-frame').dataset.loaded) loadReport();
}

/** Handles a key outside text fields; answers whether it was ours. */
export function onKey(event) {
  const digit = TABS[Number(event.key) - 1];
  if (digit) {
    showTab(digit);
    return true;
  }
  if (state.tab !== 'queue') return false;
  switch (event.key) {
    case 'j': moveSelection(1); return true;
    case 'k': moveSelection(-1); return true;
    case 'Enter': {
      const item = state.board && state.board.items[state.selected];
      if (item) openItem(item.item_id);
      return Boolean(item);
    }
    case 'n': next(); return true;
    case '/': case 'e':
      if (state.current && !state.current.content) $('justification').focus();
      return true;
    case 'r': stage('release'); return true;
    case 'd': stage('remove'); return true;
    case 'x': stage('restrict'); return true;
    case 'u': undo(); return true;
    case 'g': loadBoard(); return true;
    default: return false;
  }
}

export function start() {
  state.current = null;
  state.pending = null;
  state.skipped.clear();
  renderItem();
  showTab('queue');
}

export function stop() {
  state.board = null;
  state.current = null;
  state.pending = null;
  $('report-frame').removeAttribute('srcdoc');
  delete $('report-frame').dataset.loaded;
}

/** Wires the static controls once. */
export function wire() {
  for (const name of TABS) $(`tab-${name}`).addEventListener('click', () => showTab(name));
  $('queue-filter').addEventListener('change', () => { state.selected = 0; loadBoard(); });
  $('queue-filter').addEventListener('submit', (e) => { e.preventDefault(); loadBoard(); });
  $('reason-counts').addEventListener('click', (e) => {
    const chip = e.target.closest('[data-reason]');
    if (!chip) return;
    $('f-reason').value = $('f-reason').value === chip.dataset.reason ? '' : chip.dataset.reason;
    state.selected = 0;
    loadBoard();
  });
  $('queue-list').addEventListener('click', (e) => {
    const row = e.target.closest('[data-item]');
    if (row) openItem(Number(row.dataset.item));
  });
  $('claim-next').addEventListener('click', () => next());
  $('read-form').addEventListener('submit', (e) => { e.preventDefault(); read(); });
  $('do-release').addEventListener('click', () => stage('release'));
  $('do-remove').addEventListener('click', () => stage('remove'));
  $('do-restrict').addEventListener('click', () => stage('restrict'));
  $('do-undo').addEventListener('click', () => undo());
  $('item-sender').addEventListener('click', async (e) => {
    const button = e.target.closest('#lift-sender');
    if (!button) return;
    const note = $('decision-note').value.trim() || 'lifted from the review console';
    if (await lift(Number(button.dataset.member), note) && state.current) openItem(state.current.itemId);
  });
  $('appeals-refresh').addEventListener('click', () => loadAppeals());
  $('audit-filter').addEventListener('submit', (e) => { e.preventDefault(); loadAudit(); });
  $('report-form').addEventListener('submit', (e) => { e.preventDefault(); loadReport(); });
  setInterval(updateLease, 1000);
}
