// Insights dashboard: the breakdown switch over the cards (issue 16; docs/metrics.md, *Breakdowns
// and filters*): break the period down by channel, platform or location (a table of each value's
// conversations, messages, latency, fallback and automation, with a CSV download), and show the
// cards for one value only. The choice lives in the URL (?by=channel&value=web).
// app.js calls `load(agent, window)` and `render(result)` on every refresh, and adds
// `filterParam()` to the overview it reads for the cards.
'use strict';

window.InsightsBreakdown = (function () {
  const { $, setText, intFmt, fillTable, byName } = window.InsightsUtil;
  const DIMENSIONS = ['channel', 'platform', 'location'];
  const state = { api: null, refresh: null, by: '', value: '' };

  function setup(api, refresh) {
    state.api = api;
    state.refresh = refresh;
    const params = new URLSearchParams(window.location.search);
    if (DIMENSIONS.includes(params.get('by'))) {
      state.by = params.get('by');
      state.value = params.get('value') || '';
    }
    $('breakdown-by').value = state.by;
    $('breakdown-by').addEventListener('change', (ev) => {
      state.by = ev.target.value;
      state.value = '';
      writeURL();
      state.refresh();
    });
    $('breakdown-value').addEventListener('change', (ev) => {
      state.value = ev.target.value;
      writeURL();
      state.refresh();
    });
  }

  function writeURL() {
    const url = new URL(window.location.href);
    if (state.by) url.searchParams.set('by', state.by); else url.searchParams.delete('by');
    if (state.by && state.value) url.searchParams.set('value', state.value); else url.searchParams.delete('value');
    window.history.replaceState(null, '', url);
  }

  /** The overview's filter: `&channel=web`, or '' for every value. */
  function filterParam() {
    return state.by && state.value ? '&' + state.by + '=' + encodeURIComponent(state.value) : '';
  }

  function load(agent, win) {
    if (!state.by) return Promise.resolve(null);
    const path = '/api/v1/analytics/breakdown?agent_id=' + encodeURIComponent(agent) + '&dimension=' + state.by +
      '&start_date=' + encodeURIComponent(new Date(win.startMs).toISOString()) + '&end_date=' + encodeURIComponent(new Date(win.endMs).toISOString());
    $('breakdown-csv').href = path + '&format=csv';
    return state.api(path);
  }

  const pct = (v) => v.toFixed(1) + '%';

  function render(b) {
    $('breakdown-table').hidden = b === null;
    $('breakdown-csv').hidden = b === null;
    $('breakdown-value-field').hidden = b === null;
    setText($('cards-filter'), state.by && state.value ? 'The cards show only ' + state.by + ' “' + state.value + '”: conversations whose first event has it, events that have it.' : '');
    $('cards-filter').hidden = !(state.by && state.value);
    if (b === null) return;
    const rows = Object.entries(b.values).sort((x, y) => y[1].total_conversations - x[1].total_conversations || byName(x, y));
    $('breakdown-none').hidden = fillTable($('breakdown-body'), rows.map(([v, x]) => [
      v, intFmt.format(x.total_conversations), intFmt.format(x.total_messages),
      x.avg_response_time_ms ? intFmt.format(Math.round(x.avg_response_time_ms)) + ' ms' : '–', pct(x.fallback_rate), pct(x.automation_rate)]));
    // The value choice: every value of the period (and the chosen one, even if it has none now).
    const names = rows.map(([v]) => v).sort();
    if (state.value && !names.includes(state.value)) names.push(state.value);
    const select = $('breakdown-value');
    const key = JSON.stringify([state.by, names]);
    if (select.dataset.key !== key) {
      select.dataset.key = key;
      select.textContent = '';
      const all = document.createElement('option');
      all.value = '';
      all.textContent = 'every ' + state.by;
      select.appendChild(all);
      for (const v of names) {
        const o = document.createElement('option');
        o.value = v;
        o.textContent = v;
        select.appendChild(o);
      }
    }
    select.value = state.value;
  }

  return { setup, load, render, filterParam };
})();
