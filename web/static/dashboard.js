// The dashboard's heat map (the bpmn-js viewer, an overlay on each user task) and its charts (Chart.js).
// Reads everything from the JSON block #dashboard-data (built by web/charts.py); nothing else is fetched.
(function () {
  'use strict';
  var source = document.getElementById('dashboard-data');
  if (!source) { return; }
  var data = JSON.parse(source.textContent);
  var INK = '#1c2433', MUTED = '#667085', LINE = '#eceff4', ACCENT = '#1f4e8c', BAD = '#b42318';
  // premium as its tag on the pages; the others in a fixed order
  var SEGMENT_COLOURS = { premium: '#5b21b6', standard: '#1f4e8c', basic: '#0f766e' };
  var OTHER_COLOURS = ['#b45309', '#475467', '#9d174d', '#4d7c0f'];

  function message(container, text) {
    container.innerHTML = '';
    var p = document.createElement('p');
    p.className = 'diagram-message notice notice-error';
    p.textContent = text;
    container.appendChild(p);
  }

  // -- the heat map ---------------------------------------------------------------------------
  function badge(id, cell) {
    var link = document.createElement('a');
    link.className = 'vf-heat-badge vf-heat-badge-' + cell.status + (cell.chosen ? ' vf-heat-badge-chosen' : '');
    link.href = cell.url;
    link.dataset.step = id;
    link.dataset.status = cell.status;
    link.title = cell.name + ': ' + cell.word + '. Median ' + cell.median + ' against a target of ' + cell.target +
      (cell.segment_targets ? ' (' + cell.segment_targets + ')' : '') + ', ' + cell.count + ' done' +
      (cell.breached ? ', ' + cell.breached + ' open past due' : '') +
      '. Click for its slowest cases.';
    var head = document.createElement('span');
    head.className = 'vf-heat-head';
    var word = document.createElement('strong');
    word.textContent = cell.short;
    var count = document.createElement('span');
    count.className = 'vf-heat-count';
    count.textContent = '\u00b7 ' + cell.count;
    head.appendChild(word);
    head.appendChild(count);
    var times = document.createElement('span');
    times.textContent = cell.median + ' / ' + cell.target;
    link.appendChild(head);
    link.appendChild(times);
    return link;
  }

  // At the zoom that fits a wide diagram, the badges of neighbouring steps would cover each other: each one,
  // from left to right, is lifted clear of those placed before it.
  function unstack(container) {
    var badges = Array.prototype.slice.call(container.querySelectorAll('.vf-heat-badge'));
    badges.forEach(function (badge) { badge.style.transform = ''; });
    var placed = [];
    badges.map(function (badge) { return { badge: badge, box: badge.getBoundingClientRect() }; })
      .sort(function (a, b) { return a.box.left - b.box.left || b.box.top - a.box.top; })
      .forEach(function (item) {
        var box = item.box, lift = 0, clashed = true;
        while (clashed) {
          clashed = false;
          placed.forEach(function (other) {
            if (box.left < other.right && other.left < box.right &&
                box.top - lift < other.bottom && other.top < box.bottom - lift) {
              lift = box.bottom - other.top + 2;
              clashed = true;
            }
          });
        }
        placed.push({ left: box.left, right: box.right, top: box.top - lift, bottom: box.bottom - lift });
        if (lift) {
          var scale = box.height / (item.badge.offsetHeight || box.height);
          item.badge.style.transform = 'translateY(' + (-lift / scale) + 'px)';
        }
      });
  }

  function heatMap() {
    var container = document.getElementById('heatmap');
    if (!container) { return; }
    if (typeof window.BpmnJS !== 'function') {
      container.dataset.state = 'error';
      message(container, 'The diagram viewer is not installed on this server (run npm ci); the step table below has the same figures.');
      return;
    }
    container.innerHTML = '';
    var viewer = new window.BpmnJS({ container: container });
    window.vfDrawable.show(viewer, data.xml, container).then(function () {
      var canvas = viewer.get('canvas');
      var registry = viewer.get('elementRegistry');
      var overlays = viewer.get('overlays');
      Object.keys(data.cells).forEach(function (id) {
        var cell = data.cells[id];
        var element = registry.get(id);
        if (!element) { return; }
        canvas.addMarker(id, 'vf-heat');
        canvas.addMarker(id, 'vf-heat-' + cell.status);
        if (cell.chosen) { canvas.addMarker(id, 'vf-heat-chosen'); }
        overlays.add(id, 'vf-heat', {
          position: { top: -56, left: -4 },
          html: badge(id, cell),
          scale: { min: 0.85, max: 1.3 }
        });
      });
      // As tall as the diagram needs at the container's width (plus room for the badges), then fit it.
      var inner = canvas.viewbox().inner;
      if (inner.width > 0) {
        var wanted = container.clientWidth * inner.height / inner.width + 90;
        container.style.height = Math.round(Math.min(640, Math.max(320, wanted))) + 'px';
        canvas.resized();
      }
      viewer.get('eventBus').on('element.click', function (event) {
        var cell = data.cells[event.element.id];
        if (cell) { window.location.href = cell.url; }
      });
      canvas.zoom('fit-viewport', 'auto');
      unstack(container);
      viewer.get('eventBus').on('canvas.viewbox.changed', function () { unstack(container); });
      container.dataset.state = 'ready';
    }).catch(function (err) {
      container.dataset.state = 'error';
      message(container, 'The diagram could not be drawn: ' + (err && err.message ? err.message : err));
    });
  }

  // -- the charts -----------------------------------------------------------------------------
  function chart(id, config) {
    var canvas = document.getElementById(id);
    if (!canvas) { return; }
    if (typeof window.Chart !== 'function') {
      message(canvas.parentNode, 'The chart library is not installed on this server (run npm ci).');
      return;
    }
    config.options = Object.assign({
      animation: false, responsive: true, maintainAspectRatio: false,
      interaction: { mode: 'index', intersect: false },
      plugins: { legend: { position: 'bottom', labels: { boxWidth: 12, color: INK } } }
    }, config.options || {});
    new window.Chart(canvas, config);
    canvas.dataset.drawn = 'true';
  }

  function axis(title, extra) {
    return Object.assign({
      beginAtZero: true, grid: { color: LINE }, ticks: { color: MUTED },
      title: { display: Boolean(title), text: title, color: MUTED }
    }, extra || {});
  }

  function charts() {
    if (window.Chart) {
      window.Chart.defaults.font.family = getComputedStyle(document.body).fontFamily;
    }
    var trend = data.charts.trend;
    var trendSets = [
      { type: 'bar', label: 'Started', data: trend.started, backgroundColor: '#c7d7ef', yAxisID: 'cases', order: 3 },
      { type: 'bar', label: 'Finished', data: trend.finished, backgroundColor: ACCENT, yAxisID: 'cases', order: 2 },
      { type: 'line', label: 'Median time (' + trend.unit + ')', data: trend.median, borderColor: '#1e7b3c',
        backgroundColor: '#1e7b3c', yAxisID: 'time', spanGaps: true, order: 1 },
      { type: 'line', label: 'p90 time (' + trend.unit + ')', data: trend.p90, borderColor: '#8a5a00',
        backgroundColor: '#8a5a00', borderDash: [6, 4], yAxisID: 'time', spanGaps: true, order: 1 }
    ];
    var targets = trend.target !== null ? [{ label: 'Target', value: trend.target }] :
      trend.targets.map(function (t) { return { label: 'Target of v' + t.version, value: t.value }; });
    targets.forEach(function (t, i) {
      trendSets.push({ type: 'line', label: t.label + ' (' + trend.unit + ')', data: trend.labels.map(function () { return t.value; }),
        borderColor: BAD, borderDash: i ? [8, 4] : [2, 3], pointRadius: 0, yAxisID: 'time', order: 0 });
    });
    chart('chart-trend', {
      data: { labels: trend.labels, datasets: trendSets },
      options: { scales: { x: axis('Week of', { grid: { display: false } }), cases: axis('Cases', { position: 'left' }),
        time: axis(trend.unit, { position: 'right', grid: { drawOnChartArea: false } }) } }
    });

    var split = data.charts.split;
    chart('chart-split', {
      type: 'bar',
      data: { labels: split.labels, datasets: [
        { label: 'Work (' + split.unit + ')', data: split.work, backgroundColor: ACCENT },
        { label: 'Waiting (' + split.unit + ')', data: split.wait, backgroundColor: '#f2b8b5' }
      ] },
      options: { indexAxis: 'y', scales: { x: axis(split.unit, { stacked: true }), y: axis('', { stacked: true, grid: { display: false } }) } }
    });

    var cost = data.charts.cost;
    chart('chart-cost', {
      type: 'line',
      data: { labels: cost.labels, datasets: [
        { label: 'Median cost per case', data: cost.median, borderColor: ACCENT, backgroundColor: ACCENT, spanGaps: true }
      ] },
      options: { scales: { x: axis('Week of', { grid: { display: false } }), y: axis(cost.axis) } }
    });

    var satisfaction = data.charts.satisfaction;
    chart('chart-satisfaction', {
      type: 'bar',
      data: { labels: satisfaction.labels, datasets: satisfaction.segments.map(function (segment, i) {
        return { label: segment.name, data: segment.scores,
          backgroundColor: SEGMENT_COLOURS[segment.name] || OTHER_COLOURS[i % OTHER_COLOURS.length] };
      }) },
      options: { scales: { x: axis('End-to-end time', { grid: { display: false } }), y: axis('Mean score', { min: 0, max: 5 }) } }
    });
  }

  heatMap();
  charts();
})();
