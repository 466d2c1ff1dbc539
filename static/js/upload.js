// Resumable uploads with tus-js-client: a form with data-tus-endpoint sends its file in
// 5 MB pieces with a progress bar; after a dropped connection it resumes where the server
// stopped. Without JavaScript (or tus support) the same form posts the file as usual.
// Loaded on every page (htmx-boosted navigation does not run a new page's head scripts);
// tus-js-client itself is fetched only when a page has such a form.
(function () {
  "use strict";

  var tusLoading = null;

  function loadTus(src) {
    if (!tusLoading) {
      tusLoading = new Promise(function (resolve, reject) {
        var script = document.createElement("script");
        script.src = src;
        script.onload = resolve;
        script.onerror = reject;
        document.head.appendChild(script);
      });
    }
    return tusLoading;
  }

  function enhance(form) {
    if (form.dataset.enhanced) return;
    form.dataset.enhanced = "true";
    loadTus(form.dataset.tusScript).then(function () {
      if (window.tus.isSupported) listen(form);
    });
  }

  function listen(form) {
    var input = form.querySelector("input[type=file]");
    var bar = form.querySelector("progress");
    var message = form.querySelector(".upload-message");
    var button = form.querySelector("button[type=submit]");
    var token = form.querySelector("input[name=csrf_token]").value;

    function fail(text) {
      button.disabled = false;
      bar.hidden = true;
      message.textContent = text;
    }

    form.addEventListener("submit", function (event) {
      var file = input.files[0];
      if (!file) return; // the browser says the field is required
      event.preventDefault();
      button.disabled = true;
      bar.hidden = false;
      bar.value = 0;
      message.textContent = "Starting the upload…";
      var upload = new window.tus.Upload(file, {
        endpoint: form.dataset.tusEndpoint,
        chunkSize: 5 * 1024 * 1024,
        retryDelays: [0, 1000, 3000, 5000, 10000, 20000, 30000],
        metadata: { filename: file.name, filetype: file.type },
        headers: { "X-CSRFToken": token },
        removeFingerprintOnSuccess: true,
        onProgress: function (sent, total) {
          var percent = total ? Math.floor((sent / total) * 100) : 0;
          bar.value = percent;
          message.textContent = "Uploading… " + percent + "%";
        },
        onError: function (error) {
          var response = error.originalResponse;
          var body = response && response.getBody();
          fail(body || "The upload stopped. Choose the same file and upload again to resume.");
        },
        onSuccess: function () {
          message.textContent = "Uploaded. Preparing your video…";
          window.location.reload();
        },
      });
      upload.findPreviousUploads().then(function (previous) {
        if (previous.length) upload.resumeFromPreviousUpload(previous[0]);
        upload.start();
      });
    });
  }

  function enhanceAll() {
    document.querySelectorAll("form[data-tus-endpoint]").forEach(enhance);
  }
  document.addEventListener("DOMContentLoaded", enhanceAll);
  document.addEventListener("htmx:load", enhanceAll);
})();
