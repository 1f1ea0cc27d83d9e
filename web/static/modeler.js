// The modeler page: bpmn-js's Modeler on a copy of a process, with the side panel (modeler-panel.js),
// and the Validate, Save draft, Reopen draft and Deploy actions, which call the JSON endpoints
// /api/v1/processes/… with the session and the X-CSRF-Token header. Reads #modeler-data.
(function () {
  'use strict';
  var data = JSON.parse(document.getElementById('modeler-data').textContent);
  var container = document.getElementById('canvas');
  var statusLine = document.getElementById('modeler-status');
  var panelBox = document.getElementById('panel');
  var problemsBox = document.getElementById('problems');
  var deployedBox = document.getElementById('deployed');
  var reopenButton = document.getElementById('btn-reopen-draft');
  var modeler, panel;
  // the package's files the diagram does not hold: its tables, forms, and other files (diagrams it calls into,
  // other tools' form files), kept as they are
  var extras = { dmn: {}, forms: {}, files: {} };
  var draftRevision = data.draft ? data.draft.revision : 0;
  var dirty = false;
  var laidOut = false;  // whether the diagram shown came without positions and was laid out here
  var LAID_OUT = 'The diagram came without positions for its shapes, so it was laid out automatically: '
    + 'move what you like, then save a draft or deploy to keep the layout.';
  var marked = [];
  var MAX_FILE = 5 * 1024 * 1024;

  function say(message, kind) {
    statusLine.textContent = message;
    statusLine.className = 'modeler-status' + (kind ? ' modeler-status-' + kind : '');
  }

  var MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

  // A moment as the pages write it (engine/time/written.py): "Sun 6 Dec 2026, 14:05" in the app's time zone.
  function writtenMoment(iso) {
    var parts = {};
    new Intl.DateTimeFormat('en-GB', {
      timeZone: data.timezone, weekday: 'short', day: 'numeric', month: 'numeric', year: 'numeric',
      hour: '2-digit', minute: '2-digit', hourCycle: 'h23'
    }).formatToParts(new Date(iso)).forEach(function (part) { parts[part.type] = part.value; });
    return parts.weekday + ' ' + Number(parts.day) + ' ' + MONTHS[parts.month - 1] + ' ' + parts.year + ', ' + parts.hour
      + ':' + parts.minute;
  }

  function fail(message) {
    container.dataset.state = 'error';
    panelBox.innerHTML = '';
    say(message, 'error');
  }

  // The process being edited: the diagram's, or in a collaboration the first executable pool's (else the first's).
  function editedProcess() {
    var root = modeler.get('canvas').getRootElement().businessObject;
    if (!root || root.$type !== 'bpmn:Collaboration') { return root; }
    var pools = (root.participants || []).filter(function (p) { return p.processRef; });
    var pool = pools.filter(function (p) { return p.processRef.isExecutable; })[0] || pools[0];
    return pool && pool.processRef;
  }

  function processKey() {
    var process = editedProcess();
    return process ? process.id : data.key;
  }

  function showTitle() {
    var process = editedProcess();
    document.getElementById('modeler-title').textContent = (process && process.name) || processKey();
  }

  function api(method, url, body) {
    var text = body === undefined ? undefined : JSON.stringify(body);
    return fetch(url, {
      method: method, credentials: 'same-origin',
      headers: { 'Content-Type': 'application/json', 'Accept': 'application/json', 'X-CSRF-Token': data.csrf },
      body: text,
    }).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (json) {
        return { status: response.status, json: json, size: text === undefined ? 0 : new Blob([text]).size };
      });
    });
  }

  function megabytes(bytes) { return (bytes / 1024 / 1024).toFixed(1) + ' MB'; }

  function errorText(answer) {
    if (answer.status === 413) {
      return (answer.size ? 'the package is ' + megabytes(answer.size) + ', ' : 'it is ')
        + 'larger than the 5 MB the server accepts, so nothing was stored. '
        + 'Shorten long texts in the diagram (documentation, scripts) or leave out what the process does not need';
    }
    return (answer.json && answer.json.error && answer.json.error.message) || ('the server answered ' + answer.status);
  }

  function collect() {
    return modeler.saveXML({ format: true }).then(function (result) {
      return { bpmn: result.xml, dmn: extras.dmn, forms: extras.forms, files: extras.files };
    });
  }

  // The whole diagram in view, right of the palette that overlays the canvas's left edge.
  function fitBesidePalette(canvas) {
    var box = canvas.viewbox(), inner = box.inner, outer = box.outer, left = 150;
    if (!inner.width || !inner.height) { return; }
    var scale = Math.min((outer.width - left - 20) / inner.width, (outer.height - 40) / inner.height, 1);
    canvas.viewbox({ x: inner.x - left / scale, y: inner.y - (outer.height / scale - inner.height) / 2,
                     width: outer.width / scale, height: outer.height / scale });
  }

  function notUnderstood(warnings) {
    return 'Reading it gave ' + warnings.length + ' warning(s); a part the modeler does not understand is left out '
      + 'when the diagram is saved. The first: ' + warnings[0].message;
  }

  // A diagram that came without positions is laid out (drawable.js); the positions are unsaved changes.
  function importPackage(pkg) {
    extras = { dmn: pkg.dmn || {}, forms: pkg.forms || {}, files: pkg.files || {} };
    marked = [];  // the markers go with the diagram they were on
    return window.vfDrawable(pkg.bpmn, data.key).then(function (drawable) {
      return modeler.importXML(drawable.xml).then(function (result) {
        window.vfDrawable.markNoLane(modeler, drawable.noLane);
        fitBesidePalette(modeler.get('canvas'));
        clearMarks();
        dirty = drawable.laidOut;
        laidOut = drawable.laidOut;
        showTitle();
        panel.render();
        container.dataset.state = 'ready';
        if (result.warnings && result.warnings.length) { say(notUnderstood(result.warnings), 'warning'); }
        else if (laidOut) { say(LAID_OUT, 'warning'); }
        return result.warnings || [];
      });
    });
  }

  // -- problems on the diagram ---------------------------------------------------------------------
  function clearMarks() {
    var canvas = modeler.get('canvas');
    var registry = modeler.get('elementRegistry');
    marked.forEach(function (m) { if (registry.get(m[0])) { canvas.removeMarker(m[0], m[1]); } });
    marked = [];
  }

  function mark(id, marker) {
    if (id && modeler.get('elementRegistry').get(id)) {
      modeler.get('canvas').addMarker(id, marker);
      marked.push([id, marker]);
    }
  }

  function focusElement(id) {
    var element = modeler.get('elementRegistry').get(id);
    if (!element) { return; }
    modeler.get('selection').select(element);
    modeler.get('canvas').scrollToElement(element);
    mark(id, 'vf-focus');
  }

  function problemList(title, items, kind) {
    var box = document.createElement('div');
    box.className = 'problem-group problem-' + kind;
    var heading = document.createElement('h3');
    heading.textContent = title + ' (' + items.length + ')';
    box.appendChild(heading);
    var list = document.createElement('ul');
    items.forEach(function (p) {
      var li = document.createElement('li');
      var where = p.element_name || p.element_id;
      if (p.element_id && modeler.get('elementRegistry').get(p.element_id)) {
        var button = document.createElement('button');
        button.type = 'button';
        button.className = 'linklike';
        button.textContent = where;
        button.title = 'Show ' + where + ' on the diagram';
        button.addEventListener('click', function () { focusElement(p.element_id); });
        li.appendChild(button);
        li.appendChild(document.createTextNode(': '));
      } else if (where) {
        li.appendChild(document.createTextNode(where + ': '));
      }
      li.appendChild(document.createTextNode(p.message));
      list.appendChild(li);
      mark(p.element_id, kind === 'errors' ? 'vf-error' : 'vf-warning');
    });
    box.appendChild(list);
    return box;
  }

  function showProblems(found) {
    clearMarks();
    var errorsBox = document.getElementById('problems-errors');
    var warningsBox = document.getElementById('problems-warnings');
    errorsBox.innerHTML = '';
    warningsBox.innerHTML = '';
    if (found.errors.length) { errorsBox.appendChild(problemList('Errors: these block a deploy', found.errors, 'errors')); }
    if (found.warnings.length) { warningsBox.appendChild(problemList('Warnings: worth fixing, not blocking', found.warnings, 'warnings')); }
    problemsBox.hidden = !found.errors.length && !found.warnings.length;
  }

  // -- actions ---------------------------------------------------------------------------------------
  function validate() {
    say('Validating…');
    return collect().then(function (pkg) { return api('POST', data.urls.validate, pkg); }).then(function (answer) {
      if (answer.status !== 200) { say('Not validated: ' + errorText(answer), 'error'); return; }
      showProblems(answer.json);
      var e = answer.json.errors.length, w = answer.json.warnings.length;
      say(e ? e + ' error(s) block a deploy; click one to see it on the diagram.' : (w ? 'No errors; ' + w + ' warning(s).' : 'No problems found: ready to deploy.'), e ? 'error' : 'success');
    });
  }

  function showDeployed(json) {
    deployedBox.hidden = false;
    var list = document.getElementById('deployed-changes');
    list.innerHTML = '';
    document.getElementById('deployed-title').textContent = (json.created ? 'Deployed as version ' : 'No change since version ') + json.version;
    var lines = json.changes.map(function (c) { return c.message; });
    if (!json.created) {
      lines = ['The diagram, its decision tables and its forms are the same as version ' + json.version + ': nothing was stored.'];
    } else if (!lines.length) {
      lines = [json.version === 1 ? 'The first version of ' + json.key + '.' : 'No step, target, role or form changed: only the drawing or other details did.'];
    }
    lines.forEach(function (text) {
      var li = document.createElement('li');
      li.textContent = text;
      list.appendChild(li);
    });
    document.getElementById('modeler-source').textContent = 'editing a copy of version ' + json.version;
    deployedBox.scrollIntoView({ block: 'nearest' });
  }

  function deploy() {
    say('Deploying…');
    return collect().then(function (pkg) {
      pkg.base_version = data.version;  // refused when someone deployed since, so that this deploy undoes nothing
      return api('POST', data.urls.deploy, pkg);
    }).then(function (answer) {
      if (answer.status === 201 || answer.status === 200) {
        showProblems({ errors: [], warnings: [] });
        data.version = answer.json.version;
        dirty = false;
        if (answer.json.draft_removed) {  // the draft held what is now deployed: nothing is left to reopen
          draftRevision = 0;
          reopenButton.hidden = true;
        }
        showDeployed(answer.json);
        say(answer.json.created ? 'Deployed: new cases use version ' + answer.json.version + '; running cases stay on theirs.' : 'No change since version ' + answer.json.version + ': nothing was deployed.', 'success');
      } else if (answer.status === 422) {
        showProblems(answer.json);
        say('Not deployed: fix the ' + answer.json.errors.length + ' error(s) listed below.', 'error');
      } else {
        say('Not deployed: ' + errorText(answer), 'error');
      }
    });
  }

  function draftUrl() { return data.urls.draft.replace('__KEY__', encodeURIComponent(processKey())); }

  function saveDraft() {
    say('Saving the draft…');
    return collect().then(function (pkg) {
      return api('PUT', draftUrl(), { package: pkg, base_revision: draftRevision });
    }).then(function (answer) {
      if (answer.status !== 200) { say('Draft not saved: ' + errorText(answer), 'error'); return; }
      draftRevision = answer.json.revision;
      dirty = false;
      reopenButton.hidden = false;
      say('Draft saved (revision ' + answer.json.revision + ') by ' + answer.json.saved_by + ' on ' + writtenMoment(answer.json.saved_at) + '.', 'success');
    });
  }

  function reopenDraft() {
    if (dirty && !window.confirm('Reopening the draft replaces your unsaved changes. Reopen it?')) { return Promise.resolve(); }
    say('Opening the draft…');
    return api('GET', draftUrl()).then(function (answer) {
      if (answer.status !== 200) { say('No draft opened: ' + errorText(answer), 'error'); return; }
      draftRevision = answer.json.revision;
      return importPackage(answer.json.package).then(function () {
        say('Draft reopened: revision ' + answer.json.revision + ', saved by ' + answer.json.saved_by + ' on ' + writtenMoment(answer.json.saved_at) + '.', 'success');
      });
    });
  }

  // A zipped package folder, read by the server into the package's JSON (its BPMN, DMN tables and forms).
  function unpack(file) {
    return fetch(data.urls.unpack, {
      method: 'POST', credentials: 'same-origin', body: file,
      headers: { 'Content-Type': 'application/zip', 'Accept': 'application/json', 'X-CSRF-Token': data.csrf },
    }).then(function (response) {
      return response.json().then(function (json) {
        if (!response.ok) { throw new Error(errorText({ status: response.status, json: json, size: file.size })); }
        return json;
      });
    });
  }

  // A .bpmn file or a package .zip from the user's computer replaces the diagram (not yet saved: Validate,
  // Save draft or Deploy).
  function openFile(input) {
    var file = input.files && input.files[0];
    input.value = '';
    if (!file) { return Promise.resolve(); }
    if (file.size > MAX_FILE) { say(file.name + ' is larger than 5 MB; nothing was opened.', 'error'); return Promise.resolve(); }
    if (dirty && !window.confirm('Opening ' + file.name + ' replaces your unsaved changes. Open it?')) { return Promise.resolve(); }
    var before, beforeExtras = extras, text = null;
    return modeler.saveXML().then(function (saved) {
      before = saved.xml;
      return /\.zip$/i.test(file.name) ? unpack(file) : file.text().then(function (read) {
        text = read;
        if (/<!(DOCTYPE|ENTITY)/i.test(read)) { throw new Error('it declares a DTD or entities, which are not allowed'); }
        return { bpmn: read, dmn: extras.dmn, forms: extras.forms, files: extras.files };
      });
    }).then(function (pkg) {
      return importPackage(pkg);
    }).then(function (warnings) {
      dirty = true;
      showProblems({ errors: [], warnings: [] });
      if (warnings.length) { say('Opened ' + file.name + '. ' + notUnderstood(warnings), 'warning'); return; }
      say('Opened ' + file.name + ': not saved yet. ' + (laidOut ? LAID_OUT + ' ' : '')
          + 'Validate it, save a draft or deploy it.', laidOut ? 'warning' : 'success');
    }, function (err) {
      var wasDirty = dirty, reason;
      return whyNotOpened(text, err).then(function (found) {
        reason = found;
        return importPackage({ bpmn: before, dmn: beforeExtras.dmn, forms: beforeExtras.forms,
                               files: beforeExtras.files });
      }).then(function () {
        dirty = wasDirty;
        say(file.name + ' could not be opened (' + reason + '); your diagram is as it was.', 'error');
      });
    });
  }

  // Why bpmn-js could not draw a file: its own reason, made plain, with the first problem the engine's
  // validation finds in the file (not XML, not BPMN, no executable process…) when it finds one.
  function whyNotOpened(text, err) {
    var drawn = String(err && err.message ? err.message : err);
    var undrawable = /no diagram to display/.test(drawn);
    var reason = undrawable ? 'it holds no drawing (BPMN diagram interchange) to show' : drawn;
    if (text === null || /DTD or entities/.test(drawn)) { return Promise.resolve(reason); }
    return api('POST', data.urls.validate, { bpmn: text }).then(function (answer) {
      var first = answer.status === 200 && answer.json.errors.length  // "x.bpmn is not …" names the sent copy
        ? answer.json.errors[0].message.replace(/^[\w.-]+\.bpmn\b/, 'it') : null;
      if (!first) { return reason; }
      return undrawable ? reason + '; the server also finds: ' + first : first;
    }, function () { return reason; });
  }

  function guarded(action) {
    return function () {
      action().catch(function (err) { say('Something went wrong: ' + (err && err.message ? err.message : err), 'error'); });
    };
  }

  // -- start ---------------------------------------------------------------------------------------
  if (typeof window.BpmnJS !== 'function') {
    fail('The modeler is not installed on this server (run npm ci in the Valueflow folder).');
    return;
  }
  fetch(data.urls.descriptor, { credentials: 'same-origin' }).then(function (r) { return r.json(); }).then(function (descriptor) {
    container.innerHTML = '';
    modeler = new window.BpmnJS({ container: container, moddleExtensions: { spiffworkflow: descriptor } });
    panel = window.ValueflowPanel(modeler, {
      container: panelBox, segments: data.segments, roles: data.roles, valueClasses: data.value_classes,
      countries: data.countries,
      say: say, isNew: function () { return data.version === null; },
      forms: function () { return extras.forms; }, files: function () { return extras.files; },
      formsChanged: function () { dirty = true; say('Unsaved changes.'); },
      editDecision: function (decisionId) { decisions.open(decisionId); },
      createDecision: function (decisionId, name) { decisions.create(decisionId, name); },
    });
    var decisions = window.ValueflowDecisions({
      dmn: function () { return extras.dmn; }, say: say, changed: function () { dirty = true; },
    });
    modeler.on('commandStack.changed', function (event) {
      if (event.trigger !== 'clear') { dirty = true; say('Unsaved changes.'); showTitle(); }
    });
    document.getElementById('btn-validate').addEventListener('click', guarded(validate));
    document.getElementById('btn-deploy').addEventListener('click', guarded(deploy));
    document.getElementById('btn-save-draft').addEventListener('click', guarded(saveDraft));
    reopenButton.addEventListener('click', guarded(reopenDraft));
    var fileInput = document.getElementById('open-file');
    fileInput.addEventListener('change', guarded(function () { return openFile(fileInput); }));
    window.addEventListener('beforeunload', function (event) {
      if (dirty) { event.preventDefault(); event.returnValue = ''; }
    });
    return importPackage(data.package);
  }).catch(function (err) {
    fail('The diagram could not be opened: ' + (err && err.message ? err.message : err));
  });
})();
