// Insights dashboard: the quality card (ratings, CSAT, thumbs, sentiment) and the workflows table
// (issue 16; docs/metrics.md, *Quality*, *Workflows*), each with a CSV download of what it shows.
// app.js calls `load(agent, window)` on every refresh and `render(result)` with what it returned.
'use strict';

window.InsightsDepth = (function () {
  const { $, setText, intFmt } = window.InsightsUtil;
  const state = { api: null, workflowsKey: null };

  function setup(api) { state.api = api; }

  function query(agent, win) {
    return '?agent_id=' + encodeURIComponent(agent) + '&start_date=' + encodeURIComponent(new Date(win.startMs).toISOString()) +
      '&end_date=' + encodeURIComponent(new Date(win.endMs).toISOString());
  }

  function load(agent, win) {
    const q = query(agent, win);
    $('quality-csv').href = '/api/v1/analytics/quality/metrics' + q + '&format=csv';
    $('workflows-csv').href = '/api/v1/analytics/workflows/metrics' + q + '&format=csv';
    return Promise.all([
      state.api('/api/v1/analytics/quality/metrics' + q),
      state.api('/api/v1/analytics/workflows/metrics' + q),
    ]).then(([quality, workflows]) => ({ quality, workflows }));
  }

  const pct = (v) => v.toFixed(1) + '%';

  function render(r) {
    const q = r.quality;
    setText($('quality-feedback'), intFmt.format(q.feedback_count));
    setText($('quality-csat'), q.ratings ? pct(q.csat) : '–');
    setText($('quality-rating'), q.ratings ? q.avg_rating.toFixed(1) : '–');
    setText($('quality-thumbs'), q.thumbs_up + q.thumbs_down ? pct(q.thumbs_up_rate) : '–');
    const withSentiment = Object.values(q.sentiment).reduce((a, b) => a + b, 0);
    setText($('quality-negative'), withSentiment ? pct(q.negative_rate) : '–');
    setText($('quality-sub'), intFmt.format(q.ratings) + ' ratings, ' + intFmt.format(q.thumbs_up + q.thumbs_down) + ' thumbs, ' +
      intFmt.format(withSentiment) + ' events with a sentiment');

    const rows = Object.entries(r.workflows.workflows).sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
    const key = JSON.stringify(rows);
    if (state.workflowsKey === key) return;
    state.workflowsKey = key;
    const body = $('workflows-body');
    body.textContent = '';
    for (const [name, w] of rows) {
      const tr = document.createElement('tr');
      const cells = [name, intFmt.format(w.started), intFmt.format(w.completed), intFmt.format(w.failed), pct(w.completion_rate),
        w.avg_duration_ms ? intFmt.format(Math.round(w.avg_duration_ms)) + ' ms' : '–'];
      cells.forEach((text, i) => {
        const td = document.createElement(i === 0 ? 'th' : 'td');
        if (i === 0) td.scope = 'row';
        td.textContent = text;
        tr.appendChild(td);
      });
      body.appendChild(tr);
    }
    $('workflows-none').hidden = rows.length > 0;
  }

  return { setup, load, render };
})();
