/*
 * The designer's properties panel: name and Huiqian's attributes of the selected element.
 *
 * The form itself is server-rendered (labels translated, choices from the jurisdiction
 * packs, the form library and the handler registry); this script shows the fieldsets
 * that apply to the selection and writes changes through bpmn-js' modeling commands,
 * so that they are undoable and land in the XML.  Attributes come from the `huiqian`
 * moddle extension (designer/huiqian-moddle.json); the service-task handler lives in a
 * `spiffworkflow:serviceTaskOperator` extension element, kept as a generic element.
 */
window.HuiqianProperties = (function () {
  'use strict';

  const SPIFF_NS = 'http://spiffworkflow.org/bpmn/schema/1.0/core';
  const OPERATOR = 'spiffworkflow:serviceTaskOperator';

  function attach(modeler, form) {
    const modeling = modeler.get('modeling');
    const moddle = modeler.get('moddle');
    const canvas = modeler.get('canvas');
    const title = form.querySelector('[data-role="title"]');
    const nameInput = form.elements.namedItem('name');
    let current = null;

    // With nothing selected the panel edits the process: its key (id) and name.
    function processOf(element) {
      const bo = element.businessObject;
      if (bo.$instanceOf('bpmn:Process')) return bo;
      if (bo.$instanceOf('bpmn:Participant')) return bo.processRef;
      if (bo.$instanceOf('bpmn:Collaboration')) {
        const first = (bo.participants || [])[0];
        return first && first.processRef;
      }
      return null;
    }

    function operator(bo) {
      const values = (bo.extensionElements && bo.extensionElements.values) || [];
      return values.find(function (value) { return value.$type === OPERATOR; });
    }

    function read(element, property) {
      const bo = element.businessObject;
      if (property === 'handler') {
        const op = operator(bo);
        return op ? op.id : '';
      }
      if (property.indexOf('process.') === 0) {
        const process = processOf(element);
        return process ? process.get(property.slice(8)) : '';
      }
      return bo.get(property);
    }

    function writeHandler(element, handler) {
      const bo = element.businessObject;
      let extensions = bo.extensionElements;
      if (!extensions) {
        extensions = moddle.create('bpmn:ExtensionElements', { values: [] });
        extensions.$parent = bo;
        modeling.updateProperties(element, { extensionElements: extensions });
      }
      const op = operator(bo);
      if (op) {
        modeling.updateModdleProperties(element, op, { id: handler });
      } else {
        const created = moddle.createAny(OPERATOR, SPIFF_NS, { id: handler });
        created.$parent = extensions;
        modeling.updateModdleProperties(element, extensions, {
          values: (extensions.values || []).concat([created])
        });
      }
    }

    function write(element, property, value) {
      if (property === 'name') {
        modeling.updateLabel(element, value || undefined);
      } else if (property === 'handler') {
        writeHandler(element, value);
      } else if (property.indexOf('process.') === 0) {
        const process = processOf(element);
        if (!process) return;
        const changes = {};
        changes[property.slice(8)] = value;
        if (process === element.businessObject) modeling.updateProperties(element, changes);
        else modeling.updateModdleProperties(element, process, changes);
      } else {
        const changes = {};
        // An empty field or an unticked box removes the attribute: the parser's default applies.
        changes[property] = value === '' || value === false ? undefined : value;
        modeling.updateProperties(element, changes);
      }
    }

    function valueOf(input) {
      if (input.type === 'checkbox') return input.checked;
      if (input.type === 'number') return input.value === '' ? '' : Number(input.value);
      return input.value.trim();
    }

    function applies(fieldset, element) {
      const bo = element.businessObject;
      const wanted = fieldset.dataset.applies;
      if (wanted === 'process') return element === canvas.getRootElement() && !!processOf(element);
      return bo.$instanceOf(wanted);
    }

    function show(element) {
      const bo = element.businessObject;
      // Before a diagram is imported the canvas has an implicit root with no model behind it.
      form.hidden = !bo;
      current = bo ? element : null;
      if (!bo) return;
      const isRoot = element === canvas.getRootElement();
      title.textContent = isRoot ? form.dataset.processTitle : (bo.name || bo.id);
      form.elements.namedItem('element-id').value = bo.id;
      nameInput.value = bo.name || '';
      nameInput.closest('.field').hidden = isRoot;
      nameInput.setAttribute('list', bo.$instanceOf('bpmn:Lane') ? 'department-codes' : '');
      form.querySelectorAll('fieldset[data-applies]').forEach(function (fieldset) {
        fieldset.hidden = !applies(fieldset, element);
        if (fieldset.hidden) return;
        fieldset.querySelectorAll('[data-property]').forEach(function (input) {
          const value = read(element, input.dataset.property);
          if (input.type === 'checkbox') input.checked = !!value;
          else input.value = value === undefined || value === null ? '' : value;
        });
      });
    }

    function selected() {
      const selection = modeler.get('selection').get();
      return selection.length === 1 ? selection[0] : canvas.getRootElement();
    }

    form.addEventListener('change', function (event) {
      const input = event.target;
      const property = input.dataset.property || input.name;
      if (!current || !property || input.readOnly) return;
      write(current, property, valueOf(input));
    });
    form.addEventListener('submit', function (event) { event.preventDefault(); });

    modeler.on('selection.changed', function () { show(selected()); });
    modeler.on('elements.changed', function (event) {
      if (event.elements.indexOf(current) !== -1 || current === canvas.getRootElement()) {
        show(selected());
      }
    });
    modeler.on('import.done', function () { show(canvas.getRootElement()); });
  }

  return { attach: attach };
})();
