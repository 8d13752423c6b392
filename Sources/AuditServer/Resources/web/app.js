// AuditTrail — web page
// SPDX-License-Identifier: Apache-2.0
//
// A front end to /v1/calls and /v1/calls/{id}. It holds no data of its own: every list and
// detail is a fetch with the caller's token, so it shows exactly what the API lets the token
// see. Data reaches the DOM only as text (textContent, createElement), never as markup.
'use strict';

(() => {
  const tokenKey = 'auditTrail.token';
  const byId = (id) => document.getElementById(id);

  // The list's state: the cursor each visited page started after (null for the first page).
  const state = { query: null, cursors: [null], page: 0, next: null };

  function token() { return sessionStorage.getItem(tokenKey); }

  // --- Messages ---

  function showMessage(text, kind) {
    const box = byId('message');
    box.textContent = text;
    box.className = kind || 'error';
    box.hidden = false;
  }

  function clearMessage() {
    const box = byId('message');
    box.hidden = true;
    box.textContent = '';
  }

  // --- Requests ---

  class APIError extends Error {
    constructor(status, message) {
      super(message);
      this.status = status;
    }
  }

  async function api(path, parameters) {
    // Percent-encoded (a space as %20): the server decodes RFC 3986 escapes, not a form's `+`.
    const query = (parameters || []).map(([name, value]) => `${encodeURIComponent(name)}=${encodeURIComponent(value)}`);
    const url = query.length ? `${path}?${query.join('&')}` : path;
    const response = await fetch(url, { headers: { 'X-Auth-Token': token() || '', Accept: 'application/json' } });
    const text = await response.text();
    let body = null;
    try { body = JSON.parse(text); } catch (_) { body = null; }
    if (!response.ok) {
      const detail = body && body.error && body.error.message ? body.error.message : text;
      throw new APIError(response.status, detail);
    }
    return body;
  }

  function report(error) {
    if (error instanceof APIError && error.status === 401) {
      // The token is unknown or expired: forget it and ask again.
      sessionStorage.removeItem(tokenKey);
      showSignedOut();
      showMessage(`401 Unauthorized: ${error.message}. Sign in with a valid token.`);
    } else if (error instanceof APIError && error.status === 403) {
      showMessage(`403 Forbidden: ${error.message}.`);
    } else if (error instanceof APIError) {
      showMessage(`${error.status}: ${error.message}`);
    } else {
      showMessage(`The request failed: ${error.message}`);
    }
  }

  // --- Signing in and out ---

  function showSignedOut() {
    byId('login').hidden = false;
    byId('main').hidden = true;
    byId('session').hidden = true;
    byId('token').value = '';
    byId('token').focus();
  }

  function showSignedIn() {
    byId('login').hidden = true;
    byId('main').hidden = false;
    byId('session').hidden = false;
    byId('session-scope').textContent = 'Signed in';
  }

  function signIn(event) {
    event.preventDefault();
    const value = byId('token').value.trim();
    if (!value) return;
    sessionStorage.setItem(tokenKey, value);
    clearMessage();
    showSignedIn();
    showStart();
  }

  function signOut() {
    sessionStorage.removeItem(tokenKey);
    clearMessage();
    clearTable();
    byId('filters').reset();
    showList();
    showSignedOut();
  }

  // --- The list ---

  // The filters as /v1/calls parameters, in form order; empty fields are left out.
  function filterParameters() {
    const form = byId('filters');
    const parameters = [];
    for (const element of form.elements) {
      if (!element.name) continue;
      if (element.type === 'checkbox') {
        parameters.push([element.name, element.checked ? 'true' : 'false']);
      } else if (element.value.trim() !== '') {
        parameters.push([element.name, element.value.trim()]);
      }
    }
    return parameters;
  }

  function search(event) {
    if (event) event.preventDefault();
    state.query = filterParameters();
    state.cursors = [null];
    state.page = 0;
    return loadPage();
  }

  // The first page, then the call the address names, if any (one request at a time).
  function showStart() {
    const linked = linkedCall();
    search().then(() => { if (linked !== null && token()) openCall(linked, false); });
  }

  async function loadPage() {
    const parameters = state.query.slice();
    const after = state.cursors[state.page];
    if (after !== null) parameters.push(['after', after]);
    setBusy(true);
    try {
      const body = await api('/v1/calls', parameters);
      clearMessage();
      state.next = body.next;
      renderCalls(body.calls);
      showList();
    } catch (error) {
      report(error);
    } finally {
      setBusy(false);
    }
  }

  function setBusy(busy) {
    document.body.classList.toggle('busy', busy);
    byId('search').disabled = busy;
    byId('previous').disabled = busy || state.page === 0;
    byId('next').disabled = busy || state.next === null;
  }

  function nextPage() {
    if (state.next === null) return;
    state.cursors[state.page + 1] = state.next;
    state.page += 1;
    loadPage();
  }

  function previousPage() {
    if (state.page === 0) return;
    state.page -= 1;
    loadPage();
  }

  function clearTable() {
    byId('calls').tBodies[0].replaceChildren();
    byId('page-info').textContent = '';
    state.next = null;
  }

  function cell(row, text, className) {
    const td = document.createElement('td');
    td.textContent = text === null || text === undefined ? '' : String(text);
    if (className) td.className = className;
    // A cut-off value is shown whole on hover.
    if (className && className.includes('ellipsis')) td.title = td.textContent;
    row.appendChild(td);
    return td;
  }

  // The outcome as a badge; an orphan or pending call says so beside it.
  function outcomeBadge(call) {
    const badge = document.createElement('span');
    const outcome = call.outcome || 'unknown';
    const known = ['success', 'failure', 'pending', 'unknown'].includes(outcome) ? outcome : 'other';
    badge.className = `badge outcome-${known}`;
    badge.textContent = outcome;
    return badge;
  }

  function stateNote(call) {
    if (call.state === 'pair') return null;
    const note = document.createElement('span');
    note.className = 'badge state';
    note.textContent = { orphanRequest: 'orphan request', orphanResponse: 'orphan response' }[call.state] || call.state;
    return note;
  }

  function time(text) { return text ? text.replace('T', ' ').replace('Z', '') : ''; }

  function latency(ms) {
    return ms === null || ms === undefined ? '—' : `${Number(ms).toLocaleString('en', { maximumFractionDigits: 1 })} ms`;
  }

  function renderCalls(calls) {
    const body = byId('calls').tBodies[0];
    const rows = calls.map((call) => {
      const row = document.createElement('tr');
      row.dataset.id = call.id;
      row.tabIndex = 0;
      row.title = `Call ${call.id}`;
      cell(row, time(call.eventTime), 'time');
      const outcome = cell(row, '');
      outcome.appendChild(outcomeBadge(call));
      const note = stateNote(call);
      if (note) outcome.appendChild(note);
      cell(row, call.status, 'number status');
      cell(row, call.action);
      cell(row, call.initiatorName || call.initiatorId);
      cell(row, call.targetId, 'ellipsis');
      cell(row, call.requestPath, 'ellipsis path');
      cell(row, latency(call.latencyMs), 'number latency');
      cell(row, call.publisher);
      cell(row, call.projectId, 'ellipsis project');
      row.addEventListener('click', () => openCall(call.id));
      row.addEventListener('keydown', (event) => { if (event.key === 'Enter') openCall(call.id); });
      return row;
    });
    body.replaceChildren(...rows);
    byId('empty').hidden = calls.length !== 0;
    const first = state.page * Number(byId('filters').elements.limit.value);
    byId('page-info').textContent = calls.length === 0
      ? `Page ${state.page + 1}`
      : `Page ${state.page + 1} · calls ${first + 1}–${first + calls.length}`;
  }

  // --- One call ---

  function showList() {
    byId('detail').hidden = true;
    byId('list').hidden = false;
    if (linkedCall() !== null) history.replaceState(null, '', window.location.pathname + window.location.search);
  }

  // An open call is in the address (`#call/ID`), so it can be linked to and the browser's back
  // button returns to the list; whoever opens a link signs in with their own token.
  function linkedCall() {
    const match = /^#call\/(.+)$/.exec(window.location.hash);
    return match ? decodeURIComponent(match[1]) : null;
  }

  function source(half) {
    if (!half) return 'not stored';
    let text = `Kafka ${half.topic} partition ${half.partition} offset ${half.offset}`;
    if (half.origin) text += ` (re-keyed from ${half.origin.topic} partition ${half.origin.partition} offset ${half.origin.offset})`;
    return text;
  }

  function pretty(value) {
    if (value === null || value === undefined) return '(not stored)';
    if (typeof value === 'string') {
      try { return JSON.stringify(JSON.parse(value), null, 2); } catch (_) { return value; }
    }
    return JSON.stringify(value, null, 2);
  }

  function field(list, name, value) {
    const term = document.createElement('dt');
    term.textContent = name;
    const description = document.createElement('dd');
    if (value instanceof Node) description.appendChild(value); else description.textContent = value === null || value === undefined ? '—' : String(value);
    list.append(term, description);
  }

  async function openCall(id, push = true) {
    setBusy(true);
    try {
      const body = await api(`/v1/calls/${encodeURIComponent(id)}`, projectParameter());
      clearMessage();
      renderCall(body);
      byId('list').hidden = true;
      byId('detail').hidden = false;
      byId('back').focus();
      if (linkedCall() !== id) history[push ? 'pushState' : 'replaceState'](null, '', `#call/${encodeURIComponent(id)}`);
    } catch (error) {
      report(error);
    } finally {
      setBusy(false);
    }
  }

  // A cloud admin's project choice applies to the detail too (the API checks it).
  function projectParameter() {
    return (state.query || []).filter(([name]) => name === 'project_id');
  }

  function renderCall(body) {
    const call = body.call;
    byId('detail-id').textContent = call.id;
    const fields = byId('detail-fields');
    fields.replaceChildren();
    const outcome = document.createElement('span');
    outcome.appendChild(outcomeBadge(call));
    const note = stateNote(call);
    if (note) outcome.appendChild(note);
    field(fields, 'Outcome', outcome);
    field(fields, 'Status', call.status);
    field(fields, 'Latency', latency(call.latencyMs));
    field(fields, 'Time (UTC)', time(call.eventTime));
    field(fields, 'Action', call.action);
    field(fields, 'Initiator', [call.initiatorName, call.initiatorId].filter(Boolean).join(' · '));
    field(fields, 'Project', call.projectId);
    field(fields, 'Target', [call.targetTypeURI, call.targetId].filter(Boolean).join(' · '));
    field(fields, 'Path', call.requestPath);
    field(fields, 'Publisher', call.publisher);

    const logs = byId('detail-logs');
    logs.replaceChildren(...body.logs.map((log) => {
      const item = document.createElement('li');
      const badge = document.createElement('span');
      badge.className = log.verifies ? 'badge verified' : 'badge unverified';
      badge.textContent = log.verifies ? 'verified' : 'does not verify';
      item.append(badge, ` log ${log.topic} partition ${log.partition}`);
      if (log.findings.length) {
        const findings = document.createElement('ul');
        findings.replaceChildren(...log.findings.map((finding) => {
          const line = document.createElement('li');
          line.textContent = finding;
          return line;
        }));
        item.appendChild(findings);
      }
      return item;
    }));

    const copies = byId('detail-copies');
    copies.replaceChildren(...body.copies.map((copy) => {
      const item = document.createElement('li');
      item.textContent = `${source(copy)}${copy.conflict ? ' — conflict: other bytes under the same id' : ' — a redelivery'}`;
      return item;
    }));
    byId('detail-copies-box').hidden = body.copies.length === 0;

    for (const [name, half, from] of [['request', call.request, call.requestSource], ['response', call.response, call.responseSource]]) {
      const article = byId(`detail-${name}`);
      article.querySelector('.source').textContent = source(from);
      article.querySelector('pre.stored').textContent = pretty(half);
      // oslo.messaging's envelope (2.0) carries the notification as a JSON string: shown as
      // stored above, and parsed below for reading.
      const inner = half && typeof half['oslo.message'] === 'string' ? pretty(half['oslo.message']) : null;
      article.querySelector('.decoded').hidden = inner === null;
      article.querySelector('.decoded pre').textContent = inner || '';
    }
  }

  // --- Start ---

  function start() {
    byId('login-form').addEventListener('submit', signIn);
    byId('sign-out').addEventListener('click', signOut);
    byId('filters').addEventListener('submit', search);
    byId('clear-filters').addEventListener('click', () => { byId('filters').reset(); search(); });
    byId('next').addEventListener('click', nextPage);
    byId('previous').addEventListener('click', previousPage);
    byId('back').addEventListener('click', showList);
    window.addEventListener('popstate', () => {
      if (!token()) return;
      const linked = linkedCall();
      if (linked !== null) openCall(linked, false); else showList();
    });
    if (token()) {
      showSignedIn();
      showStart();
    } else {
      showSignedOut();
    }
  }

  start();
})();
