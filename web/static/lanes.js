// Lanes and pools for a diagram that came without positions. bpmn-auto-layout places the steps of one process in a
// grid of columns and rows and draws neither lanes nor pools; here each process to draw (each pool's, each process
// of a file that has several, or the one process) is laid out by it on its own, then its steps are moved into
// horizontal bands, one per lane (a lane is the role whose staff do the step), and one below them for the steps
// of no lane, keeping their columns so the flow still reads left to right. Each subprocess gets the same on a
// plane of its own. Pools are stacked one under another, each with its name at its left; boundary events sit on their
// host's bottom border; flows are drawn again as orthogonal routes that run between the grid's cells, never through
// a shape, and message flows join their pools. doc must hold the flow references.
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
    var points = source.attachedTo
      ? [[s.x + s.width / 2, s.y + s.height], [s.x + s.width / 2, source.below], [exitX, source.below]]
      : [[s.x + s.width, sy], [exitX, sy]];
    if (target.columnLeft === source.columnRight) {
      return simplified(points.concat([[exitX, ty], [t.x, ty]]));
    }
    var rowTop = target.row < source.row ? target.rowTop + CELL_HEIGHT : target.rowTop;
    var channel = rowTop + track(MARGIN_TRACKS, 'row ' + rowTop, target.id);
    points.push([exitX, channel]);
    if (target.column > source.column || target.attachers) {
      var entryX = target.columnLeft + track(EDGE_TRACKS, 'edge ' + target.columnLeft, 'into ' + target.id);
      return simplified(points.concat([[entryX, channel], [entryX, ty], [t.x, ty]]));
    }
    // a flow back to an earlier column comes into its target from above or below, clear of the flows going forward
    // (into a step with boundary events on its bottom border, it comes in from the left like those)
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

  // Draws each process (or subprocess) in turn from origin down, in its pool when it has one: its lanes, its
  // steps moved into them, its flows routed again, and what else bpmn-auto-layout drew for it as it was. Returns
  // the plane's elements, where each step, boundary event and pool ended up, and the bands of steps in no lane.
  function drawAll(doc, index, entries, inPools, origin) {
    var out = writer(doc);
    var depth = entries.reduce(function (d, entry) { return Math.max(d, depthOf(entry.lanes)); }, 0);
    var laneLeft = origin.x + (inPools ? NAME_WIDTH : 0);
    var left = laneLeft + depth * NAME_WIDTH;
    var columns = entries.reduce(function (c, entry) { return Math.max(c, entry.bands ? columnsOf(entry.bands) : 1); }, 1);
    var right = left + columns * CELL_WIDTH;
    var plane = [], where = {}, noLane = [];
    var top = origin.y;
    entries.forEach(function (entry) {
      var laid = entry.bands ? place(entry.bands, left, top) : { steps: {}, height: EMPTY_POOL_HEIGHT };
      var loose = entry.lanes.length ? entry.bands.find(function (band) { return !band.lane; }) : null;
      if (loose) {
        noLane.push({ x: laneLeft, y: loose.top, width: right - laneLeft, height: loose.height,
                      step: loose.steps[0].id });
      }
      if (entry.participant) {
        var pool = { x: origin.x, y: top, width: right - origin.x, height: laid.height };
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
          if (!where[id] && !isFlowOf(index[id], entry.process) && ownerOf(index[id]) === entry.process) {
            plane.push(out.kept(di));
          }
        });
      }
      top += laid.height + POOL_GAP;
    });
    return { plane: plane, where: where, noLane: noLane };
  }

  var SUBPROCESSES = ['subProcess', 'transaction', 'adHocSubProcess'];

  // The process or subprocess an element is drawn with: the nearest that holds it.
  function ownerOf(element) {
    var owner = element && element.parentNode;
    while (owner && owner.localName !== 'process' && SUBPROCESSES.indexOf(owner.localName) < 0) {
      owner = owner.parentNode;
    }
    return owner;
  }

  function isWithin(inner, outer) {
    return inner === outer || outer.children.some(function (child) { return isWithin(inner, child); });
  }

  function isFlowOf(element, process) {
    return Boolean(element) && element.localName === 'sequenceFlow' && element.parentNode === process;
  }

  // Boundary events sit on their host's bottom border, and each one's flows leave from below it along a track of
  // its own in the bottom margin of the host's row: the rightmost event's track is the highest, so no flow runs
  // under another event's stub. One or two events keep clear of the border's middle, where bpmn-js draws the
  // marker of a subprocess, a call activity or a loop; more are spread BOUNDARY_SPACING apart around it.
  var BOUNDARY_SPACING = 44;
  var BOUNDARY_BESIDE_MIDDLE = [[-28], [-28, 28]];
  var BOUNDARY_TRACKS = [4, 9, 14];  // below the events' lower edge

  function boundaryOffset(i, count) {
    var beside = BOUNDARY_BESIDE_MIDDLE[count - 1];
    return beside ? beside[i] : (i - (count - 1) / 2) * BOUNDARY_SPACING;
  }

  function drawBoundaryEvents(entry, laid, out, plane, where) {
    var byHost = {};
    modelChildren(entry.process, 'boundaryEvent').forEach(function (event) {
      var host = laid.steps[event.getAttribute('attachedToRef')];
      if (!entry.drawn.shapes[event.getAttribute('id')] || !host) { return; }
      (byHost[host.id] || (byHost[host.id] = [])).push(event.getAttribute('id'));
    });
    Object.keys(byHost).forEach(function (hostId) {
      var host = laid.steps[hostId], ids = byHost[hostId];
      host.attachers = ids;
      ids.forEach(function (id, i) {
        var size = boundsOf(entry.drawn.shapes[id]);
        var centreX = host.bounds.x + host.bounds.width / 2 + boundaryOffset(i, ids.length);
        var bottom = host.bounds.y + host.bounds.height;
        var bounds = { x: centreX - size.width / 2, y: bottom - size.height / 2,
                       width: size.width, height: size.height };
        var track = BOUNDARY_TRACKS[Math.min(ids.length - 1 - i, BOUNDARY_TRACKS.length - 1)];
        where[id] = { id: id, attachedTo: host, row: host.row, column: host.column, rowTop: host.rowTop,
                      columnLeft: host.columnLeft, columnRight: host.columnRight, bounds: bounds,
                      below: bounds.y + bounds.height + track };
        plane.push(out.moved(entry.drawn.shapes[id], bounds));
      });
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

  // Each subprocess is drawn on a plane of its own, which bpmn-js opens from the subprocess's shape, as a process
  // is: in its lanes when it has any, its boundary events on their hosts, its flows routed again. bpmn-js opens
  // such a plane at 0,0 unzoomed, under its breadcrumbs (and the modeler's palette) at the left: it starts lower.
  var SUBPROCESS_ORIGIN = { x: 160, y: 80 };

  function subprocessEntries(entry) {
    return Array.prototype.filter.call(entry.process.getElementsByTagNameNS(MODEL, '*'), function (element) {
      return SUBPROCESSES.indexOf(element.localName) >= 0;
    }).map(function (sub) {
      var lanes = laneTree(sub, 0);
      return { process: sub, lanes: lanes, drawn: entry.drawn, bands: bands(sub, lanes, entry.drawn) };
    });
  }

  // A definitions file with several processes and no collaboration is drawn as pools, one per process and named
  // after it: a collaboration is written for them, the process main names first, else the process that runs
  // (executable, called by no other).
  function poolsFor(doc, processes, index, main) {
    var called = {};
    Array.prototype.forEach.call(doc.getElementsByTagNameNS(MODEL, 'callActivity'), function (call) {
      called[call.getAttribute('calledElement')] = true;
    });
    function rank(process) {
      var id = process.getAttribute('id');
      return id === main ? -1 : (called[id] ? 2 : 0) + (process.getAttribute('isExecutable') === 'true' ? 0 : 1);
    }
    var root = doc.documentElement;
    var collaboration = doc.createElementNS(MODEL, qualified(root, 'collaboration'));
    collaboration.setAttribute('id', freshId(index, 'Collaboration_laid_out'));
    processes.slice().sort(function (a, b) { return rank(a) - rank(b); }).forEach(function (process) {
      var participant = doc.createElementNS(MODEL, qualified(root, 'participant'));
      participant.setAttribute('id', freshId(index, 'Participant_' + process.getAttribute('id')));
      participant.setAttribute('name', process.getAttribute('name') || process.getAttribute('id'));
      participant.setAttribute('processRef', process.getAttribute('id'));
      collaboration.appendChild(participant);
    });
    root.insertBefore(collaboration, processes[0]);
    return collaboration;
  }

  function qualified(root, localName) { return (root.prefix ? root.prefix + ':' : '') + localName; }

  function freshId(index, wanted) {
    var id = wanted;
    for (var n = 2; index[id]; n += 1) { id = wanted + '_' + n; }
    return id;
  }

  function diagramOf(doc, id, element, drawn) {
    var diagram = doc.createElementNS(BPMNDI, 'bpmndi:BPMNDiagram');
    diagram.setAttribute('id', 'BPMNDiagram_' + id);
    var plane = doc.createElementNS(BPMNDI, 'bpmndi:BPMNPlane');
    plane.setAttribute('id', 'BPMNPlane_' + id);
    plane.setAttribute('bpmnElement', element.getAttribute('id'));
    drawn.forEach(function (shape) { plane.appendChild(shape); });
    diagram.appendChild(plane);
    return diagram;
  }

  function drawMessageFlows(doc, collaboration, drawing) {
    var out = writer(doc);
    var track = trackKeeper();
    (collaboration ? modelChildren(collaboration, 'messageFlow') : []).forEach(function (message) {
      var source = drawing.where[message.getAttribute('sourceRef')];
      var target = drawing.where[message.getAttribute('targetRef')];
      if (source && target) {
        var id = message.getAttribute('id');
        drawing.plane.push(out.edge(id, routeMessage(id, source, target, track)));
      }
    });
  }

  // window.vfLanes(doc, layoutProcess, main) resolves to {xml, noLane}: the diagram's text with positions, and the
  // bands of steps that belong to no lane of a process that has lanes ({x, y, width, height, step: a step in it}),
  // which have no element of their own to be drawn by; or to null when the definitions hold no process. main, when
  // given, names the process to draw first of several.
  window.vfLanes = function (doc, layoutProcess, main) {
    var root = doc.documentElement;
    var index = byId(doc);
    var processes = modelChildren(root, 'process');
    var collaboration = modelChildren(root, 'collaboration')[0]
      || (processes.length > 1 ? poolsFor(doc, processes, index, main) : null);
    index = byId(doc);
    var participants = collaboration ? modelChildren(collaboration, 'participant') : [];
    var seen = {};
    var entries = participants.length ? participants.map(function (participant) {
      var process = index[participant.getAttribute('processRef')];
      var fresh = process && process.localName === 'process' && !seen[process.getAttribute('id')];
      if (fresh) { seen[process.getAttribute('id')] = true; }
      return { participant: participant, process: fresh ? process : null };
    }) : processes.slice(0, 1).map(function (process) { return { process: process }; });
    if (!entries.length) { return Promise.resolve(null); }
    return Promise.all(entries.map(function (entry) {
      if (!entry.process) { entry.lanes = []; return null; }
      entry.lanes = laneTree(entry.process, 0);
      return autoLayout(doc, entry.process, layoutProcess).then(function (drawn) {
        entry.drawn = drawn;
        entry.bands = bands(entry.process, entry.lanes, drawn);
      });
    })).then(function () {
      var drawing = drawAll(doc, index, entries, participants.length > 0, { x: 0, y: 0 });
      drawMessageFlows(doc, collaboration, drawing);
      Array.prototype.slice.call(doc.getElementsByTagNameNS(BPMNDI, 'BPMNDiagram')).forEach(function (old) {
        old.parentNode.removeChild(old);
      });
      prefixed(doc);
      root.appendChild(diagramOf(doc, 'laid_out', collaboration || entries[0].process, drawing.plane));
      var noLane = drawing.noLane;
      entries.filter(function (entry) { return entry.process; }).forEach(function (entry) {
        subprocessEntries(entry).forEach(function (sub) {
          var own = drawAll(doc, index, [sub], false, SUBPROCESS_ORIGIN);
          root.appendChild(diagramOf(doc, sub.process.getAttribute('id') + '_laid_out', sub.process, own.plane));
          noLane = noLane.concat(own.noLane);
        });
      });
      return { xml: new XMLSerializer().serializeToString(doc), noLane: noLane };
    });
  };
})();
