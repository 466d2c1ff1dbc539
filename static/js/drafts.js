// What a person typed into a form that carries a video survives a reload: each text field
// is kept in the tab's sessionStorage as it is typed, put back when the page is shown again
// (over the value the page was rendered with, never over something typed since), and
// forgotten once the form has been sent and accepted.
(function () {
  "use strict";

  var FORMS = "form[data-video-form]";

  function key(form) {
    return "practika-draft:" + form.getAttribute("action");
  }

  function textFields(form) {
    return Array.prototype.filter.call(form.elements, function (field) {
      return field.name && field.name !== "csrf_token" && !field.disabled &&
        (field.tagName === "TEXTAREA" ||
         (field.tagName === "INPUT" && ["text", "url", "number", "search"].indexOf(field.type) !== -1));
    });
  }

  function read(form) {
    try {
      return JSON.parse(window.sessionStorage.getItem(key(form)) || "{}");
    } catch (error) {
      return {};
    }
  }

  function save(form) {
    var draft = {};
    textFields(form).forEach(function (field) {
      if (field.value !== field.defaultValue) draft[field.name] = field.value;
    });
    try {
      if (Object.keys(draft).length) window.sessionStorage.setItem(key(form), JSON.stringify(draft));
      else window.sessionStorage.removeItem(key(form));
    } catch (error) { /* storage full or off: the form works as before */ }
  }

  function restore(root) {
    var forms = root.matches && root.matches(FORMS) ? [root] : [];
    forms = forms.concat(Array.prototype.slice.call(root.querySelectorAll ? root.querySelectorAll(FORMS) : []));
    forms.forEach(function (form) {
      var draft = read(form);
      textFields(form).forEach(function (field) {
        if (field.name in draft && field.value === field.defaultValue) field.value = draft[field.name];
      });
    });
  }

  document.addEventListener("input", function (event) {
    var form = event.target.form;
    if (form && form.matches(FORMS)) save(form);
  });
  // Before htmx handles the answer: an accepted form often answers with a redirect.
  document.addEventListener("htmx:beforeOnLoad", function (event) {
    var form = event.detail.elt;
    var status = event.detail.xhr.status;
    if (form instanceof HTMLFormElement && form.matches(FORMS) && status >= 200 && status < 300) {
      try { window.sessionStorage.removeItem(key(form)); } catch (error) { /* as above */ }
    }
  });
  document.addEventListener("DOMContentLoaded", function () { restore(document); });
  document.addEventListener("htmx:load", function (event) { restore(event.target); });
})();
