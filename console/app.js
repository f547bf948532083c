// Entry point: sign-in, the reviewer and member views, keyboard dispatch.

import { api, signIn, signOut, ApiError } from './api.js';
import { $, fill, typing } from './render.js';
import * as review from './review.js';
import * as member from './member.js';

let role = null;

// Anything the policy blocks is counted where tests (and a curious reviewer) can see it:
// on a page that never builds HTML from strings this stays 0.
let violations = 0;
document.addEventListener('securitypolicyviolation', () => {
  violations += 1;
  document.body.dataset.cspViolations = String(violations);
});

async function onSignIn(event) {
  event.preventDefault();
  const chosen = $('role').value;
  const token = $('token').value.trim();
  fill($('sign-in-error'));
  if (!token) {
    fill($('sign-in-error'), 'Paste a token first.');
    return;
  }
  signIn(token);
  try {
    // A cheap call only this role may make tells a wrong token or role at once.
    await api('GET', chosen === 'reviewer' ? '/v1/review/board?limit=1' : '/v1/folders/inbox?limit=1');
  } catch (error) {
    signOut();
    fill($('sign-in-error'), error instanceof ApiError && error.status === 401
      ? `That is not a ${chosen} token.`
      : `Could not sign in: ${error.message}`);
    return;
  }
  $('token').value = '';
  role = chosen;
  $('sign-in').hidden = true;
  $('sign-out').hidden = false;
  fill($('who'), `signed in as ${role}`);
  document.body.dataset.role = role;
  $(role).hidden = false;
  if (role === 'reviewer') review.start();
  else member.start();
}

async function onSignOut() {
  if (role === 'reviewer') {
    await review.commitPending();
    review.stop();
  } else if (role === 'member') {
    member.stop();
  }
  signOut();
  if (role) $(role).hidden = true;
  role = null;
  delete document.body.dataset.role;
  fill($('who'));
  $('sign-out').hidden = true;
  $('sign-in').hidden = false;
  $('token').focus();
}

function onKey(event) {
  if (!role || event.ctrlKey || event.metaKey || event.altKey) return;
  if (typing(event)) {
    if (event.key === 'Escape') event.target.blur();
    return;
  }
  // Enter on a focused button is that button's click, not a console key.
  if (event.key === 'Enter' && event.target instanceof HTMLButtonElement) return;
  if (event.key === '?') {
    $('help').hidden = !$('help').hidden;
    event.preventDefault();
    return;
  }
  if (event.key === 'Escape') {
    $('help').hidden = true;
    return;
  }
  const handled = role === 'reviewer' ? review.onKey(event) : member.onKey(event);
  if (handled) event.preventDefault();
}

review.wire();
member.wire();
$('sign-in-form').addEventListener('submit', onSignIn);
$('sign-out').addEventListener('click', onSignOut);
$('help-close').addEventListener('click', () => { $('help').hidden = true; });
document.addEventListener('keydown', onKey);
// A staged decision still goes out when the page is closed (keepalive outlives the page).
window.addEventListener('pagehide', () => {
  if (role === 'reviewer') review.commitPending({ keepalive: true });
});
document.body.dataset.ready = 'yes';
$('token').focus();
