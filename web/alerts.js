// Insights dashboard: firing alerts at the top, the live card, anomaly marks for the trend chart,
// and the alert rules panel (create / delete, for keys with the admin scope). docs/alerts.md.
// Loaded after util.js; app.js calls `InsightsAlerts.setup(api)` once and `load(agent, window)`
// on every refresh, then `render(result)` with what it returned.
'use strict';

window.InsightsAlerts = (function () {
  const { $, setText, intFmt, clock } = window.InsightsUtil;
  const METRICS = [
    'fallback_rate', 'low_confidence_rate', 'avg_confidence', 'avg_response_time_ms', 'p95_response_time_ms',
    'completion_rate', 'automation_rate', 'total_conversations', 'total_messages', 'escalations',
    'events:error', 'events:workflow_failed', 'events:api_call',
  ];
  const state = { api: null, agent: '', rulesKey: null, onChange: null };

  function setup(api, onChange) {
    state.api = api;
    state.onChange = onChange;
    const sel = $('rule-metric');
    for (const m of METRICS) {
      const o = document.createElement('option');
      o.value = m;
      o.textContent = m;
      sel.appendChild(o);
    }
    $('rule-condition').addEventListener('change', syncCondition);
    syncCondition();
    $('rule-form').addEventListener('submit', createRule);
  }

  function syncCondition() {
    const anomaly = $('rule-condition').value === 'anomaly';
    $('rule-threshold-field').hidden = anomaly;
    $('rule-threshold').required = !anomaly;
  }

  // A caught problem of one part must not hide the rest: each part resolves to {ok, value|error}.
  function settle(p) { return p.then((value) => ({ ok: true, value }), (error) => ({ ok: false, error })); }

  // Everything the alert parts show for `agent`; `win` = {startMs, endMs, interval} of the trend.
  function load(agent, win) {
    state.agent = agent;
    const a = encodeURIComponent(agent);
    // Anomalies by hour cover at most 30 days (docs/alerts.md): the 90-day view is not marked.
    const scan = win.endMs - win.startMs <= 30 * 86400000
      ? state.api('/api/v1/analytics/anomalies?agent_id=' + a + '&interval=hour&start_date=' +
        encodeURIComponent(new Date(win.startMs).toISOString()) + '&end_date=' + encodeURIComponent(new Date(win.endMs).toISOString()))
      : Promise.resolve(null);
    return Promise.all([
      settle(state.api('/api/v1/alerts?state=firing&agent_id=' + a)),
      settle(state.api('/api/v1/analytics/live?agent_id=' + a)),
      settle(scan),
      settle(state.api('/api/v1/alerts/rules?agent_id=' + a)),
    ]).then(([firing, live, anomalies, rules]) => ({ firing, live, anomalies, rules }));
  }

  // Problems other than a missing scope are the page's: re-thrown so app.js reports them.
  function value(part, allowForbidden) {
    if (part.ok) return part.value;
    if (allowForbidden && part.error && part.error.kind === 'forbidden') return undefined;
    throw part.error;
  }

  function render(r) {
    renderFiring(value(r.firing));
    renderLive(value(r.live));
    renderRules(value(r.rules, true));
    return value(r.anomalies);
  }

  // ---------- firing alerts ----------

  function number(v) { return Number.isInteger(v) ? intFmt.format(v) : v.toFixed(1); }

  function renderFiring(res) {
    const alerts = (res && res.alerts) || [];
    const box = $('alerts-firing');
    const key = JSON.stringify(alerts);
    if (box.dataset.key === key) return;
    box.dataset.key = key;
    const ul = $('alerts-list');
    ul.textContent = '';
    for (const a of alerts) {
      const li = document.createElement('li');
      li.className = 'alert';
      li.dataset.rule = a.rule_id;
      const name = document.createElement('strong');
      name.textContent = a.name;
      const what = a.threshold !== null && a.threshold !== undefined
        ? a.metric + ' ' + number(a.value) + ' (threshold ' + number(a.threshold) + ')'
        : a.metric + ' ' + number(a.value) + ' (baseline ' + number(a.baseline || 0) + ', score ' + (a.score || 0).toFixed(1) + ')';
      const since = document.createElement('time');
      since.dateTime = a.fired_at;
      since.textContent = clock(new Date(a.fired_at));
      li.append(name, ' — ' + what + ' · firing since ', since);
      ul.appendChild(li);
    }
    setText($('alerts-count'), alerts.length === 1 ? '1 alert firing' : alerts.length + ' alerts firing');
    box.hidden = alerts.length === 0;
  }

  // ---------- live card ----------

  function seconds(ms) { return ms >= 120000 ? Math.floor(ms / 60000) + ' min' : Math.round(ms / 1000) + ' s'; }

  function renderLive(l) {
    setText($('live-active'), intFmt.format(l.active_conversations));
    setText($('live-waiting'), intFmt.format(l.waiting_for_bot));
    setText($('live-oldest'), l.oldest_wait_ms === null ? '–' : seconds(l.oldest_wait_ms));
    $('live-oldest').dataset.ms = l.oldest_wait_ms === null ? '' : String(l.oldest_wait_ms);
    setText($('live-events'), intFmt.format(l.events_last_minute));
    const ul = $('live-stuck');
    const key = JSON.stringify(l.stuck_sessions.map((s) => [s.session_id, Math.round(s.waiting_ms / 1000), s.last_event_type]));
    if (ul.dataset.key !== key) {
      ul.dataset.key = key;
      ul.textContent = '';
      for (const s of l.stuck_sessions) {
        const li = document.createElement('li');
        li.dataset.session = s.session_id;
        li.textContent = s.session_id + ' — waiting ' + seconds(s.waiting_ms) + (s.last_event_type ? ', last event ' + s.last_event_type.replace(/_/g, ' ') : '');
        ul.appendChild(li);
      }
    }
    setText($('live-stuck-title'), l.stuck_count
      ? 'Stuck (waiting over ' + l.stuck_after_s + ' s): ' + l.stuck_count + (l.stuck_count > l.stuck_sessions.length ? ', longest ' + l.stuck_sessions.length + ' shown' : '')
      : 'No session waits longer than ' + l.stuck_after_s + ' s.');
  }

  // ---------- rules ----------

  function condition(r) {
    if (r.condition === 'anomaly') return 'anomaly (sensitivity ' + r.sensitivity + ')';
    return r.condition + ' ' + number(r.threshold);
  }

  function renderRules(res) {
    const admin = res !== undefined;
    $('rules-admin').hidden = !admin;
    $('rules-denied').hidden = admin;
    if (!admin) return;
    const rules = res.rules || [];
    const key = JSON.stringify(rules.map((r) => [r.id, r.state, r.name]));
    if (state.rulesKey === key) return;
    state.rulesKey = key;
    const body = $('rules-body');
    body.textContent = '';
    for (const r of rules) {
      const tr = document.createElement('tr');
      tr.dataset.rule = r.id;
      const cells = [r.name, r.metric, condition(r), r.window_minutes + ' min', r.state, r.webhook_url || '—'];
      for (const text of cells) {
        const td = document.createElement('td');
        td.textContent = text;
        tr.appendChild(td);
      }
      const td = document.createElement('td');
      const b = document.createElement('button');
      b.type = 'button';
      b.className = 'secondary delete-rule';
      b.textContent = 'Delete';
      b.setAttribute('aria-label', 'Delete rule ' + r.name);
      b.addEventListener('click', () => deleteRule(r));
      td.appendChild(b);
      tr.appendChild(td);
      body.appendChild(tr);
    }
    $('rules-none').hidden = rules.length > 0;
  }

  function showFormMessage(text, isError) {
    const p = $('rule-message');
    p.className = isError ? 'form-message error' : 'form-message';
    setText(p, text);
  }

  async function createRule(ev) {
    ev.preventDefault();
    const rule = {
      name: $('rule-name').value.trim(), agent_id: state.agent, metric: $('rule-metric').value,
      window_minutes: Number($('rule-window').value), condition: $('rule-condition').value,
    };
    if (rule.condition !== 'anomaly') rule.threshold = Number($('rule-threshold').value);
    const min = $('rule-min-count').value.trim();
    if (min) rule.min_count = Number(min);
    const url = $('rule-webhook').value.trim();
    if (url) rule.webhook_url = url;
    try {
      const created = await state.api('/api/v1/alerts/rules', { method: 'POST', body: rule });
      showFormMessage('Rule “' + created.name + '” created. Its webhook secret (shown only now): ' + created.secret, false);
      $('rule-form').reset();
      syncCondition();
      state.rulesKey = null;
      state.onChange();
    } catch (e) {
      showFormMessage('Not created: ' + e.message + (e.detail ? ' — ' + e.detail : ''), true);
    }
  }

  async function deleteRule(r) {
    try {
      await state.api('/api/v1/alerts/rules/' + encodeURIComponent(r.id), { method: 'DELETE' });
      showFormMessage('Rule “' + r.name + '” deleted.', false);
    } catch (e) {
      showFormMessage('Not deleted: ' + e.message + (e.detail ? ' — ' + e.detail : ''), true);
    }
    state.rulesKey = null;
    state.onChange();
  }

  // ---------- anomaly marks ----------

  // The trend's points (ISO starts, one per `interval`) that hold an anomalous hour, with what it was.
  function marks(anomalies, labels, interval) {
    const out = {};
    if (!anomalies) return out;
    const len = interval === 'day' ? 86400000 : interval === 'hour' ? 3600000 : 60000;
    const starts = labels.map((l) => Date.parse(l));
    for (const a of anomalies.anomalies) {
      const t = Date.parse(a.at);
      const i = starts.findIndex((s) => t >= s && t < s + len);
      if (i < 0) continue;
      (out[labels[i]] = out[labels[i]] || []).push(a.metric + ' ' + number(a.value) + ' (baseline ' + number(a.baseline) + ')');
    }
    return out;
  }

  return { setup, load, render, marks };
})();
