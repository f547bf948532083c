// Talking to the server. The token lives in this module's memory only: never in storage,
// cookies or a URL, so a reload signs out and nothing outlives the tab. Every request
// carries it in the Authorization header; no cookie is ever sent, so there is nothing for
// another site to forge (no CSRF).

let token = null;

export function signIn(value) {
  token = value;
}

export function signOut() {
  token = null;
}

export function signedIn() {
  return token !== null;
}

/** An API error: the server's `{error: {code, message, field, limit}}`. */
export class ApiError extends Error {
  constructor(status, error) {
    super(error.message || `HTTP ${status}`);
    this.status = status;
    this.code = error.code || 'http_error';
    this.field = error.field;
    this.limit = error.limit;
  }
}

function headers(extra) {
  const h = new Headers(extra || {});
  if (token !== null) h.set('Authorization', `Bearer ${token}`);
  return h;
}

/** Calls a JSON route; answers the parsed body (null for 204), throws ApiError. */
export async function api(method, path, body, options) {
  const init = { method, headers: headers(), cache: 'no-store', credentials: 'omit' };
  if (body !== undefined) {
    init.headers.set('Content-Type', 'application/json');
    init.body = JSON.stringify(body);
  }
  if (options && options.keepalive) init.keepalive = true;
  const response = await fetch(path, init);
  const text = await response.text();
  let value = null;
  if (text) {
    try {
      value = JSON.parse(text);
    } catch {
      value = { text };
    }
  }
  if (!response.ok) {
    throw new ApiError(response.status, (value && value.error) || { message: text });
  }
  return value;
}

/** Fetches a route's body as text (the HTML report). */
export async function apiText(path) {
  const response = await fetch(path, { headers: headers(), cache: 'no-store', credentials: 'omit' });
  const text = await response.text();
  if (!response.ok) {
    let error = { message: text };
    try {
      error = JSON.parse(text).error || error;
    } catch {
      /* not JSON */
    }
    throw new ApiError(response.status, error);
  }
  return text;
}

/** `?a=1&b=2` from an object, leaving out empty values. */
export function query(params) {
  const q = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    if (value !== undefined && value !== null && value !== '') q.set(key, String(value));
  }
  const s = q.toString();
  return s ? `?${s}` : '';
}

/**
 * Follows the member's server-sent events. EventSource cannot send an Authorization
 * header (and a token in the URL would end up in logs and history), so the stream is read
 * with fetch(): the response body, decoded and split into events by blank lines.
 * Reconnects with a growing delay until `signal` aborts.
 */
export async function followEvents(onEvent, onState, signal) {
  let delay = 500;
  while (!signal.aborted) {
    try {
      const response = await fetch('/v1/events', {
        headers: headers({ Accept: 'text/event-stream' }),
        cache: 'no-store',
        credentials: 'omit',
        signal,
      });
      if (!response.ok || !response.body) throw new Error(`events: HTTP ${response.status}`);
      onState('live');
      delay = 500;
      const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
      let buffer = '';
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += value.replace(/\r\n?/g, '\n');
        let end;
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const event = parseEvent(block);
          if (event) onEvent(event);
        }
      }
    } catch (error) {
      if (signal.aborted) return;
    }
    onState('reconnecting');
    await new Promise((resolve) => setTimeout(resolve, delay));
    delay = Math.min(delay * 2, 15000);
  }
}

function parseEvent(block) {
  let kind = 'message';
  const data = [];
  for (const line of block.split('\n')) {
    if (line.startsWith(':')) continue; // keep-alive comment
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'event') kind = value;
    else if (field === 'data') data.push(value);
  }
  if (data.length === 0) return null;
  let parsed;
  try {
    parsed = JSON.parse(data.join('\n'));
  } catch {
    parsed = data.join('\n');
  }
  return { kind, data: parsed };
}
