// The modeler panel's form editor: a step's form fields (name, label, type, options, required, help text,
// maximum length), kept as the step's JSON Schema form in the package (forms/<step id>.json), not in the BPMN.
// Exposes window.ValueflowFormEditor(tools) → {section(bo)}; tools come from modeler-panel.js: the DOM helpers
// el, field and textInput, the package's forms, and the panel's say, render and container.
(function () {
  'use strict';

  window.ValueflowFormEditor = function (tools) {
    var el = tools.el, field = tools.field, textInput = tools.textInput, render = tools.render;
    var container = tools.container;

    var FIELD_TYPES = [['text', 'Text'], ['textarea', 'Long text'], ['number', 'Number'], ['integer', 'Whole number'],
      ['date', 'Date'], ['select', 'Choice from a list'], ['checkbox', 'Checkbox (yes/no)']];

    function fieldType(spec) {
      if (spec.enum) { return 'select'; }
      if (spec.type === 'boolean') { return 'checkbox'; }
      if (spec.type === 'number' || spec.type === 'integer') { return spec.type; }
      if (spec.format === 'date') { return 'date'; }
      return spec['x-widget'] === 'textarea' ? 'textarea' : 'text';
    }

    // A field's schema for a type, keeping what else it said (title, help, limits) where it still applies.
    function withType(spec, type, choices) {
      var next = {};
      Object.keys(spec).forEach(function (k) {
        if (['type', 'enum', 'format', 'x-widget', 'minimum', 'maximum', 'maxLength'].indexOf(k) < 0) { next[k] = spec[k]; }
      });
      next.type = { number: 'number', integer: 'integer', checkbox: 'boolean' }[type] || 'string';
      if (type === 'date') { next.format = 'date'; }
      if (type === 'textarea') { next['x-widget'] = 'textarea'; }
      if (type === 'select') { next.enum = choices && choices.length ? choices : ['yes', 'no']; }
      if ((type === 'number' || type === 'integer') && spec.type === next.type) {
        if ('minimum' in spec) { next.minimum = spec.minimum; }
        if ('maximum' in spec) { next.maximum = spec.maximum; }
      }
      if ((type === 'text' || type === 'textarea') && 'maxLength' in spec) { next.maxLength = spec.maxLength; }
      return next;
    }

    function formOf(bo) {
      var forms = tools.forms();
      return forms[bo.id] || { '$schema': 'https://json-schema.org/draft/2020-12/schema', title: bo.name || bo.id,
        type: 'object', properties: {}, required: [] };
    }

    // Replace the step's form by one built from ``change(properties, required)``; no fields left: no form.
    function editForm(bo, change) {
      var form = JSON.parse(JSON.stringify(formOf(bo)));
      form.properties = form.properties || {};
      form.required = form.required || [];
      change(form);
      form.required = form.required.filter(function (n, i, all) { return n in form.properties && all.indexOf(n) === i; });
      if (!form.required.length) { delete form.required; }
      var forms = tools.forms();
      if (Object.keys(form.properties).length) { forms[bo.id] = form; } else { delete forms[bo.id]; }
      tools.formsChanged();
    }

    function renameField(form, from, to) {
      var renamed = {};
      Object.keys(form.properties).forEach(function (k) { renamed[k === from ? to : k] = form.properties[k]; });
      form.properties = renamed;
      form.required = (form.required || []).map(function (n) { return n === from ? to : n; });
    }

    // One field's editor. Text edits change the form without redrawing the panel (the summary line is
    // updated in place), so the next input keeps the cursor; a new type or a removal redraws it.
    function fieldEditor(bo, name, spec, required, index) {
      var id = 'vf-form-' + index;
      var type = fieldType(spec);
      var details = el('details', { 'class': 'vf-form-field', 'data-field': name, 'data-index': String(index) });
      var summary = el('summary');
      var current = function () { return details.dataset.field; };
      var describe = function () {
        var form = formOf(bo), now = form.properties[current()] || {};
        var kind = FIELD_TYPES.filter(function (t) { return t[0] === fieldType(now); })[0][1];
        summary.textContent = (now.title || current()) + ' · ' + kind + ((form.required || []).indexOf(current()) >= 0 ? ' · required' : '');
      };
      var update = function (apply, redraw) { editForm(bo, apply); if (redraw) { render(); } else { describe(); } };
      var nameInput = textInput(id + '-name', name, function (v) {
        var was = current();
        if (v === was) { return; }
        if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(v) || v in formOf(bo).properties) {
          tools.say('A field name starts with a letter and holds letters, digits or _, once per form.', 'error');
          nameInput.value = was;
          return;
        }
        details.dataset.field = v;
        update(function (form) { renameField(form, was, v); });
      });
      var typeSelect = el('select', { id: id + '-type' });
      FIELD_TYPES.forEach(function (t) {
        var option = el('option', { value: t[0], text: t[1] });
        if (t[0] === type) { option.selected = true; }
        typeSelect.appendChild(option);
      });
      typeSelect.addEventListener('change', function () {
        update(function (form) { form.properties[current()] = withType(form.properties[current()], typeSelect.value); }, true);
      });
      var setKey = function (key, value) {
        update(function (form) {
          if (value === '' || value === null) { delete form.properties[current()][key]; } else { form.properties[current()][key] = value; }
        });
      };
      var requiredBox = el('input', { id: id + '-required', type: 'checkbox' });
      requiredBox.checked = required;
      requiredBox.addEventListener('change', function () {
        update(function (form) {
          form.required = form.required.filter(function (n) { return n !== current(); });
          if (requiredBox.checked) { form.required.push(current()); }
        });
      });
      var parts = [
        summary,
        field('Field name (in the case data)', nameInput),
        field('Label', textInput(id + '-label', spec.title, function (v) { setKey('title', v); })),
        field('Type', typeSelect),
      ];
      if (type === 'select') {
        parts.push(field('Options (one per line)', textInput(id + '-options', (spec.enum || []).join('\n'), function (v) {
          var choices = v.split('\n').map(function (c) { return c.trim(); }).filter(Boolean);
          update(function (form) { form.properties[current()] = withType(form.properties[current()], 'select', choices); });
        }, true)));
      }
      parts.push(el('div', { 'class': 'vf-field vf-check' }, [requiredBox, el('label', { 'for': requiredBox.id, text: 'Required' })]));
      parts.push(field('Help text', textInput(id + '-help', spec.description, function (v) { setKey('description', v); })));
      if (type === 'text' || type === 'textarea') {
        var max = el('input', { id: id + '-max', type: 'number', min: '1', step: '1' });
        max.value = spec.maxLength || '';
        max.addEventListener('change', function () { var n = parseInt(max.value, 10); setKey('maxLength', n > 0 ? n : ''); });
        parts.push(field('Maximum length (characters)', max));
      }
      var remove = el('button', { type: 'button', 'class': 'btn btn-small btn-quiet', text: 'Remove this field' });
      remove.addEventListener('click', function () { update(function (form) { delete form.properties[current()]; }, true); });
      parts.push(remove);
      parts.forEach(function (p) { details.appendChild(p); });
      describe();
      return details;
    }

    function formSection(bo) {
      var form = formOf(bo);
      var names = Object.keys(form.properties || {});
      var required = form.required || [];
      var box = el('fieldset', { 'class': 'vf-form' }, [el('legend', { text: 'Form fields' })]);
      if (!names.length) { box.appendChild(el('p', { 'class': 'vf-hint', text: 'No form: staff see a comment box and a Done button.' })); }
      names.forEach(function (name, i) { box.appendChild(fieldEditor(bo, name, form.properties[name], required.indexOf(name) >= 0, i)); });
      var add = el('button', { type: 'button', 'class': 'btn btn-small', text: 'Add a field' });
      add.addEventListener('click', function () {
        var n = names.length + 1;
        while (('field_' + n) in (form.properties || {})) { n += 1; }
        editForm(bo, function (f) { f.properties['field_' + n] = { type: 'string', title: 'New field ' + n }; });
        render();
        var opened = container.querySelector('details[data-field="field_' + n + '"]');  // the new field, opened
        if (opened) { opened.open = true; opened.querySelector('input').focus(); }
      });
      box.appendChild(add);
      return box;
    }

    return { section: formSection };
  };
})();
