// Insights dashboard: the quality card (ratings, CSAT, thumbs, sentiment), the system card (API
// calls, failures, latency, errors), the intents table with its confidence threshold, and the
// workflows table (issue 16; docs/metrics.md), each with a CSV download of what it shows.
// app.js calls `load(agent, window)` on every refresh and `render(result)` with what it returned.
'use strict';

window.InsightsDepth = (function () {
  const { $, setText, intFmt, fillTable, byName } = window.InsightsUtil;
  const state = { api: null, refresh: null, threshold: '0.70' };

  function setup(api, refresh) {
    state.api = api;
    state.refresh = refresh;
    const slider = $('intents-threshold');
    const show = () => setText($('intents-threshold-value'), Number(slider.value).toFixed(2));
    slider.addEventListener('input', show);
    slider.addEventListener('change', () => {
      state.threshold = Number(slider.value).toFixed(2);
      show();
      state.refresh();
    });
    show();
  }

  function query(agent, win) {
    return '?agent_id=' + encodeURIComponent(agent) + '&start_date=' + encodeURIComponent(new Date(win.startMs).toISOString()) +
      '&end_date=' + encodeURIComponent(new Date(win.endMs).toISOString());
  }

  function load(agent, win) {
    const q = query(agent, win), intents = '/api/v1/analytics/nlu/intents' + q + '&threshold=' + state.threshold;
    $('quality-csv').href = '/api/v1/analytics/quality/metrics' + q + '&format=csv';
    $('workflows-csv').href = '/api/v1/analytics/workflows/metrics' + q + '&format=csv';
    $('system-csv').href = '/api/v1/analytics/system/metrics' + q + '&format=csv';
    $('intents-csv').href = intents + '&format=csv';
    return Promise.all([
      state.api('/api/v1/analytics/quality/metrics' + q),
      state.api('/api/v1/analytics/workflows/metrics' + q),
      state.api('/api/v1/analytics/system/metrics' + q),
      state.api(intents),
    ]).then(([quality, workflows, system, intents]) => ({ quality, workflows, system, intents }));
  }

  const pct = (v) => v.toFixed(1) + '%';
  const ms = (v) => intFmt.format(Math.round(v)) + ' ms';

  function renderQuality(q) {
    setText($('quality-feedback'), intFmt.format(q.feedback_count));
    setText($('quality-csat'), q.ratings ? pct(q.csat) : '–');
    setText($('quality-rating'), q.ratings ? q.avg_rating.toFixed(1) : '–');
    setText($('quality-thumbs'), q.thumbs_up + q.thumbs_down ? pct(q.thumbs_up_rate) : '–');
    const withSentiment = Object.values(q.sentiment).reduce((a, b) => a + b, 0);
    setText($('quality-negative'), withSentiment ? pct(q.negative_rate) : '–');
    setText($('quality-sub'), intFmt.format(q.ratings) + ' ratings, ' + intFmt.format(q.thumbs_up + q.thumbs_down) + ' thumbs, ' +
      intFmt.format(withSentiment) + ' events with a sentiment');
  }

  function renderSystem(s) {
    setText($('system-calls'), intFmt.format(s.api_calls));
    setText($('system-failures'), s.api_calls ? pct(s.api_failure_rate) : '–');
    setText($('system-p95'), s.api_calls ? ms(s.api_p95_ms) : '–');
    setText($('system-errors'), intFmt.format(s.errors));
    setText($('system-conv-errors'), s.finalized_conversations ? pct(s.conversations_with_errors_rate) : '–');
    const worst = Object.entries(s.endpoints).sort((a, b) => b[1].p95_ms - a[1].p95_ms || byName(a, b))[0];
    setText($('system-sub'), worst ? 'Slowest endpoint: ' + worst[0] + ' (p95 ' + ms(worst[1].p95_ms) + ', ' +
      intFmt.format(worst[1].calls) + ' calls)' : 'No API calls in this period.');
  }

  function render(r) {
    renderQuality(r.quality);
    renderSystem(r.system);
    const intents = Object.entries(r.intents.intents).sort((a, b) => b[1].count - a[1].count || byName(a, b));
    $('intents-none').hidden = fillTable($('intents-body'), intents.map(([name, i]) => [
      name, intFmt.format(i.count), i.avg_confidence ? i.avg_confidence.toFixed(2) : '–', pct(i.low_confidence_rate)]));
    const entities = Object.entries(r.intents.entities).sort((a, b) => b[1] - a[1] || byName(a, b));
    setText($('intents-entities'), entities.length ? 'Entities: ' + entities.map(([t, n]) => t + ' ' + intFmt.format(n)).join(', ') : '');
    const workflows = Object.entries(r.workflows.workflows).sort(byName);
    $('workflows-none').hidden = fillTable($('workflows-body'), workflows.map(([name, w]) => [
      name, intFmt.format(w.started), intFmt.format(w.completed), intFmt.format(w.failed), pct(w.completion_rate),
      w.avg_duration_ms ? ms(w.avg_duration_ms) : '–']));
  }

  return { setup, load, render };
})();
