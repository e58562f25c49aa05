/*
 * The designer page: a bpmn-js Modeler, validation and deployment through the REST API.
 *
 * The page's data-* attributes give the URLs, the CSRF token and the translated
 * messages (no inline script: the CSP forbids it).  The API is called with the
 * session cookie, so every POST carries the token in `X-CSRFToken`.  A rejected
 * definition names the element at fault (`element_id`): it gets a red marker and a
 * badge on the canvas, and the problem list can select it.
 */
(function () {
  'use strict';

  const page = document.getElementById('designer');
  if (!page) return;
  const messages = JSON.parse(page.dataset.messages);
  const statusLine = document.getElementById('designer-status');
  const problems = document.getElementById('designer-problems');
  const PROBLEM = 'hq-problem';

  function say(text, kind) {
    statusLine.textContent = text;
    statusLine.className = 'flash flash-' + kind;
    statusLine.hidden = false;
  }

  function format(template, values) {
    return template.replace(/\{(\w+)\}/g, function (_, name) { return values[name]; });
  }

  async function fetchText(url) {
    const response = await fetch(url, { credentials: 'same-origin' });
    if (!response.ok) throw new Error(url + ': ' + response.status);
    return response.text();
  }

  function processKey(modeler) {
    const root = modeler.get('canvas').getRootElement().businessObject;
    const process = root.$instanceOf('bpmn:Collaboration')
      ? root.participants && root.participants[0] && root.participants[0].processRef
      : root;
    return (process && process.id) || 'process';
  }

  function clearProblems(modeler) {
    const canvas = modeler.get('canvas');
    modeler.get('overlays').remove({ type: PROBLEM });
    modeler.get('elementRegistry').forEach(function (element) {
      canvas.removeMarker(element, PROBLEM);
    });
    problems.replaceChildren();
    problems.hidden = true;
  }

  function markElement(modeler, element, detail) {
    const badge = document.createElement('div');
    badge.className = 'hq-problem-badge';
    badge.textContent = messages.problemBadge;
    badge.title = detail;
    modeler.get('canvas').addMarker(element, PROBLEM);
    modeler.get('overlays').add(element, PROBLEM, { position: { top: -12, left: -6 }, html: badge });
    modeler.get('selection').select(element);
  }

  function showProblem(modeler, problem) {
    const detail = problem.detail || problem.title || messages.failed;
    const element = problem.element_id && modeler.get('elementRegistry').get(problem.element_id);
    const item = document.createElement('li');
    const where = problem.element_id
      ? format(messages.where, { element: problem.element_id, line: problem.line || '?' })
      : '';
    item.textContent = (where ? where + ' ' : '') + detail;
    if (element) {
      const locate = document.createElement('button');
      locate.type = 'button';
      locate.className = 'link';
      locate.textContent = messages.locate;
      locate.addEventListener('click', function () {
        modeler.get('selection').select(element);
        modeler.get('canvas').scrollToElement(element);
      });
      item.append(' ', locate);
      markElement(modeler, element, detail);
    }
    problems.append(item);
    problems.hidden = false;
    say(messages.invalid, 'error');
  }

  async function send(modeler, url) {
    const saved = await modeler.saveXML({ format: true });
    const form = new FormData();
    const file = new Blob([saved.xml], { type: 'application/xml' });
    form.append('file', file, processKey(modeler) + '.bpmn');
    const response = await fetch(url, {
      method: 'POST',
      body: form,
      credentials: 'same-origin',
      headers: { 'X-CSRFToken': page.dataset.csrfToken, Accept: 'application/json' }
    });
    let body = {};
    try { body = await response.json(); } catch (error) { body = {}; }
    return { ok: response.ok, status: response.status, body: body };
  }

  async function check(modeler, url, onSuccess) {
    clearProblems(modeler);
    say(messages.working, 'info');
    let answer;
    try {
      answer = await send(modeler, url);
    } catch (error) {
      say(messages.failed + ' ' + error.message, 'error');
      return;
    }
    if (answer.ok) onSuccess(answer.body);
    else if (answer.status === 422) showProblem(modeler, answer.body);
    else say(messages.failed + ' ' + (answer.body.detail || answer.status), 'error');
  }

  function opened(kind, key, version, created) {
    const url = page.dataset.openUrl.replace('__KIND__', kind).replace('__KEY__', encodeURIComponent(key));
    return url + '?version=' + version + '&deployed=' + (created ? 'created' : 'unchanged');
  }

  async function load(modeler, xml) {
    clearProblems(modeler);
    try {
      const result = await modeler.importXML(xml);
      modeler.get('canvas').zoom('fit-viewport', 'auto');
      if (result.warnings.length) say(format(messages.warnings, { count: result.warnings.length }), 'info');
    } catch (error) {
      say(messages.unreadable + ' ' + error.message, 'error');
    }
  }

  function download(modeler) {
    modeler.saveXML({ format: true }).then(function (saved) {
      const link = document.createElement('a');
      link.href = URL.createObjectURL(new Blob([saved.xml], { type: 'application/xml' }));
      link.download = processKey(modeler) + '.bpmn';
      link.click();
      URL.revokeObjectURL(link.href);
    });
  }

  async function start() {
    const descriptor = JSON.parse(await fetchText(page.dataset.moddleUrl));
    const modeler = new BpmnJS({
      container: document.getElementById('designer-canvas'),
      moddleExtensions: { huiqian: descriptor }
    });
    window.HuiqianProperties.attach(modeler, document.getElementById('properties'));
    await load(modeler, await fetchText(page.dataset.xmlUrl));

    document.getElementById('validate').addEventListener('click', function () {
      check(modeler, page.dataset.validateUrl, function (body) {
        say(format(messages.valid, { keys: body.keys.join(', ') }), 'success');
      });
    });
    document.getElementById('deploy').addEventListener('click', function () {
      check(modeler, page.dataset.deployUrl, function (body) {
        say(format(messages.deployed, { key: body.key, version: body.version }), 'success');
        window.location.assign(opened(body.kind, body.key, body.version, body.created));
      });
    });
    document.getElementById('download').addEventListener('click', function () { download(modeler); });
    document.getElementById('open-file').addEventListener('change', async function (event) {
      const file = event.target.files[0];
      if (file) await load(modeler, await file.text());
    });
    page.dataset.ready = 'true';
  }

  start().catch(function (error) { say(messages.unreadable + ' ' + error.message, 'error'); });
})();
