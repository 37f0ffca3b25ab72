// Insights dashboard: the top intent paths and the funnel builder (issue 16; docs/metrics.md,
// *Intent paths*, *Funnels*), each with a CSV download. app.js calls `load(agent, window)` on
// every refresh and `render(result)` with what it returned; the depth and the steps live in the URL.
'use strict';

window.InsightsPaths = (function () {
  const { $, setText, intFmt, fillTable } = window.InsightsUtil;
  const state = { api: null, refresh: null, depth: '3', steps: '' };

  function setup(api, refresh) {
    state.api = api;
    state.refresh = refresh;
    const params = new URLSearchParams(window.location.search);
    if (/^[1-5]$/.test(params.get('depth') || '')) state.depth = params.get('depth');
    state.steps = params.get('funnel') || '';
    $('paths-depth').value = state.depth;
    $('funnel-steps').value = state.steps;
    $('paths-depth').addEventListener('change', (ev) => {
      state.depth = ev.target.value;
      writeURL();
      state.refresh();
    });
    $('funnel-form').addEventListener('submit', (ev) => {
      ev.preventDefault();
      state.steps = $('funnel-steps').value.split(',').map((s) => s.trim()).filter((s) => s).join(',');
      writeURL();
      state.refresh();
    });
  }

  function writeURL() {
    const url = new URL(window.location.href);
    url.searchParams.set('depth', state.depth);
    if (state.steps) url.searchParams.set('funnel', state.steps); else url.searchParams.delete('funnel');
    window.history.replaceState(null, '', url);
  }

  function query(agent, win) {
    return '?agent_id=' + encodeURIComponent(agent) + '&start_date=' + encodeURIComponent(new Date(win.startMs).toISOString()) +
      '&end_date=' + encodeURIComponent(new Date(win.endMs).toISOString());
  }

  // A funnel the service refuses (a 400: too few steps, a repeated step) is shown as its message,
  // not as a failure of the whole page.
  async function loadFunnel(q) {
    if (!state.steps) return null;
    const path = '/api/v1/analytics/users/funnel' + q + '&steps=' + encodeURIComponent(state.steps);
    $('funnel-csv').href = path + '&format=csv';
    try {
      return await state.api(path);
    } catch (e) {
      if (e.status === 400) return { problem: e.detail || e.message };
      throw e;
    }
  }

  function load(agent, win) {
    const q = query(agent, win), paths = '/api/v1/analytics/users/paths' + q + '&depth=' + state.depth + '&limit=10';
    $('paths-csv').href = paths + '&format=csv';
    return Promise.all([state.api(paths), loadFunnel(q)]).then(([paths, funnel]) => ({ paths, funnel }));
  }

  const pct = (v) => v.toFixed(1) + '%';

  function render(r) {
    const p = r.paths;
    $('paths-none').hidden = fillTable($('paths-body'), p.paths.map((x) => [
      x.intents.join(' → '), intFmt.format(x.sessions), intFmt.format(x.ended), intFmt.format(x.dropped), intFmt.format(x.escalated)]));
    setText($('paths-sub'), intFmt.format(p.sessions) + ' finished sessions with an intent, ' + intFmt.format(p.distinct_paths) +
      ' distinct paths of ' + p.depth + (p.depth === 1 ? ' intent' : ' intents'));
    const f = r.funnel;
    const steps = f && f.steps ? f.steps : [];
    fillTable($('funnel-body'), steps.map((s, i) => [String(i + 1) + '. ' + s.intent, intFmt.format(s.sessions), pct(s.conversion_rate)]));
    $('funnel-table').hidden = steps.length === 0;
    $('funnel-csv').hidden = steps.length === 0;
    setText($('funnel-message'), f === null ? 'Name 2 to 6 intents, comma-separated, to see how many sessions reach each in order.'
      : f.problem ? 'The funnel was refused: ' + f.problem + '.' : '');
  }

  return { setup, load, render };
})();
