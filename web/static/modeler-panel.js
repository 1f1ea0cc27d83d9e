// The modeler's side panel: shows and edits the customer-value annotations of the selected element
// (docs/design.md, "Step annotations") as spiffworkflow:properties in the BPMN itself. Every edit goes
// through bpmn-js's modeling service, so it can be undone and marks the diagram as changed.
// Exposes window.ValueflowPanel(modeler, options) → {render}.
(function () {
  'use strict';
  var HUMAN_TASKS = ['bpmn:UserTask', 'bpmn:ManualTask', 'bpmn:Task'];
  var TARGET = 'targetDuration';
  var ISO_DURATION = /^P(?:(\d+)W)?(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?)?$/;

  function roleKey(laneName) {
    return (laneName || '').normalize('NFC').toLowerCase().replace(/[^\p{L}\p{N}]+/gu, '-').replace(/^-+|-+$/g, '');
  }

  // "P1DT2H30M" → {days: 1, hours: 2, minutes: 30}; null when it is not a duration this panel can show.
  function splitDuration(text) {
    var m = ISO_DURATION.exec(text || '');
    if (!m || text === 'P' || /T$/.test(text) || (+m[5] || 0) % 60) { return null; }
    var minutes = (+m[4] || 0) + Math.floor((+m[5] || 0) / 60);
    return { days: (+m[1] || 0) * 7 + (+m[2] || 0), hours: +m[3] || 0, minutes: minutes };
  }

  function joinDuration(days, hours, minutes) {
    var total = ((days || 0) * 24 + (hours || 0)) * 60 + (minutes || 0);
    if (!total) { return ''; }
    var d = Math.floor(total / 1440), h = Math.floor(total % 1440 / 60), m = total % 60;
    return 'P' + (d ? d + 'D' : '') + (h || m ? 'T' + (h ? h + 'H' : '') + (m ? m + 'M' : '') : '');
  }

  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (name) {
      if (name === 'text') { node.textContent = attrs[name]; } else if (attrs[name] !== null && attrs[name] !== undefined) { node.setAttribute(name, attrs[name]); }
    });
    (children || []).forEach(function (child) { if (child) { node.appendChild(child); } });
    return node;
  }

  window.ValueflowPanel = function (modeler, options) {
    var container = options.container;
    var modeling = modeler.get('modeling');
    var moddle = modeler.get('moddle');
    var canvas = modeler.get('canvas');
    var registry = modeler.get('elementRegistry');
    var selection = modeler.get('selection');
    var counter = 0;
    var writing = false;  // the panel's own edits do not redraw it under the user's cursor

    function fromPanel(change) {
      // a label still being typed on the canvas would overwrite the panel's edit when it closes
      var directEditing = modeler.get('directEditing');
      if (directEditing.isActive()) { directEditing.cancel(); }
      writing = true;
      try { change(); } finally { writing = false; }
    }

    function propertiesElement(bo) {
      var values = bo.extensionElements && bo.extensionElements.values;
      return (values || []).filter(function (v) { return v.$type === 'spiffworkflow:Properties'; })[0] || null;
    }

    function readProperties(bo) {
      var found = {};
      var holder = propertiesElement(bo);
      ((holder && holder.properties) || []).forEach(function (p) { found[p.name] = p.value; });
      return found;
    }

    // changes: {propertyName: value}; an empty value removes the property. Other extension elements stay.
    function writeProperties(shape, bo, changes) {
      var holder = propertiesElement(bo);
      var list = holder ? (holder.properties || []).slice() : [];
      var changed = false;
      Object.keys(changes).forEach(function (name) {
        var value = changes[name];
        var at = list.findIndex(function (p) { return p.name === name; });
        if (value === '' || value === null || value === undefined) {
          if (at >= 0) { list.splice(at, 1); changed = true; }
        } else if (at < 0 || list[at].value !== value) {
          var property = moddle.create('spiffworkflow:Property', { name: name, value: value });
          if (at >= 0) { list[at] = property; } else { list.push(property); }
          changed = true;
        }
      });
      if (!changed) { return; }
      fromPanel(function () {
        if (holder) { modeling.updateModdleProperties(shape, holder, { properties: list }); return; }
        holder = moddle.create('spiffworkflow:Properties', { properties: list });
        var ext = bo.extensionElements;
        if (ext) {
          modeling.updateModdleProperties(shape, ext, { values: (ext.values || []).concat([holder]) });
        } else {
          modeling.updateModdleProperties(shape, bo, { extensionElements: moddle.create('bpmn:ExtensionElements', { values: [holder] }) });
        }
      });
    }

    function rename(shape, name) {
      fromPanel(function () { modeling.updateProperties(shape, { name: name }); });
    }

    // The process and the shape that stands for it (its pool, or the canvas root without one).
    function processOf() {
      var root = canvas.getRootElement();
      if (!root || !root.businessObject) { return null; }  // while a diagram is being imported
      if (root.businessObject.$type !== 'bpmn:Collaboration') { return { shape: root, bo: root.businessObject }; }
      var pools = registry.filter(function (e) { return e.type === 'bpmn:Participant' && e.businessObject.processRef; });
      var pool = pools.filter(function (p) { return p.businessObject.processRef.isExecutable; })[0] || pools[0];
      return pool ? { shape: pool, bo: pool.businessObject.processRef } : null;
    }

    function laneOf(bo) {
      return registry.filter(function (e) {
        return e.type === 'bpmn:Lane' && (e.businessObject.flowNodeRef || []).indexOf(bo) >= 0;
      })[0] || null;
    }

    // -- fields ---------------------------------------------------------------------------------
    function field(labelText, input, hint) {
      var id = 'vf-field-' + (++counter);
      input.id = input.id || id;
      return el('div', { 'class': 'vf-field' }, [el('label', { 'for': input.id, text: labelText }), input,
        hint ? el('p', { 'class': 'vf-hint', text: hint }) : null]);
    }

    function textInput(id, value, onChange, multiline) {
      var input = el(multiline ? 'textarea' : 'input', multiline ? { id: id, rows: '3' } : { id: id, type: 'text' });
      input.value = value || '';
      input.addEventListener('change', function () { onChange(input.value.trim()); });
      return input;
    }

    // Days, hours and minutes written back as one ISO 8601 duration.
    function durationInputs(id, label, value, onChange) {
      var parts = splitDuration(value) || { days: 0, hours: 0, minutes: 0 };
      var inputs = {};
      var stored = el('p', { 'class': 'vf-hint', text: value ? 'Stored as ' + value + '.' : 'No target: leave empty for none.' });
      var box = el('div', { 'class': 'vf-duration', role: 'group', 'aria-label': label });
      [['days', 'd'], ['hours', 'h'], ['minutes', 'min']].forEach(function (unit) {
        var input = el('input', { id: id + '-' + unit[0], type: 'number', min: '0', step: '1', 'aria-label': label + ' ' + unit[0] });
        input.value = value ? String(parts[unit[0]]) : '';
        input.addEventListener('change', function () {
          var n = function (k) { return Math.max(0, parseInt(inputs[k].value, 10) || 0); };
          var iso = joinDuration(n('days'), n('hours'), n('minutes'));
          onChange(iso);
          stored.textContent = iso ? 'Stored as ' + iso + '.' : 'No target: leave empty for none.';
        });
        inputs[unit[0]] = input;
        box.appendChild(el('span', { 'class': 'vf-unit' }, [input, el('span', { text: unit[1] })]));
      });
      var wrapper = el('div', { 'class': 'vf-field' }, [el('span', { 'class': 'vf-label', text: label }), box]);
      if (value && !splitDuration(value)) {
        wrapper.appendChild(el('p', { 'class': 'vf-hint vf-flag', text: 'Now “' + value + '”, which these fields cannot show; typing here replaces it.' }));
      }
      wrapper.appendChild(stored);
      return wrapper;
    }

    // What the chosen value class means ("Value-adding: the customer would pay for this step"), said under the
    // select, whose options name the class only
    function valueClassExplained(code) {
      var known = options.valueClasses[code];
      if (!code) { return 'VA: the customer would pay for it · BVA: the business or a regulator requires it · NVA: waste to remove.'; }
      return known ? known.name + ': ' + known.meaning : 'Unknown value class “' + code + '”: choose VA, BVA or NVA.';
    }

    function valueClassSelect(current, onChange) {
      var select = el('select', { id: 'vf-value-class' });
      select.appendChild(el('option', { value: '', text: 'Not classified' }));
      Object.keys(options.valueClasses).forEach(function (code) {
        var option = el('option', { value: code, text: code + ' — ' + options.valueClasses[code].name });
        if (code === current) { option.selected = true; }
        select.appendChild(option);
      });
      select.addEventListener('change', function () { onChange(select.value); });
      return select;
    }

    function segmentRows(shape, bo, props) {
      var box = el('fieldset', { 'class': 'vf-segments' }, [el('legend', { text: 'Targets for customer segments' })]);
      var used = Object.keys(props).filter(function (k) { return k.indexOf(TARGET + '.') === 0; })
        .map(function (k) { return k.slice(TARGET.length + 1); });
      used.forEach(function (segment) {
        var row = durationInputs('vf-segment-' + segment, 'Target for ' + segment, props[TARGET + '.' + segment], function (iso) {
          var change = {}; change[TARGET + '.' + segment] = iso; writeProperties(shape, bo, change);
        });
        row.classList.add('vf-segment-row');
        var remove = el('button', { type: 'button', 'class': 'btn btn-small btn-quiet', text: 'Remove ' + segment + ' target' });
        remove.addEventListener('click', function () {
          var change = {}; change[TARGET + '.' + segment] = ''; writeProperties(shape, bo, change);
          render();
        });
        row.appendChild(remove);
        box.appendChild(row);
      });
      var free = options.segments.filter(function (s) { return used.indexOf(s) < 0; });
      if (!free.length) {
        box.appendChild(el('p', { 'class': 'vf-hint', text: used.length ? 'Every known segment has its own target.' : 'No customer segments are known yet.' }));
        return box;
      }
      var pick = el('select', { id: 'vf-new-segment', 'aria-label': 'Segment to give its own target' });
      free.forEach(function (s) { pick.appendChild(el('option', { value: s, text: s })); });
      var add = el('button', { type: 'button', 'class': 'btn btn-small', text: 'Add a segment target' });
      add.addEventListener('click', function () {
        var change = {};
        change[TARGET + '.' + pick.value] = readProperties(bo)[TARGET] || 'PT1H';  // starts as the step's target
        writeProperties(shape, bo, change);
        render();
      });
      box.appendChild(el('div', { 'class': 'vf-add-segment' }, [pick, add]));
      return box;
    }

    // -- panels ---------------------------------------------------------------------------------
    function taskPanel(shape) {
      var bo = shape.businessObject;
      var props = readProperties(bo);
      var lane = laneOf(bo);
      var write = function (name) { return function (value) { var c = {}; c[name] = value; writeProperties(shape, bo, c); }; };
      var explained = el('p', { 'class': 'vf-explain', text: valueClassExplained(props.valueClass) });
      return [
        el('p', { 'class': 'eyebrow', text: 'Step for people · ' + bo.id }),
        el('h2', { text: bo.name || bo.id }),
        field('Name', textInput('vf-name', bo.name, function (v) { rename(shape, v); })),
        el('p', { 'class': 'vf-role' + (lane ? '' : ' vf-flag'), text: lane ? 'Done by the role ' + roleKey(lane.businessObject.name) + ' (its lane).' : 'Outside every lane: move it into a lane so a role does it.' }),
        field('Customer value', textInput('vf-customer-value', props.customerValue, write('customerValue'), true), 'What the step gives the customer, in their words.'),
        field('Value class', valueClassSelect(props.valueClass, function (code) {
          write('valueClass')(code);
          explained.textContent = valueClassExplained(code);
        })),
        explained,
        durationInputs('vf-target', 'Target', props[TARGET], write(TARGET)),
        segmentRows(shape, bo, props),
        formEditor.section(bo),
      ];
    }

    function lanePanel(shape) {
      var bo = shape.businessObject;
      var role = roleKey(bo.name);
      var known = options.roles.indexOf(role) >= 0;
      return [
        el('p', { 'class': 'eyebrow', text: 'Lane · ' + bo.id }),
        el('h2', { text: bo.name || bo.id }),
        field('Name', textInput('vf-name', bo.name, function (v) { rename(shape, v); render(); }),
          'The lane\'s name gives the role that does its steps.'),
        el('p', { 'class': 'vf-role' + (known ? '' : ' vf-flag') }, [
          document.createTextNode('Role key: '), el('code', { text: role || '(none)' }),
          document.createTextNode(known ? '' : ' — no user holds this role yet: an admin adds one under Users.')]),
      ];
    }

    function processPanel() {
      var found = processOf();
      if (!found) { return [el('p', { 'class': 'muted', text: 'This diagram has no process to annotate.' })]; }
      var shape = found.shape, bo = found.bo;
      var props = readProperties(bo);
      var write = function (name) { return function (value) { var c = {}; c[name] = value; writeProperties(shape, bo, c); }; };
      var parts = [
        el('p', { 'class': 'eyebrow', text: 'The whole process · ' + bo.id }),
        el('h2', { text: bo.name || bo.id }),
      ];
      if (options.isNew()) {
        parts.push(field('Process key', textInput('vf-key', bo.id, function (v) {
          if (/^[A-Za-z_][A-Za-z0-9_-]*$/.test(v) && !registry.get(v)) { fromPanel(function () { modeling.updateModdleProperties(shape, bo, { id: v }); }); }
          else { options.say('A process key starts with a letter and holds letters, digits, _ or -, and no other element may have it.', 'error'); render(); }
        }), 'Its address in Valueflow; fixed once deployed.'));
      }
      parts.push(
        field('Name', textInput('vf-name', bo.name, function (v) {
          fromPanel(function () { modeling.updateModdleProperties(shape, bo, { name: v }); });
          if (shape.type === 'bpmn:Participant') { rename(shape, v); }
        })),
        field('Customer value', textInput('vf-customer-value', props.customerValue, write('customerValue'), true), 'What the whole process gives the customer.'),
        durationInputs('vf-target', 'End-to-end target', props[TARGET], write(TARGET)),
        field('Process owner', textInput('vf-owner', props.processOwner, write('processOwner')), 'Who answers for this process\'s outcome.'),
        calendarEditor.section(props.calendar, write('calendar')),
        el('p', { 'class': 'vf-hint', text: 'Select a step or a lane on the diagram to edit it.' }));
      return parts;
    }

    function heading(shape) {
      var bo = shape.businessObject;
      return [el('p', { 'class': 'eyebrow', text: bo.$type.replace('bpmn:', '') + ' · ' + bo.id }), el('h2', { text: bo.name || bo.id })];
    }

    function nameField(shape) {
      return field('Name', textInput('vf-name', shape.businessObject.name, function (v) { rename(shape, v); }));
    }

    function code(input, rows) {
      input.classList.add('vf-code');
      input.setAttribute('rows', String(rows));
      input.setAttribute('spellcheck', 'false');
      return input;
    }

    function expression(text) { return text ? moddle.create('bpmn:FormalExpression', { body: text }) : undefined; }

    function conditionInput(flow, id) {
      var current = flow.businessObject.conditionExpression ? flow.businessObject.conditionExpression.body : '';
      return code(textInput(id, current, function (v) {
        fromPanel(function () { modeling.updateProperties(flow, { conditionExpression: expression(v) }); });
      }, true), 2);
    }

    function scriptPanel(shape) {
      var bo = shape.businessObject;
      var script = code(textInput('vf-script', bo.script, function (v) {
        fromPanel(function () { modeling.updateProperties(shape, { script: v, scriptFormat: bo.scriptFormat || 'python' }); });
      }, true), 8);
      return heading(shape).concat([nameField(shape), field('Script (Python)', script,
        'Runs in Valueflow\'s sandbox on the case data: no imports, no files; Validate checks it.')]);
    }

    function flowPanel(shape) {
      var source = shape.source && shape.source.businessObject;
      var isDefault = source && source.default === shape.businessObject;
      if (isDefault) {
        return heading(shape).concat([nameField(shape), el('p', { 'class': 'vf-hint', text: 'The default flow: taken when no other condition holds.' })]);
      }
      var decides = source && /^bpmn:(Exclusive|Inclusive)Gateway$/.test(source.$type) && (source.outgoing || []).length > 1;
      var parts = heading(shape).concat([nameField(shape), field('Condition', conditionInput(shape, 'vf-condition'),
        'A Python expression on the case data, e.g. risk_level == "LOW". ' +
        (decides ? 'Empty: refused, unless this is the gateway\'s default flow.' : 'Empty: always taken.'))]);
      if (decides) {
        var makeDefault = el('button', { type: 'button', 'class': 'btn', text: 'Make it the default flow' });
        makeDefault.addEventListener('click', function () {
          fromPanel(function () {
            modeling.updateProperties(shape, { conditionExpression: undefined });
            modeling.updateProperties(shape.source, { 'default': shape.businessObject });
          });
          render();
        });
        parts.push(makeDefault);
      }
      return parts;
    }

    function gatewayPanel(shape) {
      var parts = heading(shape).concat([nameField(shape)]);
      var flows = (shape.outgoing || []).filter(function (c) { return c.type === 'bpmn:SequenceFlow'; });
      if (flows.length < 2) { return parts; }
      parts.push(el('h3', { 'class': 'vf-subhead', text: 'Outgoing flows' }));
      flows.forEach(function (flow, i) {
        var target = flow.target && flow.target.businessObject;
        var label = (flow.businessObject.name || 'Flow') + ' → ' + ((target && (target.name || target.id)) || '?');
        if (shape.businessObject.default === flow.businessObject) {
          parts.push(el('p', { 'class': 'vf-hint', text: label + ': the default flow.' }));
        } else {
          parts.push(field('Condition of ' + label, conditionInput(flow, 'vf-condition-' + i)));
        }
      });
      return parts;
    }

    function definitionOf(bo, type) {
      return (bo.eventDefinitions || []).filter(function (d) { return d.$type === type; })[0] || null;
    }

    function eventPanel(shape) {
      var bo = shape.businessObject;
      var parts = heading(shape).concat([nameField(shape)]);
      var timer = definitionOf(bo, 'bpmn:TimerEventDefinition');
      if (timer) {
        var kind = timer.timeDate ? 'timeDate' : (timer.timeCycle ? 'timeCycle' : 'timeDuration');
        parts.push(field('Timer (' + kind.replace('time', '').toLowerCase() + ')', textInput('vf-timer', timer[kind] && timer[kind].body, function (v) {
          var change = {}; change[kind] = expression(v);
          fromPanel(function () { modeling.updateModdleProperties(shape, timer, change); });
        }), 'ISO 8601, e.g. PT4H for four hours or P2D for two days.'));
      }
      var message = definitionOf(bo, 'bpmn:MessageEventDefinition');
      if (message) {
        parts.push(field('Message name', textInput('vf-message', message.messageRef && message.messageRef.name, function (v) {
          fromPanel(function () {
            if (message.messageRef) { modeling.updateModdleProperties(shape, message.messageRef, { name: v }); return; }
            var definitions = canvas.getRootElement().businessObject.$parent;
            var created = moddle.create('bpmn:Message', { id: 'Message_' + Math.random().toString(36).slice(2, 9), name: v });
            created.$parent = definitions;
            modeling.updateModdleProperties(shape, definitions, { rootElements: definitions.rootElements.concat([created]) });
            modeling.updateModdleProperties(shape, message, { messageRef: created });
          });
        }), 'The name a message is delivered with (valueflow, POST /api/v1/messages).'));
      }
      return parts;
    }

    function decisionPanel(shape) {
      var bo = shape.businessObject;
      var values = (bo.extensionElements && bo.extensionElements.values) || [];
      var called = values.filter(function (v) { return v.$type === 'spiffworkflow:CalledDecisionId'; })[0];
      var decisionId = called && called.value ? called.value.trim() : '';
      var parts = heading(shape).concat([nameField(shape)]);
      if (!decisionId) {
        parts.push(el('p', { 'class': 'vf-hint vf-flag', text: 'This business rule task names no decision table (spiffworkflow:calledDecisionId).' }));
        var create = el('button', { type: 'button', 'class': 'btn', text: 'Create a decision table' });
        create.addEventListener('click', function () {
          var made = 'decide_' + shape.id.replace(/[^\w-]/g, '_');
          var call = moddle.create('spiffworkflow:CalledDecisionId', { value: made });
          fromPanel(function () {
            var ext = bo.extensionElements;
            if (ext) { modeling.updateModdleProperties(shape, ext, { values: (ext.values || []).concat([call]) }); }
            else { modeling.updateModdleProperties(shape, bo, { extensionElements: moddle.create('bpmn:ExtensionElements', { values: [call] }) }); }
          });
          options.createDecision(made, bo.name || made);
          render();
        });
        parts.push(create);
        return parts;
      }
      parts.push(el('p', { 'class': 'vf-role' }, [document.createTextNode('Decides with the table '), el('code', { text: decisionId }), document.createTextNode('.')]));
      var edit = el('button', { type: 'button', 'class': 'btn', text: 'Edit the decision table' });
      edit.addEventListener('click', function () { options.editDecision(decisionId); });
      parts.push(edit);
      return parts;
    }

    // A call activity runs the process its called element names, from another diagram of the package, which the
    // modeler keeps as it is (options.files: the package's other files by name).
    function callPanel(shape) {
      var called = (shape.businessObject.calledElement || '').trim();
      var parts = heading(shape).concat([nameField(shape)]);
      if (!called) {
        parts.push(el('p', { 'class': 'vf-hint vf-flag', text: 'This call activity names no process to call (its called element).' }));
        return parts;
      }
      var files = options.files();
      var escaped = called.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
      var holder = Object.keys(files).filter(function (name) {
        return new RegExp('<([\\w-]+:)?process\\b[^>]*\\bid="' + escaped + '"').test(files[name]);
      })[0];
      if (!holder) {
        parts.push(el('p', { 'class': 'vf-hint vf-flag', text: 'It calls the process ' + called + ', which no other diagram of this package holds: add its file to the package (open the package .zip with it).' }));
        return parts;
      }
      parts.push(el('p', { 'class': 'vf-role' }, [document.createTextNode('Calls the process '), el('code', { text: called }),
        document.createTextNode(', drawn in '), el('code', { text: holder }),
        document.createTextNode(' of this package: it is deployed with this diagram, unchanged.')]));
      return parts;
    }

    function otherPanel(shape) {
      return heading(shape).concat([nameField(shape),
        el('p', { 'class': 'vf-hint', text: 'Customer value, value class and targets belong to steps for people and to the process.' })]);
    }

    var calendarEditor = window.ValueflowCalendar({ el: el, field: field, countries: options.countries });

    var formEditor = window.ValueflowFormEditor({
      el: el, field: field, textInput: textInput, forms: options.forms, formsChanged: options.formsChanged,
      say: options.say, render: function () { render(); }, container: container,
    });

    // A closed select shows its chosen label only as far as the panel is wide: the select and each option carry
    // their whole label as their title, kept as the choice changes.
    function titleWithFullLabels(select) {
      Array.prototype.forEach.call(select.options, function (option) { option.title = option.text; });
      var mark = function () { select.title = select.selectedIndex >= 0 ? select.options[select.selectedIndex].text : ''; };
      mark();
      select.addEventListener('change', mark);
    }

    function render() {
      var focused = document.activeElement && container.contains(document.activeElement) ? document.activeElement.id : null;
      if (focused) { document.activeElement.blur(); }  // an edit still being typed is saved before the redraw
      var open = Array.prototype.map.call(container.querySelectorAll('details[open]'), function (d) { return d.dataset.index; });
      var selected = selection.get();
      var shape = selected.length === 1 ? selected[0] : null;
      var parts;
      if (!shape || shape.type === 'bpmn:Participant' || shape.type === 'bpmn:Process') { parts = processPanel(); }
      else if (HUMAN_TASKS.indexOf(shape.type) >= 0) { parts = taskPanel(shape); }
      else if (shape.type === 'bpmn:Lane') { parts = lanePanel(shape); }
      else if (shape.type === 'bpmn:ScriptTask') { parts = scriptPanel(shape); }
      else if (shape.type === 'bpmn:BusinessRuleTask') { parts = decisionPanel(shape); }
      else if (shape.type === 'bpmn:CallActivity') { parts = callPanel(shape); }
      else if (shape.type === 'bpmn:SequenceFlow') { parts = flowPanel(shape); }
      else if (shape.type === 'bpmn:ExclusiveGateway' || shape.type === 'bpmn:InclusiveGateway') { parts = gatewayPanel(shape); }
      else if (/Event$/.test(shape.type)) { parts = eventPanel(shape); }
      else if (shape.businessObject && shape.businessObject.$type) { parts = otherPanel(shape); }
      else { parts = processPanel(); }
      container.innerHTML = '';
      parts.forEach(function (p) { container.appendChild(p); });
      Array.prototype.forEach.call(container.querySelectorAll('select'), titleWithFullLabels);
      open.forEach(function (index) {
        var details = container.querySelector('details[data-index="' + index + '"]');
        if (details) { details.open = true; }
      });
      if (focused && document.getElementById(focused)) { document.getElementById(focused).focus(); }
    }

    modeler.on('selection.changed', render);
    modeler.on('commandStack.changed', function () { if (!writing) { render(); } });
    return { render: render };
  };
})();
