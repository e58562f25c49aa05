// Client-side checks of a task form, before the server checks the same JSON Schema.
// The HTML attributes (required, maxlength, min/max) do most of it; this adds what
// HTML cannot say: the schema's if/then rules ("an opinion is required when the
// decision is reject"), unanchored JSON Schema patterns, minItems and JSON fields.
// Messages come from data-msg-* attributes, so they are in the page's language.
(function () {
  "use strict";
  var form = document.querySelector("form.taskform");
  if (!form) {
    return;
  }
  form.noValidate = true; // we show the messages next to the fields ourselves
  var rules = JSON.parse(form.dataset.rules || "[]");
  var msg = form.dataset;

  function controls(name) {
    return Array.prototype.slice.call(form.querySelectorAll('[name="' + CSS.escape(name) + '"]'));
  }

  function valueOf(name) {
    var checked = controls(name).filter(function (c) {
      return (c.type !== "radio" && c.type !== "checkbox") || c.checked;
    });
    return checked.length ? checked[0].value : "";
  }

  // Field name -> extra requirements switched on by the if/then rules right now.
  function activeRules() {
    var extra = {};
    rules.forEach(function (rule) {
      if (rule.values.indexOf(valueOf(rule.field)) === -1) {
        return;
      }
      rule.require.forEach(function (name) {
        extra[name] = extra[name] || {};
        extra[name].required = true;
      });
      Object.keys(rule.patterns).forEach(function (name) {
        extra[name] = extra[name] || {};
        extra[name].pattern = rule.patterns[name];
      });
    });
    return extra;
  }

  function problem(box, extra) {
    var inputs = Array.prototype.slice.call(box.querySelectorAll("input, select, textarea"));
    var first = inputs[0];
    if (!first) {
      return "";
    }
    if (first.type === "checkbox") {
      var min = parseInt(first.dataset.minItems || "0", 10);
      var count = inputs.filter(function (c) { return c.checked; }).length;
      return count < Math.max(min, extra.required ? 1 : 0) ? msg.msgMinItems : "";
    }
    var value = first.type === "radio" ? valueOf(first.name) : first.value;
    var required = first.required || extra.required;
    if (!value.trim()) {
      return required ? msg.msgRequired : "";
    }
    if (first.validity && first.validity.badInput) {
      return msg.msgNumber;
    }
    if (first.validity && (first.validity.rangeUnderflow || first.validity.rangeOverflow || first.validity.stepMismatch)) {
      return msg.msgRange;
    }
    if (first.maxLength > 0 && value.length > first.maxLength) {
      return msg.msgTooLong;
    }
    var pattern = extra.pattern || first.dataset.pattern;
    if (pattern && !new RegExp(pattern, "u").test(value)) {
      return msg.msgPattern;
    }
    if (first.dataset.json) {
      try {
        JSON.parse(value);
      } catch (e) {
        return msg.msgJson;
      }
    }
    return "";
  }

  function check(box, extra) {
    var text = problem(box, extra[box.dataset.field] || {});
    box.querySelector(".error").textContent = text;
    box.classList.toggle("invalid", text !== "");
    box.querySelectorAll("input, select, textarea").forEach(function (c) {
      c.setAttribute("aria-invalid", text ? "true" : "false");
    });
    return text === "";
  }

  function showRequired(extra) {
    form.querySelectorAll(".field[data-field]").forEach(function (box) {
      var marker = box.querySelector(".req");
      var control = box.querySelector("input, select, textarea");
      var rule = extra[box.dataset.field] || {};
      if (marker && control) {
        marker.hidden = !(control.required || rule.required);
      }
    });
  }

  form.addEventListener("change", function (event) {
    var extra = activeRules();
    showRequired(extra);
    var box = event.target.closest(".field[data-field]");
    if (box && box.classList.contains("invalid")) {
      check(box, extra);
    }
  });

  form.addEventListener("submit", function (event) {
    var extra = activeRules();
    var boxes = Array.prototype.slice.call(form.querySelectorAll(".field[data-field]"));
    var bad = boxes.filter(function (box) { return !check(box, extra); });
    var summary = form.querySelector(".form-summary");
    if (bad.length) {
      event.preventDefault();
      summary.textContent = msg.msgSummary;
      summary.hidden = false;
      var target = bad[0].querySelector("input, select, textarea");
      if (target) {
        target.focus();
      }
    } else {
      summary.hidden = true;
    }
  });

  showRequired(activeRules());
})();
