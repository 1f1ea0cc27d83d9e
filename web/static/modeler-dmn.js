// The modeler's decision tables: a business rule task's table opens in dmn-js's modeler (served from
// node_modules, see web/vendor.py) in a dialog; "Keep the changes" writes the DMN back into the package,
// which deploys with the diagram; a task drawn without one gets a new file. Exposes
// window.ValueflowDecisions(options) → {open(decisionId), create(decisionId, name)}.
(function () {
  'use strict';

  function escaped(text) { return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'); }

  window.ValueflowDecisions = function (options) {
    var dialog = document.getElementById('dmn-dialog');
    var container = document.getElementById('dmn-canvas');
    var title = document.getElementById('dmn-title');
    var editor = null;
    var file = null;

    // The package's DMN file that defines the decision.
    function fileOf(decisionId) {
      var tables = options.dmn();
      var defines = new RegExp('<(\\w+:)?decision\\b[^>]*\\bid="' + escaped(decisionId) + '"');
      return Object.keys(tables).filter(function (name) { return defines.test(tables[name]); })[0] || null;
    }

    function open(decisionId) {
      file = fileOf(decisionId);
      if (!file) { options.say('No decision table of this package has the id ' + decisionId + '.', 'error'); return; }
      if (typeof window.DmnJS !== 'function') {
        options.say('The decision table editor is not installed on this server (run npm ci).', 'error');
        return;
      }
      editor = editor || new window.DmnJS({ container: container });
      title.textContent = 'Decision table ' + decisionId + ' (' + file + ')';
      dialog.showModal();
      container.dataset.state = 'loading';
      editor.importXML(options.dmn()[file]).then(function () {
        var table = editor.getViews().filter(function (v) { return v.element.id === decisionId && v.type === 'decisionTable'; })[0];
        return table ? editor.open(table) : null;
      }).then(function () {
        container.dataset.state = 'ready';
      }).catch(function (err) {
        dialog.close();
        options.say(file + ' could not be opened: ' + (err && err.message ? err.message : err), 'error');
      });
    }

    // A new package file for a business rule task drawn here: one input, one output and one rule to edit.
    function create(decisionId, name) {
      var esc = function (text) { return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/"/g, '&quot;'); };
      options.dmn()[decisionId + '.dmn'] = '<?xml version="1.0" encoding="UTF-8"?>\n' +
        '<definitions xmlns="https://www.omg.org/spec/DMN/20191111/MODEL/" id="definitions_' + decisionId +
        '" name="' + esc(name) + '" namespace="http://valueflow/dmn">\n' +
        '  <decision id="' + decisionId + '" name="' + esc(name) + '">\n' +
        '    <decisionTable id="' + decisionId + '_table" hitPolicy="FIRST">\n' +
        '      <input id="' + decisionId + '_in" label="Amount">\n' +
        '        <inputExpression id="' + decisionId + '_in_expression" typeRef="number"><text>amount</text></inputExpression>\n' +
        '      </input>\n' +
        '      <output id="' + decisionId + '_out" label="Outcome" name="outcome" typeRef="string"/>\n' +
        '      <rule id="' + decisionId + '_rule"><inputEntry id="' + decisionId + '_rule_in"><text>-</text></inputEntry>' +
        '<outputEntry id="' + decisionId + '_rule_out"><text>"approve"</text></outputEntry></rule>\n' +
        '    </decisionTable>\n  </decision>\n</definitions>\n';
      options.changed();
      open(decisionId);
    }

    document.getElementById('dmn-keep').addEventListener('click', function () {
      if (document.activeElement) { document.activeElement.blur(); }  // commit the cell being typed in
      editor.saveXML({ format: true }).then(function (result) {
        options.dmn()[file] = result.xml;
        options.changed();
        dialog.close();
        options.say('Decision table in ' + file + ' changed: not saved yet. Validate, save a draft or deploy.', 'success');
      });
    });
    document.getElementById('dmn-cancel').addEventListener('click', function () { dialog.close(); });
    return { open: open, create: create };
  };
})();
