// Resumable uploads with tus-js-client: a form with data-tus-endpoint sends its file in
// 5 MB pieces with a progress bar; after a dropped connection it resumes where the server
// stopped. With S3 storage the form also has data-direct-endpoint, and the file goes
// straight to the bucket instead (direct.js), with the same bar and the same resuming.
// Without JavaScript (or tus support) the same form posts the file as usual.
// Loaded on every page (htmx-boosted navigation does not run a new page's head scripts);
// tus-js-client itself is fetched only when a page has such a form.
//
// Every such form takes the one path below; what follows the upload depends on the form.
// A form that also has data-video-form (an attempt, a model video: a form that saves more
// than the file) then submits itself again with only the uploaded video's id in
// video_asset_id, to htmx or to the browser as it would have anyway. A form that holds only
// the file (the Videos page) is done once the file is up: the page reloads to show it.
// A comment's voice recording (an input named "voice", filled by voice.js) goes the same
// way, its upload created as kind "voice": the server takes it as sound only.
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

  var uploading = new Set(); // forms sending their file now
  var passing = new WeakSet(); // forms whose next submit goes to htmx or the browser untouched
  var chosen = new WeakMap(); // form -> the video input changed last (a recording or a pick)

  function fields(form, test) {
    return Array.prototype.filter.call(form.elements, function (field) {
      return !field.disabled && test(field);
    });
  }

  // The file inputs whose file goes ahead through the upload: a video, or a voice recording.
  function isMediaInput(field) {
    return field.type === "file" && (field.name === "video" || field.name === "voice");
  }

  function videoInputs(form) {
    return fields(form, isMediaInput);
  }

  function submitButtons(form) {
    return fields(form, function (field) {
      return field.type === "submit";
    });
  }

  function setDisabled(elements, disabled) {
    elements.forEach(function (element) { element.disabled = disabled; });
  }

  // requestSubmit(submitter) keeps the pressed button's name and value in the form data;
  // htmx ignores it and uses the button that last had focus, so focus goes back to it
  // unless the user has moved on meanwhile.
  function submitAgain(form, submitter) {
    var button = submitter && submitter.form === form && !submitter.disabled ? submitter : null;
    var focus = document.activeElement;
    if (button && (!focus || focus === document.body || focus === button)) button.focus();
    if (form.requestSubmit) form.requestSubmit(button);
    else form.submit();
  }

  function passThrough(form, submitter) {
    passing.add(form);
    submitAgain(form, submitter);
    passing.delete(form);
  }

  // The uploaded file must not be sent a second time, so its inputs are cleared and disabled
  // while the form goes out, then enabled again for a retake or a re-rendered error. htmx
  // reads the form when it sends, which may be later (hx-sync), so then wait for its answer.
  function saveWithAsset(form, submitter, inputs) {
    inputs.forEach(function (input) { input.value = ""; });
    setDisabled(inputs, true);
    var sent = null;
    function note(event) { sent = event; }
    form.addEventListener("submit", note, true);
    submitAgain(form, submitter);
    form.removeEventListener("submit", note, true);
    function restore() { setDisabled(inputs, false); }
    if (!sent || !sent.defaultPrevented) return setTimeout(restore, 0);
    document.addEventListener("htmx:afterRequest", function answered(event) {
      if (event.detail.elt !== form) return;
      document.removeEventListener("htmx:afterRequest", answered);
      restore();
    });
  }

  // The hidden field that names the uploaded video when the form is sent again.
  function assetField(form) {
    var field = form.querySelector("input[name=video_asset_id]");
    if (!field) {
      field = document.createElement("input");
      field.type = "hidden";
      field.name = "video_asset_id";
      form.appendChild(field);
    }
    return field;
  }

  // What a video file begins with, by container: ISO media (MP4, MOV, 3GP: a box type at 4),
  // Matroska/WebM, AVI, MPEG transport and program streams, FLV, Ogg, ASF/WMV. Anything else
  // (a photo, a document, a sound file) is refused before a byte is sent.
  var BOXES = ["ftyp", "moov", "mdat", "wide", "free", "skip", "pnot"];

  function ascii(bytes, start, end) {
    return String.fromCharCode.apply(null, Array.prototype.slice.call(bytes, start, end));
  }

  function startsLikeVideo(bytes) {
    var at = function (start, values) {
      return values.every(function (value, i) { return bytes[start + i] === value; });
    };
    return BOXES.indexOf(ascii(bytes, 4, 8)) !== -1 ||
      at(0, [0x1a, 0x45, 0xdf, 0xa3]) ||
      (ascii(bytes, 0, 4) === "RIFF" && ascii(bytes, 8, 12) === "AVI ") ||
      (bytes[0] === 0x47 && bytes.length > 188 && bytes[188] === 0x47) ||
      at(0, [0x00, 0x00, 0x01, 0xba]) ||
      ascii(bytes, 0, 3) === "FLV" ||
      ascii(bytes, 0, 4) === "OggS" ||
      at(0, [0x30, 0x26, 0xb2, 0x75]);
  }

  // Resolves to true for a file that starts like a video (or one the browser cannot read:
  // the server decides then).
  function looksLikeVideo(file) {
    if (!file.size) return Promise.resolve(false);
    if (!file.slice || !window.Uint8Array) return Promise.resolve(true);
    var head = file.slice(0, 512);
    var read = head.arrayBuffer ? head.arrayBuffer() : new Response(head).arrayBuffer();
    return read.then(function (buffer) {
      return startsLikeVideo(new Uint8Array(buffer));
    }, function () { return true; });
  }

  function notAVideo(file, kind) {
    if (kind === "voice") {
      return "“" + file.name + "” is not a recording we can use. Record your voice here, " +
        "or choose an M4A or WebM recording.";
    }
    return "“" + file.name + "” is not a video. Choose a video file (MP4, MOV or WebM, " +
      "as a phone or camera records it).";
  }

  // "voice" or "video": what the server is told the upload is (tus metadata "kind").
  function kindOf(input) {
    return input.name === "voice" ? "voice" : "video";
  }

  // The element (a progress bar, a message) where an input's upload shows how it goes: in
  // its own [data-upload-status] block (the voice widget's, open while "Add a video" may be
  // folded), else the form's first that is in no such block.
  function statusPart(input, selector) {
    var own = input.closest && input.closest("[data-upload-status]");
    if (own) return own.querySelector(selector);
    return Array.prototype.find.call(input.form.querySelectorAll(selector), function (part) {
      return !part.closest("[data-upload-status]");
    }) || null;
  }

  // What a form shows while its file goes up (a bar, a message, its buttons held), and what
  // it does once the file is a video: the Videos page reloads to show it, a form that saves
  // more sends itself again with the video's id.
  function progressOf(form, input, submitter) {
    var bar = statusPart(input, "progress");
    var message = statusPart(input, ".upload-message");
    var saves = form.hasAttribute("data-video-form");
    var buttons = submitButtons(form);

    function say(text) {
      if (message) message.textContent = text;
    }

    if (saves) assetField(form).value = "";
    setDisabled(buttons, true);
    if (bar) {
      bar.hidden = false;
      bar.value = 0;
    }
    say("Starting the upload…");
    return {
      say: say,
      sent: function (sent, total) {
        var percent = total ? Math.floor((sent / total) * 100) : 0;
        if (bar) bar.value = percent;
        say("Uploading… " + percent + "%");
      },
      fail: function (text) {
        uploading.delete(form);
        setDisabled(buttons, false);
        if (bar) bar.hidden = true;
        say(text);
      },
      done: function (asset) {
        if (bar) bar.value = 100;
        if (!saves) {
          say("Uploaded. Preparing your video…");
          return window.location.reload();
        }
        assetField(form).value = asset;
        say("Uploaded. Saving…");
        uploading.delete(form);
        setDisabled(buttons, false);
        saveWithAsset(form, submitter, videoInputs(form));
      },
    };
  }

  var STOPPED = "The upload stopped. Choose the same file and send again to resume.";
  var RETRY_DELAYS = [0, 1000, 3000, 5000, 10000, 20000, 30000];

  function uploadByTus(form, input, file, progress) {
    var token = form.querySelector("input[name=csrf_token]");
    var defaultRetry = window.tus.defaultOptions && window.tus.defaultOptions.onShouldRetry;
    var asset = "";
    var upload = new window.tus.Upload(file, {
      endpoint: form.dataset.tusEndpoint,
      chunkSize: 5 * 1024 * 1024,
      retryDelays: RETRY_DELAYS,
      metadata: { filename: file.name, filetype: file.type, kind: kindOf(input) },
      headers: token ? { "X-CSRFToken": token.value } : {},
      removeFingerprintOnSuccess: true,
      onProgress: progress.sent,
      // tus-js-client's own rule decides; this only tells the user why the bar has stopped.
      onShouldRetry: function (error, attempt, options) {
        var again = defaultRetry ? defaultRetry(error, attempt, options) : true;
        if (again) progress.say("The connection dropped. Retrying…");
        return again;
      },
      // The request that completes the upload answers with the new video's id.
      onAfterResponse: function (request, response) {
        var id = response.getHeader("X-Video-Asset");
        if (id) asset = id;
      },
      onError: function (error) {
        var response = error.originalResponse;
        var type = response && response.getHeader("Content-Type");
        var body = type && type.indexOf("text/plain") === 0 ? response.getBody() : "";
        progress.fail(body || STOPPED);
      },
      onSuccess: function () {
        if (!asset) return progress.fail("The upload finished but was not confirmed. Send again.");
        progress.done(asset);
      },
    });
    upload.findPreviousUploads().then(function (previous) {
      if (previous.length) upload.resumeFromPreviousUpload(previous[0]);
      upload.start();
    });
  }

  function uploadDirect(form, input, file, progress) {
    var token = form.querySelector("input[name=csrf_token]");
    window.PractikaDirect.send({
      endpoint: form.dataset.directEndpoint,
      file: file,
      kind: kindOf(input),
      token: token ? token.value : "",
      retryDelays: RETRY_DELAYS,
      stopped: STOPPED,
      onProgress: progress.sent,
      onRetry: function () { progress.say("The connection dropped. Retrying…"); },
    }).then(progress.done, function (error) { progress.fail(error.message || STOPPED); });
  }

  // Capturing on the document runs before htmx's own submit listener on the form, so a form
  // with a file is held back until the file is up, and one without goes on as usual.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!(form instanceof HTMLFormElement) || !form.hasAttribute("data-tus-endpoint")) return;
    if (passing.has(form)) return;
    if (uploading.has(form)) { // pressed Enter while the file is going up
      event.preventDefault();
      event.stopImmediatePropagation();
      return;
    }
    var withFile = videoInputs(form).filter(function (field) {
      return field.files && field.files.length;
    });
    var input = withFile.indexOf(chosen.get(form)) !== -1 ? chosen.get(form) : withFile[0];
    if (!input || !form.dataset.tusScript) return;
    event.preventDefault();
    event.stopImmediatePropagation();
    var file = input.files[0];
    var submitter = event.submitter;
    uploading.add(form);
    looksLikeVideo(file).then(function (video) {
      if (video) return;
      refuse(input, file);
      throw null; // neither upload nor post it
    }).then(function () {
      if (form.dataset.directEndpoint && window.PractikaDirect && window.fetch) {
        return uploadDirect(form, input, file, progressOf(form, input, submitter));
      }
      // Usually loaded already (see enhanceAll); without tus the file goes in the form as is.
      return loadTus(form.dataset.tusScript).then(function () {
        if (!window.tus.isSupported) throw new Error("tus is not supported");
      }).then(function () {
        uploadByTus(form, input, file, progressOf(form, input, submitter));
      }, function () {
        uploading.delete(form);
        // Later, not in this microtask: a form ignores requestSubmit while its submit event
        // is still being dispatched, and a failed load may already be settled by now.
        setTimeout(function () { passThrough(form, submitter); }, 0);
      });
    }, function () { uploading.delete(form); });
  }, true);

  // Say so at once, and let go of the file, so that it is never sent.
  function refuse(input, file) {
    var message = input.form && statusPart(input, ".upload-message");
    if (message) message.textContent = notAVideo(file, kindOf(input));
    input.value = "";
    if (chosen.get(input.form) === input) chosen.delete(input.form);
  }

  // With both a recording and a chosen file, the one the user made last is sent. A file that
  // is no video is refused as soon as it is picked.
  document.addEventListener("change", function (event) {
    var input = event.target;
    var form = input.form;
    if (form && form.hasAttribute("data-tus-endpoint") && isMediaInput(input) &&
        input.files && input.files.length) {
      var file = input.files[0];
      chosen.set(form, input);
      var message = statusPart(input, ".upload-message");
      if (message) message.textContent = "";
      looksLikeVideo(file).then(function (video) {
        if (!video && input.files[0] === file) refuse(input, file);
      });
    }
  });

  // Leaving while a file goes up asks first: closing or reloading the tab (the browser's own
  // question) and a link htmx follows in place (boosted navigation).
  var LEAVING = "A video is still uploading. Leave this page and stop the upload?";
  window.addEventListener("beforeunload", function (event) {
    if (!uploading.size) return;
    event.preventDefault();
    event.returnValue = LEAVING; // older browsers want a value
  });
  document.addEventListener("htmx:beforeRequest", function (event) {
    if (uploading.size && event.detail.boosted && !window.confirm(LEAVING)) {
      event.preventDefault();
    }
  });

  // A form sent back with an error keeps its uploaded video attached; Remove lets it go.
  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest("[data-video-replace]");
    if (!button || !button.form) return;
    var field = button.form.querySelector("input[name=video_asset_id]");
    if (field) field.value = "";
    button.closest("[data-video-attached]").remove();
  });

  function enhanceAll() {
    document.querySelectorAll("form[data-tus-endpoint][data-tus-script]").forEach(function (form) {
      loadTus(form.dataset.tusScript).catch(function () {}); // the form posts its file instead
    });
  }
  document.addEventListener("DOMContentLoaded", enhanceAll);
  document.addEventListener("htmx:load", enhanceAll);
})();
