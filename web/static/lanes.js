// Lanes and pools for a diagram that came without positions. bpmn-auto-layout places the steps of one process in a
// grid of columns and rows and draws neither lanes nor pools; here each process to draw (each pool's, or the one
// process with lanes) is laid out by it on its own, then its steps are moved into horizontal bands, one per lane
// (a lane is the role whose staff do the step), keeping their columns so the flow still reads left to right.
// Pools are stacked one under another, each with its name at its left; flows are drawn again as orthogonal
// routes that run between the grid's cells, never through a shape, and message flows join their pools.
// window.vfLanes(doc, layoutProcess) resolves to the diagram's text with positions, or to null when it has neither
// lanes nor pools (bpmn-auto-layout's drawing is then all there is to it); doc must hold the flow references.
(function () {
  'use strict';
  var MODEL = 'http://www.omg.org/spec/BPMN/20100524/MODEL';
  var BPMNDI = 'http://www.omg.org/spec/BPMN/20100524/DI';
  var DC = 'http://www.omg.org/spec/DD/20100524/DC';
  var DI = 'http://www.omg.org/spec/DD/20100524/DI';
  var CELL_WIDTH = 150;   // bpmn-auto-layout's grid
  var CELL_HEIGHT = 140;
  var NAME_WIDTH = 30;    // the strip at the left of a pool or a lane that holds its name, as bpmn-js draws it
  var POOL_GAP = 40;
  var EMPTY_POOL_HEIGHT = 100;
  var CHANNEL = 10;       // how far inside a cell's free margin a flow runs along a row

  function modelChildren(element, localName) {
    return Array.prototype.filter.call(element.children, function (child) {
      return child.namespaceURI === MODEL && child.localName === localName;
    });
  }

  function diChild(element, localName) {
    return Array.prototype.find.call(element.children, function (child) { return child.localName === localName; });
  }

  function byId(doc) {
    var index = {};
    Array.prototype.forEach.call(doc.getElementsByTagName('*'), function (element) {
      if (element.namespaceURI === MODEL && element.getAttribute('id')) { index[element.getAttribute('id')] = element; }
    });
    return index;
  }

  // The lanes of a process as a tree in document order: [{element, depth, children: [...]}].
  function laneTree(container, depth) {
    var lanes = [];
    modelChildren(container, container.localName === 'lane' ? 'childLaneSet' : 'laneSet').forEach(function (set) {
      modelChildren(set, 'lane').forEach(function (lane) {
        lanes.push({ element: lane, depth: depth, children: laneTree(lane, depth + 1) });
      });
    });
    return lanes;
  }

  function eachLane(lanes, visit) {
    lanes.forEach(function (lane) { visit(lane); eachLane(lane.children, visit); });
  }

  function firstLeaf(lane) { return lane.children.length ? firstLeaf(lane.children[0]) : lane; }

  // The process laid out by bpmn-auto-layout, which draws the first process of the definitions: its shapes by the
  // id of the element they draw, and all it drew (with what lies inside subprocesses) in order.
  function autoLayout(doc, process, layoutProcess) {
    var copy = doc.cloneNode(true);
    var root = copy.documentElement;
    var own = byId(copy)[process.getAttribute('id')];
    root.insertBefore(own, modelChildren(root, 'process')[0]);
    return layoutProcess(new XMLSerializer().serializeToString(copy)).then(function (xml) {
      var laidOut = new DOMParser().parseFromString(xml, 'application/xml');
      var drawn = { shapes: {}, all: [] };
      Array.prototype.forEach.call(laidOut.getElementsByTagNameNS(BPMNDI, '*'), function (di) {
        if (di.localName === 'BPMNShape') { drawn.shapes[di.getAttribute('bpmnElement')] = di; }
        if (di.localName === 'BPMNShape' || di.localName === 'BPMNEdge') { drawn.all.push(di); }
      });
      return drawn;
    });
  }

  function boundsOf(shape) {
    var b = diChild(shape, 'Bounds');
    return { x: +b.getAttribute('x'), y: +b.getAttribute('y'),
             width: +b.getAttribute('width'), height: +b.getAttribute('height') };
  }

  // The bands of a process: one per innermost lane in order, then one for the steps no lane lists (the only band
  // of a process without lanes). Each step keeps its column; in its band it takes the rank of its row among the
  // rows its band's steps had, and a cell already taken sends it down a row. What no flow joins (data objects and
  // stores, a lone task), which bpmn-auto-layout stacks in its first column, fills its band's free cells instead.
  function bands(process, lanes, drawn) {
    var laneOf = {};
    eachLane(lanes, function (lane) {
      modelChildren(lane.element, 'flowNodeRef').forEach(function (ref) { laneOf[ref.textContent.trim()] = lane; });
    });
    var joined = {};
    modelChildren(process, 'sequenceFlow').forEach(function (flow) {
      joined[flow.getAttribute('sourceRef')] = joined[flow.getAttribute('targetRef')] = true;
    });
    modelChildren(process, 'boundaryEvent').forEach(function (event) { joined[event.getAttribute('attachedToRef')] = true; });
    var list = [];
    eachLane(lanes, function (lane) { if (!lane.children.length) { list.push({ lane: lane, steps: [] }); } });
    var loose = { lane: null, steps: [] };
    var columns = 1;
    Array.prototype.forEach.call(process.children, function (element) {
      var id = element.getAttribute('id');
      if (element.namespaceURI !== MODEL || !drawn.shapes[id] || element.localName === 'boundaryEvent') { return; }
      var bounds = boundsOf(drawn.shapes[id]);
      var step = { id: id, bounds: bounds, x: bounds.x, alone: !joined[id],
                   column: Math.floor((bounds.x + bounds.width / 2) / CELL_WIDTH),
                   autoRow: Math.floor((bounds.y + bounds.height / 2) / CELL_HEIGHT) };
      columns = Math.max(columns, step.column + 1);
      var lane = laneOf[id];
      (lane ? list.find(function (band) { return band.lane === firstLeaf(lane); }) : loose).steps.push(step);
    });
    if (loose.steps.length || !list.length) { list.push(loose); }
    list.forEach(function (band) { seat(band, columns); });
    return list;
  }

  function seat(band, columns) {
    var taken = {};
    var joined = band.steps.filter(function (step) { return !step.alone; });
    var rows = joined.map(function (step) { return step.autoRow; })
      .filter(function (row, i, all) { return all.indexOf(row) === i; })
      .sort(function (a, b) { return a - b; });
    band.rows = 1;
    function take(step, row) {
      taken[row + ',' + step.column] = true;
      step.row = row;
      band.rows = Math.max(band.rows, row + 1);
    }
    joined.sort(function (a, b) { return a.autoRow - b.autoRow || a.column - b.column; }).forEach(function (step) {
      var row = rows.indexOf(step.autoRow);
      while (taken[row + ',' + step.column]) { row += 1; }
      take(step, row);
    });
    var cell = 0;
    band.steps.filter(function (step) { return step.alone; }).forEach(function (step) {
      while (taken[Math.floor(cell / columns) + ',' + cell % columns]) { cell += 1; }
      step.column = cell % columns;
      step.x = step.column * CELL_WIDTH + (CELL_WIDTH - step.bounds.width) / 2;
      take(step, Math.floor(cell / columns));
    });
  }

  // Where a process's steps go: the bands stacked from the top, each step centred in its cell. Each placed step
  // knows its cell (row counted over the whole pool) and the cell's edges, which routes run along.
  function place(list, left, top) {
    var placed = {};
    var row = 0;
    list.forEach(function (band) {
      band.top = top + row * CELL_HEIGHT;
      band.height = band.rows * CELL_HEIGHT;
      band.steps.forEach(function (step) {
        var b = step.bounds;
        var rowTop = top + (row + step.row) * CELL_HEIGHT;
        placed[step.id] = {
          id: step.id, row: row + step.row, column: step.column, rowTop: rowTop,
          columnLeft: left + step.column * CELL_WIDTH, columnRight: left + (step.column + 1) * CELL_WIDTH,
          before: b, bounds: { x: left + step.x, y: rowTop + (CELL_HEIGHT - b.height) / 2, width: b.width, height: b.height }
        };
      });
      row += band.rows;
    });
    return { steps: placed, height: row * CELL_HEIGHT };
  }

  // -- routes ----------------------------------------------------------------------------------------------
  // Shapes sit inside their cells with a free margin all round, so a route that runs along the cells' edges
  // (vertically) and just inside a row's top margin (horizontally) crosses no shape. Flows from different steps,
  // or into different ones, take different tracks there, a few pixels apart and still inside the margins, so that
  // one line is not read as another; flows from one step, or into one, share theirs.

  var EDGE_TRACKS = [0, -10, 10, -20, 20];
  var MARGIN_TRACKS = [8, 16, 24];
  var MESSAGE_TRACKS = [5, -5, 15, -15];  // between the sequence flows' tracks

  // Hands out tracks: the first flow to run along a place gets its first track, the next user the next one.
  function trackKeeper() {
    var users = {};
    return function (tracks, place, user) {
      var list = users[place] || (users[place] = []);
      if (list.indexOf(user) < 0) { list.push(user); }
      return tracks[list.indexOf(user) % tracks.length];
    };
  }

  function routeFlow(source, target, occupied, track) {
    var s = source.bounds, t = target.bounds;
    var sy = s.y + s.height / 2, ty = t.y + t.height / 2;
    var free = !source.attachedTo && source.row === target.row && target.column > source.column;
    for (var c = source.column + 1; free && c < target.column; c += 1) { free = !occupied[source.row + ',' + c]; }
    if (free) { return [[s.x + s.width, sy], [t.x, ty]]; }
    var exitX = source.columnRight + track(EDGE_TRACKS, 'edge ' + source.columnRight, 'from ' + source.id);
    var below = source.rowTop + CELL_HEIGHT - CHANNEL / 2;
    var points = source.attachedTo
      ? [[s.x + s.width / 2, s.y + s.height], [s.x + s.width / 2, below], [exitX, below]]
      : [[s.x + s.width, sy], [exitX, sy]];
    if (target.columnLeft === source.columnRight) {
      return simplified(points.concat([[exitX, ty], [t.x, ty]]));
    }
    var rowTop = target.row < source.row ? target.rowTop + CELL_HEIGHT : target.rowTop;
    var channel = rowTop + track(MARGIN_TRACKS, 'row ' + rowTop, target.id);
    points.push([exitX, channel]);
    if (target.column > source.column) {
      var entryX = target.columnLeft + track(EDGE_TRACKS, 'edge ' + target.columnLeft, 'into ' + target.id);
      return simplified(points.concat([[entryX, channel], [entryX, ty], [t.x, ty]]));
    }
    // a flow back to an earlier column comes into its target from above or below, clear of the flows going forward
    var tx = t.x + t.width / 2;
    return simplified(points.concat([[tx, channel], [tx, channel < t.y ? t.y : t.y + t.height]]));
  }

  // A message flow leaves the side of its shape that faces the other end, turns just inside its row's margin to a
  // track of its own along the cells' edge, and comes into the other end the same way; a pool is met straight from
  // that track, and two pools are joined along the cells' edge in their middle, which crosses no shape between.
  function routeMessage(id, source, target, track) {
    var down = source.bounds.y + source.bounds.height / 2 < target.bounds.y + target.bounds.height / 2;
    function edge(item) { return item.columnRight + track(MESSAGE_TRACKS, 'edge ' + item.columnRight, id); }
    var x = edge(source.pool && !target.pool ? target : source);
    var from = source.pool ? [[x, sideOf(source, down)]] : outOf(source, down, x);
    var into = target.pool ? [[x, sideOf(target, !down)]] : outOf(target, !down, x).reverse();
    return simplified(from.concat(into));
  }

  function sideOf(item, lower) { return lower ? item.bounds.y + item.bounds.height : item.bounds.y; }

  // From the middle of a shape's side to the cells' edge at x, just inside the margin of the shape's row.
  function outOf(item, lower, x) {
    var middle = item.bounds.x + item.bounds.width / 2;
    var channel = lower ? item.rowTop + CELL_HEIGHT - CHANNEL / 2 : item.rowTop + CHANNEL;
    return [[middle, sideOf(item, lower)], [middle, channel], [x, channel]];
  }

  // The route without repeated points and without points in the middle of a straight run.
  function simplified(points) {
    var kept = [];
    points.forEach(function (p) {
      var last = kept[kept.length - 1], before = kept[kept.length - 2];
      if (last && last[0] === p[0] && last[1] === p[1]) { return; }
      if (before && ((before[0] === last[0] && last[0] === p[0]) || (before[1] === last[1] && last[1] === p[1]))) {
        kept.pop();
      }
      kept.push(p);
    });
    return kept;
  }

  // -- writing the DI --------------------------------------------------------------------------------------

  function writer(doc) {
    function make(ns, name) { return doc.createElementNS(ns, name); }
    function bounds(b) {
      var element = make(DC, 'dc:Bounds');
      ['x', 'y', 'width', 'height'].forEach(function (key) { element.setAttribute(key, String(Math.round(b[key]))); });
      return element;
    }
    return {
      shape: function (id, b, horizontal) {
        var shape = make(BPMNDI, 'bpmndi:BPMNShape');
        shape.setAttribute('id', id + '_di');
        shape.setAttribute('bpmnElement', id);
        if (horizontal) { shape.setAttribute('isHorizontal', 'true'); }
        shape.appendChild(bounds(b));
        return shape;
      },
      moved: function (drawnShape, b) {
        var shape = doc.importNode(drawnShape, true);
        shape.replaceChild(bounds(b), diChild(shape, 'Bounds'));
        return shape;
      },
      edge: function (id, points) {
        var edge = make(BPMNDI, 'bpmndi:BPMNEdge');
        edge.setAttribute('id', id + '_di');
        edge.setAttribute('bpmnElement', id);
        points.forEach(function (p) {
          var waypoint = make(DI, 'di:waypoint');
          waypoint.setAttribute('x', String(Math.round(p[0])));
          waypoint.setAttribute('y', String(Math.round(p[1])));
          edge.appendChild(waypoint);
        });
        return edge;
      },
      kept: function (drawn) { return doc.importNode(drawn, true); }
    };
  }

  function depthOf(lanes) {
    return lanes.reduce(function (deepest, lane) { return Math.max(deepest, 1 + depthOf(lane.children)); }, 0);
  }

  function columnsOf(list) {
    return list.reduce(function (most, band) {
      return band.steps.reduce(function (m, step) { return Math.max(m, step.column + 1); }, most);
    }, 1);
  }

  // Draws each process in turn from the top, in its pool when it has one: its lanes, its steps moved into them,
  // its flows routed again, and what bpmn-auto-layout drew inside its subprocesses as it was (bpmn-js shows that
  // on planes of their own). Returns the plane's elements and where each step, boundary event and pool ended up.
  function drawAll(doc, index, entries, inPools) {
    var out = writer(doc);
    var depth = entries.reduce(function (d, entry) { return Math.max(d, depthOf(entry.lanes)); }, 0);
    var laneLeft = inPools ? NAME_WIDTH : 0;
    var left = laneLeft + depth * NAME_WIDTH;
    var columns = entries.reduce(function (c, entry) { return Math.max(c, entry.bands ? columnsOf(entry.bands) : 1); }, 1);
    var right = left + columns * CELL_WIDTH;
    var plane = [], where = {};
    var top = 0;
    entries.forEach(function (entry) {
      var laid = entry.bands ? place(entry.bands, left, top) : { steps: {}, height: EMPTY_POOL_HEIGHT };
      if (entry.participant) {
        var pool = { x: 0, y: top, width: right, height: laid.height };
        where[entry.participant.getAttribute('id')] = { pool: true, bounds: pool,
                                                        columnRight: left + Math.floor(columns / 2) * CELL_WIDTH };
        plane.push(out.shape(entry.participant.getAttribute('id'), pool, true));
      }
      eachLane(entry.lanes, function (lane) {
        var inside = entry.bands.filter(function (band) { return band.lane && isWithin(band.lane, lane); });
        var first = inside[0], last = inside[inside.length - 1];
        var x = laneLeft + lane.depth * NAME_WIDTH;
        plane.push(out.shape(lane.element.getAttribute('id'),
                             { x: x, y: first.top, width: right - x, height: last.top + last.height - first.top }, true));
      });
      var occupied = {};
      var track = trackKeeper();
      Object.keys(laid.steps).forEach(function (id) {
        var step = laid.steps[id];
        occupied[step.row + ',' + step.column] = true;
        where[id] = step;
        plane.push(out.moved(entry.drawn.shapes[id], step.bounds));
      });
      if (entry.drawn) {
        drawBoundaryEvents(entry, laid, out, plane, where);
        drawFlows(entry, where, occupied, track, out, plane);
        entry.drawn.all.forEach(function (di) {
          var id = di.getAttribute('bpmnElement');
          if (!where[id] && !isFlowOf(index[id], entry.process)) { plane.push(out.kept(di)); }
        });
      }
      top += laid.height + POOL_GAP;
    });
    return { plane: plane, where: where };
  }

  function isWithin(inner, outer) {
    return inner === outer || outer.children.some(function (child) { return isWithin(inner, child); });
  }

  function isFlowOf(element, process) {
    return Boolean(element) && element.localName === 'sequenceFlow' && element.parentNode === process;
  }

  // A boundary event moves with the step it is attached to, and its flows leave from its cell.
  function drawBoundaryEvents(entry, laid, out, plane, where) {
    modelChildren(entry.process, 'boundaryEvent').forEach(function (event) {
      var id = event.getAttribute('id');
      var host = laid.steps[event.getAttribute('attachedToRef')];
      if (!entry.drawn.shapes[id] || !host) { return; }
      var b = boundsOf(entry.drawn.shapes[id]);
      var moved = { x: b.x + host.bounds.x - host.before.x, y: b.y + host.bounds.y - host.before.y,
                    width: b.width, height: b.height };
      where[id] = { id: id, attachedTo: host, row: host.row, column: host.column, rowTop: host.rowTop,
                    columnLeft: host.columnLeft, columnRight: host.columnRight, bounds: moved };
      plane.push(out.moved(entry.drawn.shapes[id], moved));
    });
  }

  function drawFlows(entry, where, occupied, track, out, plane) {
    modelChildren(entry.process, 'sequenceFlow').forEach(function (flow) {
      var source = where[flow.getAttribute('sourceRef')], target = where[flow.getAttribute('targetRef')];
      if (!source || !target || target.attachedTo || source.pool || target.pool) { return; }
      plane.push(out.edge(flow.getAttribute('id'), routeFlow(source, target, occupied, track)));
    });
  }

  function prefixed(doc) {
    var root = doc.documentElement;
    [['bpmndi', BPMNDI], ['dc', DC], ['di', DI]].forEach(function (pair) {
      if (!root.hasAttribute('xmlns:' + pair[0])) {
        root.setAttributeNS('http://www.w3.org/2000/xmlns/', 'xmlns:' + pair[0], pair[1]);
      }
    });
  }

  window.vfLanes = function (doc, layoutProcess) {
    var root = doc.documentElement;
    var index = byId(doc);
    var collaboration = modelChildren(root, 'collaboration')[0];
    var participants = collaboration ? modelChildren(collaboration, 'participant') : [];
    var seen = {};
    var entries = participants.length ? participants.map(function (participant) {
      var process = index[participant.getAttribute('processRef')];
      var fresh = process && process.localName === 'process' && !seen[process.getAttribute('id')];
      if (fresh) { seen[process.getAttribute('id')] = true; }
      return { participant: participant, process: fresh ? process : null };
    }) : modelChildren(root, 'process').slice(0, 1).map(function (process) { return { process: process }; });
    if (!participants.length && (!entries.length || !laneTree(entries[0].process, 0).length)) {
      return Promise.resolve(null);
    }
    return Promise.all(entries.map(function (entry) {
      if (!entry.process) { entry.lanes = []; return null; }
      entry.lanes = laneTree(entry.process, 0);
      return autoLayout(doc, entry.process, layoutProcess).then(function (drawn) {
        entry.drawn = drawn;
        entry.bands = bands(entry.process, entry.lanes, drawn);
      });
    })).then(function () {
      var drawing = drawAll(doc, index, entries, participants.length > 0);
      var out = writer(doc);
      var track = trackKeeper();
      (collaboration ? modelChildren(collaboration, 'messageFlow') : []).forEach(function (message) {
        var source = drawing.where[message.getAttribute('sourceRef')];
        var target = drawing.where[message.getAttribute('targetRef')];
        if (source && target) {
          drawing.plane.push(out.edge(message.getAttribute('id'), routeMessage(message.getAttribute('id'), source, target, track)));
        }
      });
      Array.prototype.slice.call(doc.getElementsByTagNameNS(BPMNDI, 'BPMNDiagram')).forEach(function (old) {
        old.parentNode.removeChild(old);
      });
      prefixed(doc);
      var diagram = doc.createElementNS(BPMNDI, 'bpmndi:BPMNDiagram');
      diagram.setAttribute('id', 'BPMNDiagram_laid_out');
      var plane = doc.createElementNS(BPMNDI, 'bpmndi:BPMNPlane');
      plane.setAttribute('id', 'BPMNPlane_laid_out');
      plane.setAttribute('bpmnElement', (collaboration || entries[0].process).getAttribute('id'));
      drawing.plane.forEach(function (element) { plane.appendChild(element); });
      diagram.appendChild(plane);
      root.appendChild(diagram);
      return new XMLSerializer().serializeToString(doc);
    });
  };
})();
