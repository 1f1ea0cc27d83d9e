// The process's business calendar in the modeler's side panel: a country for public holidays, opening hours,
// working days and a time zone, written as the process's "calendar" property in the words
// engine/time/calendar.py reads ("DE 09:00-17:00 Mon-Fri"). A stored value these fields cannot show is
// named and kept until the owner changes a field.
// Exposes window.ValueflowCalendar({el, field, countries}) → {section(value, onChange)}.
(function () {
  'use strict';
  var DAYS = ['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'];
  var HOURS = /^(\d{1,2}):(\d{2})-(\d{1,2}):(\d{2})$/;
  var COUNTRY = /^([A-Z]{2})(?:-([A-Z0-9]{1,3}))?$/;
  var DAY_LIST = /^[A-Za-z]{3}(?:-[A-Za-z]{3})?(?:,[A-Za-z]{3}(?:-[A-Za-z]{3})?)*$/;

  function pad(n) { return (n < 10 ? '0' : '') + n; }

  // "Mon-Thu,Sat" → [0, 1, 2, 3, 5]; null when a name is not a weekday or a range runs backwards.
  function readDays(word) {
    var index = DAYS.map(function (d) { return d.toLowerCase(); });
    var days = [];
    var ok = word.split(',').every(function (part) {
      var ends = part.split('-'), a = index.indexOf(ends[0].toLowerCase()), b = index.indexOf((ends[1] || ends[0]).toLowerCase());
      if (a < 0 || b < a) { return false; }
      for (var d = a; d <= b; d++) { if (days.indexOf(d) < 0) { days.push(d); } }
      return true;
    });
    return ok ? days.sort() : null;
  }

  function writeDays(days) {
    var runs = [], start = null;
    days.forEach(function (d, i) {
      if (start === null) { start = d; }
      if (days[i + 1] !== d + 1) { runs.push(start === d ? DAYS[d] : DAYS[start] + '-' + DAYS[d]); start = null; }
    });
    return runs.join(',');
  }

  // The calendar's words as fields, or null when a word is none of them (the engine's validation says why).
  function read(text) {
    var found = { country: '', subdivision: '', zone: '', opens: '09:00', closes: '17:00', days: [0, 1, 2, 3, 4] };
    var words = (text || '').trim().split(/\s+/).filter(Boolean);
    var readable = words.every(function (word) {
      var m;
      if ((m = HOURS.exec(word))) { found.opens = pad(+m[1]) + ':' + m[2]; found.closes = pad(+m[3]) + ':' + m[4]; return true; }
      if ((m = COUNTRY.exec(word))) { found.country = m[1]; found.subdivision = m[2] || ''; return true; }
      if (word.indexOf('/') >= 0 || word.toUpperCase() === 'UTC') { found.zone = word; return true; }
      if (DAY_LIST.test(word)) { found.days = readDays(word); return found.days !== null; }
      return false;
    });
    return readable ? found : null;
  }

  window.ValueflowCalendar = function (options) {
    var el = options.el, field = options.field;

    function section(value, onChange) {
      var shown = value ? read(value) : null;
      var state = shown || read('');
      var box = el('fieldset', { 'class': 'vf-calendar' }, [el('legend', { text: 'Business calendar' })]);
      var mode = el('select', { id: 'vf-calendar-mode' });
      mode.appendChild(el('option', { value: '', text: 'Every hour (calendar time)' }));
      mode.appendChild(el('option', { value: 'business', text: 'Business hours only' }));
      mode.value = value ? 'business' : '';
      box.appendChild(field('Targets count in', mode));

      var country = el('select', { id: 'vf-calendar-country' });
      country.appendChild(el('option', { value: '', text: 'None: no public holidays' }));
      var known = options.countries.map(function (c) { return c.code; });
      if (state.country && known.indexOf(state.country) < 0) {  // a country named with its time zone
        country.appendChild(el('option', { value: state.country, text: state.country + ' (as stored)' }));
      }
      options.countries.forEach(function (c) { country.appendChild(el('option', { value: c.code, text: c.name + ' (' + c.code + ')' })); });
      country.value = state.country;
      var opens = el('input', { id: 'vf-calendar-opens', type: 'time' });
      var closes = el('input', { id: 'vf-calendar-closes', type: 'time' });
      opens.value = state.opens;
      closes.value = state.closes;
      var days = el('fieldset', { 'class': 'vf-calendar-days' }, [el('legend', { text: 'Working days' })]);
      var checks = DAYS.map(function (name, i) {
        var check = el('input', { id: 'vf-calendar-day-' + name, type: 'checkbox' });
        check.checked = state.days.indexOf(i) >= 0;
        days.appendChild(el('label', { 'for': check.id, 'class': 'vf-check' }, [check, document.createTextNode(' ' + name)]));
        return check;
      });
      var zone = el('input', { id: 'vf-calendar-zone', type: 'text', placeholder: 'the country\'s own' });
      zone.value = state.zone;
      var stored = el('p', { 'class': 'vf-hint', text: value ? 'Stored as ' + value + '.' : 'Targets count every hour of every day.' });
      var business = el('div', { 'class': 'vf-calendar-business' }, [
        field('Country, for its public holidays', country),
        el('div', { 'class': 'vf-hours' }, [field('Opens at', opens), field('Closes at', closes)]),
        el('p', { 'class': 'vf-hint', text: 'The same opening hours on every working day.' }),
        days,
        field('Time zone of the opening hours', zone, 'Empty: the country\'s own (UTC without a country); else e.g. Europe/Berlin.'),
      ]);
      business.hidden = !value;
      box.appendChild(business);
      if (value && !shown) {
        box.appendChild(el('p', { 'class': 'vf-hint vf-flag', text: 'Now “' + value + '”, which these fields cannot show; changing one replaces it.' }));
      }
      box.appendChild(stored);

      function write() {
        business.hidden = mode.value !== 'business';
        if (mode.value !== 'business') {
          onChange('');
          stored.textContent = 'Targets count every hour of every day.';
          return;
        }
        var chosen = checks.map(function (c, i) { return c.checked ? i : -1; }).filter(function (i) { return i >= 0; });
        var problem = !opens.value || !closes.value ? 'Give the opening and the closing time.'
          : (closes.value <= opens.value ? 'The calendar closes after it opens, on the same day.'
            : (!chosen.length ? 'Choose at least one working day.' : ''));
        if (problem) { stored.textContent = problem + ' Nothing was changed.'; stored.classList.add('vf-flag'); return; }
        var code = country.value + (country.value && country.value === state.country && state.subdivision ? '-' + state.subdivision : '');
        var text = [code, zone.value.trim(), opens.value.slice(0, 5) + '-' + closes.value.slice(0, 5), writeDays(chosen)]
          .filter(Boolean).join(' ');
        onChange(text);
        stored.classList.remove('vf-flag');
        stored.textContent = 'Stored as ' + text + '.';
      }
      [mode, country, opens, closes, zone].concat(checks).forEach(function (input) { input.addEventListener('change', write); });
      return box;
    }

    return { section: section };
  };
})();
