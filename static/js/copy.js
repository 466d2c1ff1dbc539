// Copy buttons for secrets, tokens and join links (templates/_copy.html). A button names the
// element whose text it copies (a field's value, or an element's text) in data-copy. The
// buttons are hidden in the markup and shown here, so without JavaScript no button sits dead
// and the field, readonly and selectable, is still there to copy by hand.
(function () {
  "use strict";

  var BUTTONS = "button[data-copy]";

  function reveal(root) {
    Array.prototype.forEach.call(root.querySelectorAll(BUTTONS), function (button) {
      button.hidden = false;
    });
  }

  function textOf(source) {
    return source.value !== undefined ? source.value : source.textContent.trim();
  }

  // Selects the text on the page, so a person can copy it themselves when the browser will
  // not (no clipboard API outside HTTPS, or permission refused).
  function select(source) {
    if (source.select) {
      source.focus();
      source.select();
      return;
    }
    var range = document.createRange();
    range.selectNodeContents(source);
    var selection = window.getSelection();
    selection.removeAllRanges();
    selection.addRange(range);
  }

  // The older copy command, which works on the selection outside secure contexts too.
  function copySelection() {
    try {
      return document.execCommand("copy");
    } catch (error) {
      return false;
    }
  }

  function say(button, message) {
    var status = button.parentNode.querySelector("[data-copy-status]");
    if (status) status.textContent = message;
  }

  function copy(button) {
    var source = document.getElementById(button.getAttribute("data-copy"));
    if (!source) return;
    var text = textOf(source);
    say(button, "");  // a second copy is announced again
    var copied = navigator.clipboard && window.isSecureContext
      ? navigator.clipboard.writeText(text)
      : Promise.reject(new Error("no clipboard"));
    copied.then(
      function () { say(button, "Copied."); },
      function () {
        select(source);
        say(button, copySelection()
          ? "Copied."
          : "Selected: copy it with your keyboard or your device's menu.");
      }
    );
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest(BUTTONS);
    if (button) copy(button);
  });
  // Buttons that htmx swaps in later (a new token, a new signing secret) are shown as they come.
  document.addEventListener("htmx:load", function (event) { reveal(event.target); });
  reveal(document);
})();
