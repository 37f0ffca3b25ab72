// Insights dashboard: plain ES2017, no framework, no build step. Chart.js (global `Chart`) is
// served by the front from Debian's libjs-chart.js at /vendor/chart.min.js; util.js (formatting),
// charts.js (the three charts), alerts.js (alerts, live card, rules), depth.js (quality, system,
// intents, workflows), paths.js (intent paths, funnel) and breakdown.js (the breakdown switch) are
// loaded before this file.
//
// State lives in the URL (?agent=…&timeframe=…&session=…) so a view can be shared; `refresh`
// (seconds, default 5) and `cost` (cost per human-handled conversation, default the API's 5.0)
// are optional. Every few seconds the page re-reads the API and updates text and charts in
// place (no reload, no animation); it says when the data was last updated and when the service
// cannot be reached. An API key (when the service asks for one with a 401) is kept in
// sessionStorage only and sent as `Authorization: Bearer <key>`.
'use strict';

(function () {
  const TIMEFRAMES = {
    '24h': { ms: 86400000, interval: 'hour', label: '24 hours' },
    '7d': { ms: 7 * 86400000, interval: 'hour', label: '7 days' },
    '30d': { ms: 30 * 86400000, interval: 'day', label: '30 days' },
    '90d': { ms: 90 * 86400000, interval: 'day', label: '90 days' },
  };
  const DEFAULT_TIMEFRAME = '7d';
  const KEY_STORAGE = 'insights.apiKey';

  const { $, setText, fmt, intFmt, moneyFmt, clock, dateLabel, pad } = window.InsightsUtil;
  const charts = window.InsightsCharts;
  const alerts = window.InsightsAlerts;
  const depth = window.InsightsDepth;
  const paths = window.InsightsPaths;
  const breakdown = window.InsightsBreakdown;
  const params = new URLSearchParams(window.location.search);

  function refreshSeconds() {
    const fromURL = parseFloat(params.get('refresh'));
    const fromBody = parseFloat(document.body.dataset.refresh);
    const v = Number.isFinite(fromURL) ? fromURL : (Number.isFinite(fromBody) ? fromBody : 5);
    return Math.min(Math.max(v, 0.5), 3600);
  }

  const state = {
    agent: params.get('agent') || '',
    timeframe: TIMEFRAMES[params.get('timeframe')] ? params.get('timeframe') : DEFAULT_TIMEFRAME,
    session: params.get('session') || '',
    cost: params.get('cost'),
    refreshMs: refreshSeconds() * 1000,
    agents: null,
    generation: 0,       // bumped on every view change: answers for an older view are dropped
    inFlight: false,
    again: false,
    timer: null,
    waitingForKey: false,
    lastUpdate: null,
    failingSince: null,
  };

  // ---------- URL ----------

  function writeURL() {
    const p = new URLSearchParams(window.location.search);
    if (state.agent) p.set('agent', state.agent); else p.delete('agent');
    p.set('timeframe', state.timeframe);
    if (state.session) p.set('session', state.session); else p.delete('session');
    const url = window.location.pathname + '?' + p.toString();
    if (url !== window.location.pathname + window.location.search) window.history.replaceState(null, '', url);
  }

  // ---------- API ----------

  class HTTPProblem extends Error {
    constructor(kind, status, message, detail) {
      super(message);
      this.kind = kind;       // 'unreachable' | 'auth' | 'forbidden' | 'unavailable' | 'http'
      this.status = status;
      this.detail = detail || '';
    }
  }

  // GET by default; `options.method` and a JSON `options.body` for the rules panel (alerts.js).
  async function api(path, options) {
    const opts = options || {};
    const headers = { Accept: 'application/json' };
    if (opts.body !== undefined) headers['Content-Type'] = 'application/json';
    const key = window.sessionStorage.getItem(KEY_STORAGE);
    if (key) headers.Authorization = 'Bearer ' + key;
    // A request that hangs must not stall the refresh loop: abort it after a while.
    const abort = new AbortController();
    const timer = setTimeout(() => abort.abort(), Math.max(10000, 2 * state.refreshMs));
    let res;
    let body = null;
    try {
      try {
        res = await fetch(path, { method: opts.method || 'GET', headers: headers, cache: 'no-store', signal: abort.signal,
          body: opts.body !== undefined ? JSON.stringify(opts.body) : undefined });
      } catch (e) {
        throw new HTTPProblem('unreachable', 0, abort.signal.aborted ? 'no answer in time' : 'network error: ' + e.message);
      }
      try { body = await res.json(); } catch (e) { body = null; }
    } finally {
      clearTimeout(timer);
    }
    if (res.ok) {
      if (res.status === 204) return null;
      if (body === null) throw new HTTPProblem('http', res.status, 'the service answered something that is not JSON');
      return body;
    }
    const error = (body && body.error) || res.statusText || ('HTTP ' + res.status);
    const detail = (body && body.detail) || '';
    if (res.status === 401) {
      if (key) window.sessionStorage.removeItem(KEY_STORAGE);
      throw new HTTPProblem('auth', 401, key ? 'refused' : 'required', detail || error);
    }
    if (res.status === 403) throw new HTTPProblem('forbidden', 403, error, detail);
    if (res.status === 503) throw new HTTPProblem('unavailable', 503, error, detail);
    throw new HTTPProblem('http', res.status, error, detail);
  }

  // ---------- cards ----------

  // better: 'up' (a rise is good), 'down' (a fall is good) or null (neither).
  const CARDS = [
    { id: 'conversations', title: 'Conversations', value: (o) => o.conversation_metrics.total_conversations, format: fmt.int, change: 'total_conversations', better: 'up' },
    { id: 'avg-length', title: 'Average length', value: (o) => o.conversation_metrics.avg_conversation_length, format: fmt.length, change: 'avg_conversation_length', better: null },
    { id: 'completion', title: 'Workflow completion', value: (o) => o.conversation_metrics.completion_rate, format: fmt.pct, change: 'completion_rate', better: 'up' },
    { id: 'avg-rt', title: 'Avg response time', value: (o) => o.conversation_metrics.avg_response_time_ms, format: fmt.ms, change: 'avg_response_time_ms', better: 'down' },
    { id: 'p95-rt', title: 'p95 response time', value: (o) => o.conversation_metrics.p95_response_time_ms, format: fmt.ms, change: 'p95_response_time_ms', better: 'down' },
    { id: 'automation', title: 'Automation rate', value: (o) => o.automation_rate, format: fmt.pct, change: 'automation_rate', better: 'up' },
    { id: 'fallback', title: 'Fallback rate', value: (o) => o.nlu_metrics.fallback_rate, format: fmt.pct, change: 'fallback_rate', better: 'down' },
    { id: 'savings', title: 'Cost savings', value: (o) => (o.cost_savings ? o.cost_savings.cost_savings : 0), format: fmt.money, change: 'cost_savings', better: 'up' },
  ];

  function buildCards() {
    const ul = $('cards');
    for (const c of CARDS) {
      const li = document.createElement('li');
      li.className = 'card';
      li.id = 'card-' + c.id;
      li.innerHTML = '<h3 class="card-title"></h3><p class="value"><span class="num">–</span><span class="unit"></span></p>' +
        '<p class="change none"><span class="mark" aria-hidden="true"></span> <span class="pct"></span>' +
        '<span class="visually-hidden sr"></span> <span class="vs"></span></p>';
      li.querySelector('.card-title').textContent = c.title;
      ul.appendChild(li);
    }
  }


  function renderCards(o) {
    const tfLabel = TIMEFRAMES[state.timeframe].label;
    for (const c of CARDS) {
      const li = $('card-' + c.id);
      const v = Number(c.value(o)) || 0;
      const value = li.querySelector('.value');
      const [num, unit] = c.format(v);
      setText(value.querySelector('.num'), num);
      setText(value.querySelector('.unit'), unit ? ' ' + unit : '');
      value.dataset.value = String(v);
      const change = o.changes ? o.changes[c.change] : null;
      const p = li.querySelector('.change');
      let cls, mark, pct, sr;
      if (change === null || change === undefined || !Number.isFinite(change)) {
        cls = 'none'; mark = ''; pct = 'no data for the previous ' + tfLabel; sr = '';
      } else {
        const dir = change > 0 ? 'up' : (change < 0 ? 'down' : 'flat');
        const verdict = dir === 'flat' || !c.better ? 'neutral' : (dir === c.better ? 'good' : 'bad');
        cls = dir + ' ' + verdict;
        mark = dir === 'up' ? '▲' : (dir === 'down' ? '▼' : '■');
        pct = Math.abs(change).toFixed(1) + '%';
        sr = (dir === 'up' ? ' up' : dir === 'down' ? ' down' : ' no change') +
          (verdict === 'good' ? ' (better)' : verdict === 'bad' ? ' (worse)' : '');
      }
      const className = 'change ' + cls;
      if (p.className !== className) p.className = className;
      p.dataset.change = change === null || change === undefined ? '' : String(change);
      setText(p.querySelector('.mark'), mark);
      setText(p.querySelector('.pct'), pct);
      setText(p.querySelector('.sr'), sr);
      setText(p.querySelector('.vs'), cls === 'none' ? '' : 'vs previous ' + tfLabel);
    }
    const cs = o.cost_savings;
    if (cs) {
      li_sub('savings', moneyFmt.format(cs.cost_per_interaction) + ' × ' + intFmt.format(cs.automated_conversations) +
        ' automated of ' + intFmt.format(cs.total_conversations) + ' finished');
    }
  }

  function li_sub(id, text) {
    const li = $('card-' + id);
    let s = li.querySelector('.card-sub');
    if (!s) {
      s = document.createElement('p');
      s.className = 'card-sub';
      li.appendChild(s);
    }
    setText(s, text);
  }

  // ---------- journey ----------

  function renderJourney(j) {
    const ol = $('journey-timeline');
    const key = JSON.stringify(j);
    if (ol.dataset.key === key) return;
    ol.dataset.key = key;
    ol.textContent = '';
    for (const e of j.journey) {
      const li = document.createElement('li');
      li.className = 'event type-' + e.type;
      const t = document.createElement('time');
      t.dateTime = e.timestamp;
      const d = new Date(e.timestamp);
      const day = d.toDateString() === new Date().toDateString() ? '' : dateLabel(d) + ' ';
      t.textContent = day + clock(d) + '.' + pad(d.getMilliseconds(), 3);
      t.title = d.toLocaleString('en-US');
      const type = document.createElement('span');
      type.className = 'ev-type';
      type.textContent = e.type.replace(/_/g, ' ');
      li.append(t, ' ', type);
      if (e.intent) {
        const s = document.createElement('span');
        s.className = 'ev-intent';
        s.textContent = 'intent: ' + e.intent;
        li.append(' ', s);
      }
      if (e.response_time_ms !== undefined && e.response_time_ms !== null) {
        const s = document.createElement('span');
        s.className = 'ev-rt';
        s.textContent = intFmt.format(e.response_time_ms) + ' ms';
        li.append(' ', s);
      }
      ol.appendChild(li);
    }
    setText($('journey-message'), 'Session ' + j.session_id + ' of ' + j.agent_id + ': ' + j.journey.length +
      (j.journey.length === 1 ? ' event' : ' events') + '.');
  }

  async function loadJourney(generation) {
    const sid = state.session;
    if (!sid || state.journeyMissing === sid) return;  // not found: looked up again only on request
    try {
      const j = await api('/api/v1/analytics/users/journey/' + encodeURIComponent(sid) + '?agent_id=' + encodeURIComponent(state.agent));
      if (generation === state.generation && sid === state.session) renderJourney(j);
    } catch (e) {
      if (e.kind === 'http' && e.status === 404) {
        if (generation !== state.generation || sid !== state.session) return;
        state.journeyMissing = sid;
        const ol = $('journey-timeline');
        ol.textContent = '';
        ol.dataset.key = '';
        setText($('journey-message'), 'No journey for session ' + sid + ' of agent ' + state.agent +
          ' (yet: a journey appears once a worker has applied its events; look it up again in a moment).');
        return;
      }
      throw e;
    }
  }

  // ---------- status ----------

  function showOnly(section) {
    $('dashboard').hidden = section !== 'dashboard';
    $('empty').hidden = section !== 'empty';
    $('auth').hidden = section !== 'auth';
  }

  function markOk() {
    state.lastUpdate = new Date();
    state.failingSince = null;
    $('offline').hidden = true;
    document.body.classList.remove('stale');
    $('status-dot').className = 'dot ok';
    const upd = $('updated');
    upd.textContent = '';
    const t = document.createElement('time');
    t.id = 'last-updated';
    t.dateTime = state.lastUpdate.toISOString();
    t.textContent = clock(state.lastUpdate);
    upd.append('Live · updated ', t, ' · every ' + state.refreshMs / 1000 + ' s');
  }

  function markFailure(e) {
    if (!state.failingSince) state.failingSince = new Date();
    const banner = $('offline');
    const since = clock(state.failingSince);
    const shown = state.lastUpdate ? 'Showing data from ' + clock(state.lastUpdate) + '.' : 'No data received yet.';
    let text;
    if (e.kind === 'unreachable') {
      text = 'Cannot reach the Insights service (since ' + since + '). ' + shown + ' Retrying every ' + state.refreshMs / 1000 + ' s.';
    } else if (e.kind === 'unavailable') {
      text = 'The Insights service cannot reach its Redis database (since ' + since + '): ' + (e.detail || e.message) + '. ' + shown + ' Retrying.';
    } else {
      text = 'The Insights service answered with an error (' + e.status + ' ' + e.message + (e.detail ? ': ' + e.detail : '') + '). ' + shown;
    }
    setText(banner, text);
    banner.hidden = false;
    document.body.classList.add('stale');
    $('status-dot').className = 'dot down';
    setText($('updated'), state.lastUpdate ? 'Not updated since ' + clock(state.lastUpdate) : 'Not connected');
  }

  function askForKey(reason) {
    state.waitingForKey = true;
    showOnly('auth');
    setText($('auth-message'), reason === 'refused'
      ? 'That API key was refused. Enter a valid key to read this service’s analytics.'
      : 'This service asks for an API key to read its analytics.');
    $('status-dot').className = 'dot down';
    setText($('updated'), 'Waiting for an API key');
    $('api-key').focus();
  }

  // ---------- agents ----------

  function renderAgents(agents) {
    const sel = $('agent');
    const key = agents.join('\n');
    if (sel.dataset.key !== key) {
      sel.dataset.key = key;
      sel.textContent = '';
      for (const a of agents) {
        const o = document.createElement('option');
        o.value = a;
        o.textContent = a;
        sel.appendChild(o);
      }
      if (!agents.length) {
        const o = document.createElement('option');
        o.value = '';
        o.textContent = 'No agents yet';
        sel.appendChild(o);
      }
    }
    sel.disabled = agents.length === 0;
    if (sel.value !== state.agent && agents.includes(state.agent)) sel.value = state.agent;
  }

  // ---------- refresh loop ----------

  function isoNoMs(ms) { return new Date(ms).toISOString(); }

  async function refresh() {
    if (state.waitingForKey) return;
    if (state.inFlight) { state.again = true; return; }
    state.inFlight = true;
    clearTimeout(state.timer);
    const generation = state.generation;
    try {
      const agents = (await api('/api/v1/agents')).agents || [];
      state.agents = agents;
      renderAgents(agents);
      if (!agents.length) {
        $('denied').hidden = true;
        showOnly('empty');
        setText($('empty-example'), $('empty-example').textContent.replace('http://HOST', window.location.origin));
        markOk();
        return;
      }
      if (!agents.includes(state.agent)) {
        state.agent = agents[0];
        $('agent').value = state.agent;
        writeURL();
      }
      const agent = encodeURIComponent(state.agent);
      const tf = TIMEFRAMES[state.timeframe];
      const now = Date.now();
      const win = '&start_date=' + encodeURIComponent(isoNoMs(now - tf.ms)) + '&end_date=' + encodeURIComponent(isoNoMs(now));
      const cost = state.cost !== null && state.cost !== '' ? '&cost_per_interaction=' + encodeURIComponent(state.cost) : '';
      const [overview, ts, drop, , alerting, deep, walked, split] = await Promise.all([
        api('/api/v1/analytics/dashboard/overview?agent_id=' + agent + '&timeframe=' + state.timeframe + cost + breakdown.filterParam()),
        api('/api/v1/analytics/conversations/timeseries?agent_id=' + agent + win + '&interval=' + tf.interval),
        api('/api/v1/analytics/users/drop-off?agent_id=' + agent + win),
        loadJourney(generation),
        alerts.load(state.agent, { startMs: now - tf.ms, endMs: now }),
        depth.load(state.agent, { startMs: now - tf.ms, endMs: now }),
        paths.load(state.agent, { startMs: now - tf.ms, endMs: now }),
        breakdown.load(state.agent, { startMs: now - tf.ms, endMs: now }),
      ]);
      if (generation !== state.generation) return;  // the view changed meanwhile: redrawn right after
      $('denied').hidden = true;
      showOnly('dashboard');
      renderCards(overview);
      const anomalies = alerts.render(alerting);
      depth.render(deep);
      paths.render(walked);
      breakdown.render(split);
      charts.renderTrend(ts, alerts.marks(anomalies, ts.points.map((p) => p.date), ts.interval), anomalies !== null);
      charts.renderIntents(overview.nlu_metrics);
      charts.renderDropOff(drop);
      document.body.dataset.loaded = state.agent + '/' + state.timeframe;
      markOk();
    } catch (e) {
      if (!(e instanceof HTTPProblem)) {
        console.error('dashboard refresh failed', e);  // a bug of the page (the browser tests fail on it): keep going
        return;
      }
      if (e.kind === 'auth') { askForKey(e.message); return; }
      if (e.kind === 'forbidden') {
        setText($('denied-text'), (state.agent ? 'This API key may not read agent “' + state.agent + '”.' : 'This API key may not read this service’s analytics.') +
          (e.detail ? ' The service says: ' + e.detail + '.' : '') + ' Choose another agent or use another key.');
        $('denied').hidden = false;
        $('dashboard').hidden = true;
        return;
      }
      markFailure(e);
    } finally {
      state.inFlight = false;
      if (state.again) { state.again = false; refresh(); } else if (!state.waitingForKey) schedule();
    }
  }

  function schedule() {
    clearTimeout(state.timer);
    state.timer = setTimeout(refresh, state.refreshMs);
  }

  function viewChanged() {
    state.generation += 1;
    writeURL();
    refresh();
  }

  // ---------- wiring ----------

  function init() {
    if (typeof Chart === 'undefined') {
      const b = $('offline');
      b.textContent = 'The chart library (/vendor/chart.min.js) could not be loaded; install libjs-chart.js on the server.';
      b.hidden = false;
      return;
    }
    charts.setup();
    alerts.setup(api, viewChanged);
    depth.setup(api, viewChanged);
    paths.setup(api, viewChanged);
    breakdown.setup(api, viewChanged);
    buildCards();
    document.querySelector('input[name="timeframe"][value="' + state.timeframe + '"]').checked = true;
    $('session-id').value = state.session;

    $('agent').addEventListener('change', (ev) => {
      state.agent = ev.target.value;
      state.journeyMissing = null;
      const ol = $('journey-timeline');
      ol.textContent = '';
      ol.dataset.key = '';
      setText($('journey-message'), '');
      viewChanged();
    });
    for (const r of document.querySelectorAll('input[name="timeframe"]')) {
      r.addEventListener('change', (ev) => {
        if (!ev.target.checked) return;
        state.timeframe = ev.target.value;
        viewChanged();
      });
    }
    $('journey-form').addEventListener('submit', (ev) => {
      ev.preventDefault();
      state.session = $('session-id').value.trim();
      state.journeyMissing = null;
      if (!state.session) return;
      setText($('journey-message'), 'Looking up session ' + state.session + '…');
      viewChanged();
    });
    $('other-key').addEventListener('click', () => {
      window.sessionStorage.removeItem(KEY_STORAGE);
      $('denied').hidden = true;
      askForKey('required');
    });
    $('auth-form').addEventListener('submit', (ev) => {
      ev.preventDefault();
      const key = $('api-key').value.trim();
      if (!key) return;
      window.sessionStorage.setItem(KEY_STORAGE, key);
      $('api-key').value = '';
      state.waitingForKey = false;
      $('auth').hidden = true;
      setText($('updated'), 'Connecting…');
      refresh();
    });
    writeURL();
    refresh();
  }

  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', init); else init();
})();
