// Insights dashboard: formatting and DOM helpers shared by charts.js and app.js.
'use strict';

window.InsightsUtil = (function () {
  const $ = (id) => document.getElementById(id);
  function setText(el, text) { if (el.textContent !== text) el.textContent = text; }

  const intFmt = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });
  const moneyFmt = new Intl.NumberFormat('en-US', { style: 'currency', currency: 'USD' });
  // [number, unit]: the unit is shown smaller.
  const fmt = {
    int: (v) => [intFmt.format(v), ''],
    length: (v) => [v.toFixed(1), 'messages'],
    pct: (v) => [v.toFixed(1) + '%', ''],
    ms: (v) => [intFmt.format(Math.round(v)), 'ms'],
    money: (v) => [moneyFmt.format(v), ''],
  };
  const pad = (n, w) => String(n).padStart(w || 2, '0');
  function clock(d) { return pad(d.getHours()) + ':' + pad(d.getMinutes()) + ':' + pad(d.getSeconds()); }
  function dateLabel(d) { return d.toLocaleDateString('en-US', { month: 'short', day: 'numeric' }); }

  // Replaces a table body's rows (arrays of cell texts, the first a row header) unless they are
  // the ones it shows already. Returns whether it had any row.
  function fillTable(body, rows) {
    const key = JSON.stringify(rows);
    if (body.dataset.key === key) return rows.length > 0;
    body.dataset.key = key;
    body.textContent = '';
    for (const cells of rows) {
      const tr = document.createElement('tr');
      cells.forEach((text, i) => {
        const td = document.createElement(i === 0 ? 'th' : 'td');
        if (i === 0) td.scope = 'row';
        td.textContent = text;
        tr.appendChild(td);
      });
      body.appendChild(tr);
    }
    return rows.length > 0;
  }

  const byName = (a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0);

  return { $, setText, fmt, intFmt, moneyFmt, pad, clock, dateLabel, fillTable, byName };
})();
