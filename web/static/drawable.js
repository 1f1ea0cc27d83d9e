// A diagram bpmn-js can draw. BPMN keeps where each shape sits apart from the process (BPMN DI); engines' own
// test files and generated processes often come without it, and bpmn-js draws nothing then. Such a diagram is
// laid out by bpmn.io's bpmn-auto-layout (loaded only then, through the page's import map) before it is drawn, and
// its lanes and pools are drawn around the steps it placed (lanes.js).
// window.vfDrawable(xml, main) resolves to {xml, laidOut, noLane}: the text to import, whether positions were made
// for it (main, when given, is the id of the process the page is about, drawn first of several), and the bands of
// steps in no lane to mark once it is drawn (markNoLane);
// window.vfDrawable.say(container) tells the reader, above the drawing, that its positions were made.
(function () {
  'use strict';
  var DI = 'http://www.omg.org/spec/BPMN/20100524/DI';
  var MODEL = 'http://www.omg.org/spec/BPMN/20100524/MODEL';

  function hasPositions(doc) {
    // A document that does not parse goes to bpmn-js as it is, which says what is wrong with it.
    return doc.getElementsByTagName('parsererror').length > 0 || doc.getElementsByTagNameNS(DI, 'BPMNShape').length > 0;
  }

  // bpmn-auto-layout follows each node's <incoming> and <outgoing> references, which bpmn.io writes but many
  // tools leave out (the sequence flows' sourceRef and targetRef say the same): written in where missing.
  function writeFlowReferences(doc) {
    var flows = doc.getElementsByTagNameNS(MODEL, 'sequenceFlow');
    var byId = {};
    Array.prototype.forEach.call(doc.getElementsByTagName('*'), function (element) {
      if (element.namespaceURI === MODEL && element.getAttribute('id')) { byId[element.getAttribute('id')] = element; }
    });
    function refer(node, kind, flowId) {
      if (!node) { return; }
      var present = Array.prototype.some.call(node.children, function (child) {
        return child.namespaceURI === MODEL && child.localName === kind && child.textContent.trim() === flowId;
      });
      if (present) { return; }
      var reference = doc.createElementNS(MODEL, (node.prefix ? node.prefix + ':' : '') + kind);
      reference.textContent = flowId;
      node.appendChild(reference);
    }
    Array.prototype.forEach.call(flows, function (flow) {
      var id = flow.getAttribute('id');
      refer(byId[flow.getAttribute('sourceRef')], 'outgoing', id);
      refer(byId[flow.getAttribute('targetRef')], 'incoming', id);
    });
  }

  window.vfDrawable = function (xml, main) {
    var doc = typeof xml === 'string' ? new DOMParser().parseFromString(xml, 'application/xml') : null;
    if (doc === null || hasPositions(doc)) {
      return Promise.resolve({ xml: xml, laidOut: false, noLane: [] });
    }
    writeFlowReferences(doc);
    var text = new XMLSerializer().serializeToString(doc);
    return import('bpmn-auto-layout').then(function (layout) {
      return window.vfLanes(doc, layout.layoutProcess, main).then(function (drawing) {
        return drawing || layout.layoutProcess(text).then(function (laidOut) { return { xml: laidOut, noLane: [] }; });
      });
    }).then(function (drawing) {
      return { xml: drawing.xml, laidOut: true, noLane: drawing.noLane };
    });
  };

  // window.vfDrawable.show(viewer, xml, container): imports the diagram into a bpmn-js viewer drawn in container, laid
  // out first when it has no positions (the process the container's data-process names on top), and then says so;
  // resolves once it is drawn.
  window.vfDrawable.show = function (viewer, xml, container) {
    return window.vfDrawable(xml, container.dataset.process).then(function (drawable) {
      return viewer.importXML(drawable.xml).then(function () {
        window.vfDrawable.markNoLane(viewer, drawable.noLane);
        if (drawable.laidOut) {
          window.vfDrawable.say(container);
          fitPlanesWhenOpened(viewer);
        }
      });
    });
  };

  // A subprocess's plane is laid out whatever its size, so the first time it is opened it is fitted into view
  // (bpmn-js would show it unzoomed, perhaps running past the view's edges).
  function fitPlanesWhenOpened(viewer) {
    var canvas = viewer.get('canvas');
    var opened = [canvas.getRootElement()];
    viewer.get('eventBus').on('root.set', 500, function (event) {
      if (opened.indexOf(event.element) >= 0) { return; }
      opened.push(event.element);
      canvas.zoom('fit-viewport', 'auto');
    });
  }

  // window.vfDrawable.markNoLane(viewer, bands): draws each band of steps that belong to no lane (lanes.js) as a
  // dashed band named "(no lane)", under the shapes of the plane its steps are on. The band is no element of the
  // diagram: it is not saved, and it goes at the first change to the diagram, which may move what is in it.
  var SVG = 'http://www.w3.org/2000/svg';
  var NAME_WIDTH = 30;

  function svg(name, attributes) {
    var element = document.createElementNS(SVG, name);
    Object.keys(attributes).forEach(function (key) { element.setAttribute(key, attributes[key]); });
    return element;
  }

  function noLaneBand(band) {
    var group = svg('g', { 'class': 'vf-no-lane', 'data-no-lane': band.step });
    var box = { x: band.x, y: band.y, width: band.width, height: band.height, fill: 'none', stroke: '#6b7280',
                'stroke-width': 1.5, 'stroke-dasharray': '6 4' };
    group.appendChild(svg('rect', box));
    group.appendChild(svg('line', { x1: band.x + NAME_WIDTH, y1: band.y, x2: band.x + NAME_WIDTH,
                                    y2: band.y + band.height, stroke: '#6b7280', 'stroke-dasharray': '6 4' }));
    var middle = { x: band.x + NAME_WIDTH / 2, y: band.y + band.height / 2 };
    var label = svg('text', { x: middle.x, y: middle.y, 'text-anchor': 'middle', 'dominant-baseline': 'central',
                              transform: 'rotate(-90 ' + middle.x + ' ' + middle.y + ')', fill: '#4b5563',
                              'font-family': 'Arial, sans-serif', 'font-size': 12, 'font-style': 'italic' });
    label.textContent = '(no lane)';
    group.appendChild(label);
    return group;
  }

  window.vfDrawable.markNoLane = function (viewer, bands) {
    var canvas = viewer.get('canvas');
    var registry = viewer.get('elementRegistry');
    var drawn = bands.map(function (band) {
      var step = registry.get(band.step);
      if (!step) { return null; }
      var layer = canvas.getLayer(canvas.findRoot(step).layer);
      var group = noLaneBand(band);
      layer.insertBefore(group, layer.firstChild);
      return group;
    });
    if (drawn.length) {
      canvas.resized();  // the diagram's extent, which fitting it to the view takes, now includes the bands
      viewer.get('eventBus').once('commandStack.changed', function () {
        drawn.forEach(function (group) { if (group) { group.remove(); } });
      });
    }
  };

  window.vfDrawable.say = function (container) {
    var note = document.createElement('p');
    note.className = 'notice diagram-laid-out';
    note.textContent = 'This diagram came without positions for its shapes, so Valueflow laid it out.';
    container.parentNode.insertBefore(note, container);
  };
})();
