// A diagram bpmn-js can draw. BPMN keeps where each shape sits apart from the process (BPMN DI); engines' own
// test files and generated processes often come without it, and bpmn-js draws nothing then. Such a diagram is
// laid out by bpmn.io's bpmn-auto-layout (loaded only then, through the page's import map) before it is drawn, and
// its lanes and pools are drawn around the steps it placed (lanes.js).
// window.vfDrawable(xml) resolves to {xml, laidOut}: the text to import, and whether positions were made for it;
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

  window.vfDrawable = function (xml) {
    var doc = typeof xml === 'string' ? new DOMParser().parseFromString(xml, 'application/xml') : null;
    if (doc === null || hasPositions(doc)) {
      return Promise.resolve({ xml: xml, laidOut: false });
    }
    writeFlowReferences(doc);
    var text = new XMLSerializer().serializeToString(doc);
    return import('bpmn-auto-layout').then(function (layout) {
      return window.vfLanes(doc, layout.layoutProcess).then(function (withLanes) {
        return withLanes || layout.layoutProcess(text);
      });
    }).then(function (laidOut) {
      return { xml: laidOut, laidOut: true };
    });
  };

  // window.vfDrawable.show(viewer, xml, container): imports the diagram into a bpmn-js viewer drawn in container, laid
  // out first when it has no positions, and then says so; resolves once it is drawn.
  window.vfDrawable.show = function (viewer, xml, container) {
    return window.vfDrawable(xml).then(function (drawable) {
      return viewer.importXML(drawable.xml).then(function () {
        if (drawable.laidOut) { window.vfDrawable.say(container); }
      });
    });
  };

  window.vfDrawable.say = function (container) {
    var note = document.createElement('p');
    note.className = 'notice diagram-laid-out';
    note.textContent = 'This diagram came without positions for its shapes, so Valueflow laid it out.';
    container.parentNode.insertBefore(note, container);
  };
})();
