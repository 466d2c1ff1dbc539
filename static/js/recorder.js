// Recording an attempt in the browser: a [data-recorder] block counts down 3-2-1, records the
// camera with MediaRecorder, lets the student watch it back or retake, and puts the recording
// into the form's file input, so the form sends it like a chosen file (upload.js then sends it
// resumably). Without MediaRecorder or camera access, the block's plain file input is used.
(function () {
  "use strict";

  // MP4 with H.264 and AAC first (Safari, Chrome): the pipeline makes it playable by a
  // remux in about a second. Elsewhere WebM, VP8 before VP9 (cheaper for a phone to encode;
  // the pipeline encodes it again anyway). A bare "video/mp4" comes last: a Chromium without
  // H.264 writes VP9 into it, no quicker to play than WebM.
  var MIME_TYPES = [
    "video/mp4;codecs=avc1.42E01F,mp4a.40.2",
    "video/mp4;codecs=avc1,mp4a.40.2",
    "video/webm;codecs=vp8,opus",
    "video/webm;codecs=vp9,opus",
    "video/webm",
    "video/mp4",
  ];
  // 720p at 1.5 Mbit/s with 96 kbit/s of sound: what a phone's uplink keeps up with (a
  // 2 Mbit/s uplink sends each second of a take within the next), sharp enough to coach from.
  var BITS_PER_SECOND = { videoBitsPerSecond: 1500000, audioBitsPerSecond: 96000 };
  var recorders = new WeakMap(); // [data-recorder] -> its state
  var active = new Set(); // roots whose camera is on (or asked for), watched for removal
  var removals = new MutationObserver(function () {
    active.forEach(function (root) {
      if (!root.isConnected) release(recorders.get(root), false);
    });
  });

  function supported() {
    return Boolean(window.MediaRecorder && navigator.mediaDevices &&
      navigator.mediaDevices.getUserMedia);
  }

  function part(root, name) {
    return root.querySelector("[data-recorder-" + name + "]");
  }

  function clock(seconds) {
    var whole = Math.max(0, Math.floor(seconds));
    return Math.floor(whole / 60) + ":" + String(whole % 60).padStart(2, "0");
  }

  function say(root, text) {
    var message = part(root, "message");
    if (message) message.textContent = text;
  }

  function bestMimeType() {
    if (typeof MediaRecorder.isTypeSupported !== "function") return "";
    return MIME_TYPES.find(function (type) {
      return MediaRecorder.isTypeSupported(type);
    }) || "";
  }

  function target(root) {
    return document.getElementById(root.dataset.into);
  }

  // The fallback's inputs are disabled while hidden so an empty or stale choice is not sent;
  // the input the recording goes into stays usable even if the template put it there.
  function showFallback(root, shown) {
    var fallback = part(root, "fallback");
    if (!fallback) return;
    fallback.hidden = !shown;
    fallback.querySelectorAll("input, select, textarea, button").forEach(function (field) {
      if (field !== target(root)) field.disabled = !shown;
    });
  }

  // Shows exactly the named buttons. A keyboard user's focus follows to a shown button
  // instead of falling back to the page when the pressed one disappears.
  function showButtons(root, names) {
    var focused = null;
    ["start", "stop", "retake"].forEach(function (name) {
      var button = part(root, name);
      if (!button) return;
      var shown = names.indexOf(name) !== -1;
      if (!shown && button === document.activeElement) focused = button;
      button.hidden = !shown;
    });
    if (focused) {
      var next = part(root, names[0]);
      if (next) next.focus();
    }
  }

  function stamp(date) {
    function two(n) { return String(n).padStart(2, "0"); }
    return date.getFullYear() + two(date.getMonth() + 1) + two(date.getDate()) + "-" +
      two(date.getHours()) + two(date.getMinutes()) + two(date.getSeconds());
  }

  function wait(ms) {
    return new Promise(function (resolve) { setTimeout(resolve, ms); });
  }

  function cameraError(error) {
    var name = error && error.name;
    if (name === "NotAllowedError" || name === "SecurityError") {
      return "The camera is blocked. Allow camera and microphone for this site in your " +
        "browser, or choose a video file instead.";
    }
    if (name === "NotFoundError" || name === "OverconstrainedError") {
      return "No camera was found. Choose a video file instead.";
    }
    if (name === "NotReadableError") {
      return "The camera is in use by another app. Close it and try again, or choose a " +
        "video file instead.";
    }
    return "The camera could not be started. Choose a video file instead.";
  }

  // Camera and recording

  // Ends whatever is running: the recorder (its data kept only when `keep`), the timers,
  // and every camera track, so the camera light goes off.
  function release(state, keep) {
    state.session += 1; // a pending getUserMedia or countdown sees it is stale
    clearInterval(state.timer);
    var recorder = state.recorder;
    if (recorder) {
      if (!keep) recorder.ondataavailable = recorder.onstop = recorder.onerror = null;
      if (recorder.state !== "inactive") recorder.stop();
    }
    if (!keep) state.recorder = null;
    if (state.stream) state.stream.getTracks().forEach(function (track) { track.stop(); });
    state.stream = null;
    var live = part(state.root, "live");
    if (live) {
      live.srcObject = null;
      live.hidden = true;
    }
    var countdown = part(state.root, "countdown");
    if (countdown) countdown.textContent = "";
    var message = part(state.root, "message");
    if (message && state.liveSetting !== undefined) {
      message.setAttribute("aria-live", state.liveSetting);
      state.liveSetting = undefined;
    }
    active.delete(state.root);
    if (!active.size) removals.disconnect();
  }

  // Back to the start button, with the file input as the way out when `text` says why.
  function abort(state, text) {
    release(state, false);
    showButtons(state.root, ["start"]);
    say(state.root, text);
    if (text) showFallback(state.root, true);
  }

  function clearPreview(state) {
    var preview = part(state.root, "preview");
    if (preview) {
      preview.pause();
      preview.removeAttribute("src");
      preview.load();
      preview.hidden = true;
    }
    if (state.url) URL.revokeObjectURL(state.url);
    state.url = null;
  }

  function start(state) {
    var root = state.root;
    var session = ++state.session;
    var stale = function () { return state.session !== session; };
    clearPreview(state);
    showButtons(root, ["stop"]);
    say(root, "Starting the camera…");
    active.add(root);
    removals.observe(document.body, { childList: true, subtree: true });
    navigator.mediaDevices.getUserMedia({
      video: { facingMode: "user", width: { ideal: 1280 }, height: { ideal: 720 } },
      audio: true,
    }).then(function (stream) {
      if (stale()) {
        stream.getTracks().forEach(function (track) { track.stop(); });
        return;
      }
      state.stream = stream;
      showFallback(root, false); // hidden again after an earlier failure
      var live = part(root, "live");
      if (live) {
        live.muted = true;
        live.srcObject = stream;
        live.hidden = false;
        live.play().catch(function () {});
      }
      say(root, "");
      return countdown(root, stale).then(function () {
        if (!stale()) record(state, stream);
      });
    }, function (error) {
      if (!stale()) abort(state, cameraError(error));
    });
  }

  function countdown(root, stale) {
    var display = part(root, "countdown");
    var steps = [3, 2, 1];
    return steps.reduce(function (chain, n) {
      return chain.then(function () {
        if (stale()) return;
        if (display) display.textContent = String(n);
        return wait(1000);
      });
    }, Promise.resolve()).then(function () {
      if (display && !stale()) display.textContent = ""; // a stale one may be a new countdown
    });
  }

  function record(state, stream) {
    var root = state.root;
    var mimeType = bestMimeType();
    var recorder;
    try {
      var options = Object.assign({}, BITS_PER_SECOND, mimeType ? { mimeType: mimeType } : {});
      recorder = new MediaRecorder(stream, options);
      recorder.start(1000);
    } catch (error) {
      abort(state, "This browser cannot record here. Choose a video file instead.");
      return;
    }
    var chunks = [];
    var startedAt = Date.now();
    var maxSeconds = parseInt(root.dataset.maxSeconds, 10) || 300;
    state.recorder = recorder;
    recorder.ondataavailable = function (event) {
      if (event.data && event.data.size) chunks.push(event.data);
    };
    recorder.onstop = function () {
      var seconds = (Date.now() - startedAt) / 1000;
      state.recorder = null;
      place(state, chunks, recorder.mimeType || mimeType, seconds);
    };
    recorder.onerror = function () {
      abort(state, "The recording stopped unexpectedly. Try again, or choose a video file.");
    };
    say(root, "Recording 0:00");
    var message = part(root, "message");
    var shown = 0;
    state.timer = setInterval(function () {
      var seconds = (Date.now() - startedAt) / 1000;
      if (seconds >= maxSeconds) return stop(state);
      if (Math.floor(seconds) === shown) return;
      shown = Math.floor(seconds);
      // The first "Recording" is announced; a tick every second would drown a screen reader.
      if (message && state.liveSetting === undefined) {
        state.liveSetting = message.getAttribute("aria-live") || "polite";
        message.setAttribute("aria-live", "off");
      }
      say(root, "Recording " + clock(seconds) + " of " + clock(maxSeconds));
    }, 250);
  }

  function stop(state) {
    if (state.recorder) {
      release(state, true); // the recorder's onstop places the file (and a second press waits)
    } else {
      abort(state, ""); // pressed while the camera was starting or counting down
    }
  }

  function place(state, chunks, type, seconds) {
    var root = state.root;
    var bareType = (type || "video/webm").split(";")[0];
    var blob = new Blob(chunks, { type: bareType });
    var extension = bareType === "video/mp4" ? "mp4" : "webm";
    var file = new File([blob], "attempt-" + stamp(new Date()) + "." + extension,
                        { type: bareType });
    showButtons(root, ["retake"]);
    showPreview(state, blob);
    var input = target(root);
    try {
      var transfer = new DataTransfer();
      transfer.items.add(file);
      input.files = transfer.files;
    } catch (error) {
      say(root, "This browser cannot attach the recording. Choose a video file instead.");
      showFallback(root, true);
      return;
    }
    input.dispatchEvent(new Event("change", { bubbles: true }));
    say(root, "Recorded " + clock(seconds) + ". Watch it back, then send it or retake.");
    root.dispatchEvent(new CustomEvent("recorder:recorded", {
      bubbles: true,
      detail: { file: file },
    }));
  }

  // Chrome's recordings carry no duration, so the preview could not be scrubbed; seeking far
  // past the end once makes the browser work the duration out.
  function showPreview(state, blob) {
    var preview = part(state.root, "preview");
    if (!preview) return;
    if (state.url) URL.revokeObjectURL(state.url);
    var url = URL.createObjectURL(blob);
    state.url = url;
    function play() {
      preview.play().catch(function () {}); // refused autoplay leaves the controls to the user
    }
    preview.addEventListener("loadedmetadata", function () {
      if (state.url !== url) return; // a retake came first
      if (preview.duration !== Infinity) return play();
      preview.addEventListener("durationchange", function known() {
        if (state.url === url && preview.duration === Infinity) return;
        preview.removeEventListener("durationchange", known);
        if (state.url !== url) return;
        preview.currentTime = 0;
        play();
      });
      preview.currentTime = 1e101;
    }, { once: true });
    preview.src = url;
    preview.hidden = false;
  }

  function retake(state) {
    var input = target(state.root);
    if (input && input.value && !window.confirm("Record again? This take will be deleted.")) return;
    if (input && input.value) {
      input.value = "";
      input.dispatchEvent(new Event("change", { bubbles: true }));
    }
    start(state);
  }

  // Wiring

  function enhance(root) {
    if (recorders.has(root) || !supported()) return;
    recorders.set(root, { root: root, session: 0, timer: null, stream: null, recorder: null });
    var ui = part(root, "ui");
    if (ui) ui.hidden = false;
    showFallback(root, false);
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest &&
      event.target.closest("[data-recorder-start], [data-recorder-stop], [data-recorder-retake]");
    var root = button && button.closest("[data-recorder]");
    var state = root && recorders.get(root);
    if (!state) return;
    event.preventDefault();
    if (button.matches("[data-recorder-start]")) start(state);
    else if (button.matches("[data-recorder-stop]")) stop(state);
    else retake(state);
  });

  // Sending the form mid-recording stops the recording and sends the take: the form goes
  // again once the recording is in its input. While the camera is only starting or counting
  // down there is no take yet, and the camera goes off. Capturing on window runs before
  // upload.js, which may stop the submit event on document.
  window.addEventListener("submit", function (event) {
    var form = event.target;
    active.forEach(function (root) {
      if (!form.contains(root)) return;
      var state = recorders.get(root);
      if (!state.recorder || state.recorder.state !== "recording") return abort(state, "");
      event.preventDefault();
      event.stopImmediatePropagation();
      var submitter = event.submitter && event.submitter.form === form ? event.submitter : null;
      root.addEventListener("recorder:recorded", function () {
        setTimeout(function () {
          if (submitter) form.requestSubmit(submitter);
          else form.requestSubmit();
        }, 0);
      }, { once: true });
      stop(state);
      say(root, "Stopping the recording to send it…");
    });
  }, true);

  window.addEventListener("pagehide", function () {
    active.forEach(function (root) { release(recorders.get(root), false); });
  });

  function enhanceAll() {
    document.querySelectorAll("[data-recorder]").forEach(enhance);
  }
  document.addEventListener("DOMContentLoaded", enhanceAll);
  document.addEventListener("htmx:load", enhanceAll);
})();
