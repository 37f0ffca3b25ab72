// Insights dashboard: the conversation trend, intent distribution and drop-off charts (Chart.js).
// Each chart is created once and then updated in place, only when its data changed (no flicker).
'use strict';

window.InsightsCharts = (function () {
  const { $, setText, intFmt, pad, dateLabel } = window.InsightsUtil;
  const TOP_INTENTS = 5;
  const PALETTE = ['#1d4ed8', '#c2410c', '#047857', '#7c3aed', '#b91c1c', '#64748b'];
  const state = { charts: {}, drawn: {}, trendInterval: null, marks: {} };

  function chartDefaults() {
    Chart.defaults.color = '#1f2933';
    Chart.defaults.font.family = 'system-ui, -apple-system, "Segoe UI", Roboto, sans-serif';
    Chart.defaults.animation = false;
    Chart.defaults.maintainAspectRatio = false;
    Chart.defaults.responsive = true;
  }

  // Hourly points: a date at midnight, and over 24 h also every third hour; daily points: dates
  // (Chart.js skips some when they do not fit). null hides a tick.
  function trendTickLabel(iso, interval, count) {
    const d = new Date(iso);
    if (interval === 'day') return dateLabel(d);
    if (d.getHours() === 0) return dateLabel(d);
    if (count <= 48 && d.getHours() % 3 === 0) return pad(d.getHours()) + ':00';
    return null;
  }

  function draw(id, type, data, options) {
    const key = JSON.stringify(data);
    const chart = state.charts[id];
    if (chart) {
      if (state.drawn[id] === key) return;
      chart.data.labels = data.labels;
      data.datasets.forEach((ds, i) => {
        const target = chart.data.datasets[i];
        if (target) Object.assign(target, ds); else chart.data.datasets.push(ds);
      });
      chart.data.datasets.length = data.datasets.length;
      if (options.apply) options.apply(chart);
      chart.update('none');
    } else {
      const canvas = $(id);
      state.charts[id] = new Chart(canvas, { type: type, data: data, options: options.chart });
      if (options.apply) options.apply(state.charts[id]);
    }
    state.drawn[id] = key;
  }

  // `marks`: point label → descriptions of the anomalies in it (alerts.js); drawn as red points.
  // `scanned`: whether anomalies were looked for at all (not over 90 days).
  function renderTrend(ts, marks, scanned) {
    const interval = ts.interval;
    const labels = ts.points.map((p) => p.date);
    const values = ts.points.map((p) => p.conversations);
    const flagged = labels.map((l, i) => (marks && marks[l] ? values[i] : null));
    state.marks = marks || {};
    state.trendInterval = interval;
    const chart = state.charts['trend-chart'];
    if (chart) chart.options.scales.x.ticks.autoSkip = interval === 'day';
    draw('trend-chart', 'line', {
      labels: labels,
      datasets: [
        { label: 'Conversations', data: values, borderColor: '#1d4ed8', backgroundColor: 'rgba(29,78,216,0.12)', fill: true, tension: 0, pointRadius: values.length > 60 ? 0 : 2, borderWidth: 2 },
        { label: 'Anomaly', data: flagged, showLine: false, pointRadius: 6, pointHoverRadius: 7, pointStyle: 'triangle', borderColor: '#b91c1c', backgroundColor: '#b91c1c' },
      ],
    }, {
      chart: {
        interaction: { mode: 'index', intersect: false },
        plugins: {
          legend: { display: false },
          tooltip: {
            filter: (item) => item.datasetIndex === 0 || item.raw !== null,
            callbacks: {
              title: (items) => items.length ? new Date(items[0].label).toLocaleString('en-US') : '',
              label: (c) => c.datasetIndex === 1 ? 'Anomaly: ' + (state.marks[c.label] || []).join('; ') : c.dataset.label + ': ' + c.formattedValue,
            },
          },
        },
        scales: {
          x: {
            ticks: {
              autoSkip: interval === 'day', maxRotation: 0,
              callback: function (v) { return trendTickLabel(this.getLabelForValue(v), state.trendInterval, this.chart.data.labels.length); },
            },
            grid: { display: false },
          },
          y: { beginAtZero: true, ticks: { precision: 0 } },
        },
      },
    });
    const total = values.reduce((a, b) => a + b, 0);
    const n = flagged.filter((v) => v !== null).length;
    setText($('trend-sub'), intFmt.format(total) + ' conversations, one point per ' + interval +
      (!scanned ? '; anomalies are marked over 30 days at most' : n ? '; ' + n + (n === 1 ? ' point' : ' points') + ' with an anomaly (red)' : '; no anomaly'));
  }

  function topIntents(dist) {
    const entries = Object.entries(dist || {}).filter((e) => e[1] > 0)
      .sort((a, b) => (b[1] - a[1]) || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
    const top = entries.slice(0, TOP_INTENTS);
    const rest = entries.slice(TOP_INTENTS).reduce((a, e) => a + e[1], 0);
    if (rest > 0) top.push(['other', rest]);
    return top;
  }

  function renderIntents(nlu) {
    const top = topIntents(nlu.intent_distribution);
    const total = top.reduce((a, e) => a + e[1], 0);
    draw('intents-chart', 'doughnut', {
      labels: top.map((e) => e[0]),
      datasets: [{ label: 'Classifications', data: top.map((e) => e[1]), backgroundColor: top.map((e, i) => PALETTE[i % PALETTE.length]), borderColor: '#ffffff', borderWidth: 2 }],
    }, {
      chart: {
        plugins: {
          legend: { position: 'bottom' },
          tooltip: { callbacks: { label: (c) => { const sum = c.dataset.data.reduce((a, b) => a + b, 0); return c.label + ': ' + c.parsed + ' (' + (sum ? (100 * c.parsed / sum).toFixed(1) : '0') + '%)'; } } },
        },
      },
    });
    setText($('intents-sub'), total ? intFmt.format(total) + ' classified intents; top ' + TOP_INTENTS + (top.length > TOP_INTENTS ? ' and other' : '')
      : 'No classified intents in this period.');
  }

  function renderDropOff(d) {
    const entries = Object.entries(d.drop_off_points || {}).filter((e) => e[1] > 0)
      .sort((a, b) => (b[1] - a[1]) || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
    draw('dropoff-chart', 'bar', {
      labels: entries.map((e) => e[0]),
      datasets: [{ label: 'Dropped sessions', data: entries.map((e) => e[1]), backgroundColor: '#c2410c' }],
    }, {
      chart: {
        plugins: { legend: { display: false } },
        scales: { y: { beginAtZero: true, ticks: { precision: 0 } }, x: { grid: { display: false } } },
      },
    });
    setText($('dropoff-sub'), d.total_incomplete_sessions
      ? intFmt.format(d.total_incomplete_sessions) + ' sessions dropped, by their last classified intent'
      : 'No dropped sessions in this period.');
  }

  return { setup: chartDefaults, renderTrend, renderIntents, renderDropOff };
})();
