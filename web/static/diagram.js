// Draws a case's process version with bpmn-js (the navigated viewer) and marks its steps.
// Reads {"xml", "completed", "open", "waiting"} from the JSON block #diagram-data; no other data is fetched.
(function () {
  'use strict';
  var container = document.getElementById('diagram');
  var source = document.getElementById('diagram-data');
  if (!container || !source) { return; }

  function fail(message) {
    container.dataset.state = 'error';
    container.innerHTML = '';
    var p = document.createElement('p');
    p.className = 'diagram-message notice notice-error';
    p.textContent = message;
    container.appendChild(p);
  }

  if (typeof window.BpmnJS !== 'function') {
    fail('The diagram viewer is not installed on this server (run npm ci); the steps are listed below.');
    return;
  }
  var data = JSON.parse(source.textContent);
  container.innerHTML = '';
  var viewer = new window.BpmnJS({ container: container });

  window.vfDrawable.show(viewer, data.xml, container).then(function () {
    var canvas = viewer.get('canvas');
    var registry = viewer.get('elementRegistry');
    var overlays = viewer.get('overlays');
    function mark(ids, marker, badge, label) {
      ids.forEach(function (id) {
        if (!registry.get(id)) { return; }
        canvas.addMarker(id, marker);
        var html = document.createElement('span');
        html.className = 'vf-badge ' + marker + '-badge';
        html.textContent = badge;
        html.title = label;
        overlays.add(id, { position: { top: -10, right: 10 }, html: html });
      });
    }
    mark(data.completed, 'vf-done', '\u2713', 'done');
    mark(data.open, 'vf-open', '\u25CF', 'waiting for a person now');
    mark(data.waiting || [], 'vf-waiting', '\u23F3', 'waiting for a message, a timer or a service');
    canvas.zoom('fit-viewport', 'auto');
    container.dataset.state = 'ready';
  }).catch(function (err) {
    fail('The diagram could not be drawn: ' + (err && err.message ? err.message : err));
  });
})();
