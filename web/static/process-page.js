// The process page: draws the chosen version with bpmn-js's navigated viewer and, once drawn, offers it as SVG.
// Reads the BPMN text from the JSON block #process-diagram.
(function () {
  'use strict';
  var container = document.getElementById('diagram');
  var source = document.getElementById('process-diagram');
  var actions = document.getElementById('process-actions');
  if (!container || !source || typeof window.BpmnJS !== 'function') { return; }
  var viewer = new window.BpmnJS({ container: container });
  window.vfDrawable.show(viewer, JSON.parse(source.textContent), container).then(function () {
    viewer.get('canvas').zoom('fit-viewport', 'auto');
    container.dataset.state = 'ready';
    offerSvg();
  }).catch(function (err) {
    container.dataset.state = 'error';
    container.textContent = 'The diagram could not be drawn: ' + (err && err.message ? err.message : err);
  });
  function offerSvg() {
    var button = document.createElement('button');
    button.type = 'button';
    button.className = 'btn';
    button.textContent = 'Download SVG';
    button.addEventListener('click', function () {
      viewer.saveSVG().then(function (result) {
        var link = document.createElement('a');
        link.href = URL.createObjectURL(new Blob([result.svg], { type: 'image/svg+xml' }));
        link.download = actions.dataset.svgName;
        document.body.appendChild(link);
        link.click();
        link.remove();
      });
    });
    actions.appendChild(button);
  }
})();
