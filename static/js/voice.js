// A voice comment: a [data-voice] block records the microphone with MediaRecorder, shows a
// timer and Stop, then a player to listen back, Re-record and Remove. The recording goes
// into the block's "voice" file input; on Send, upload.js sends it ahead through the same
// resumable upload as a video (as kind "voice") and the form names it in video_asset_id.
// Without MediaRecorder or the microphone, the block's plain file input stays, which on a
// phone opens its own recorder.
(function () {
  "use strict";

  // Opus in WebM where the browser records it (Chromium, Firefox); AAC in MP4 on Safari.
  var MIME_TYPES = ["audio/webm;codecs=opus", "audio/mp4;codecs=mp4a.40.2", "audio/mp4",
    "audio/webm"];
  var BITS_PER_SECOND = 64000; // a clear voice, about half a megabyte a minute
  var states = new WeakMap(); // [data-voice] -> its state
  var live = new Set(); // states whose microphone is on, turned off when the page goes

  function supported() {
    return Boolean(window.MediaRecorder && navigator.mediaDevices &&
      navigator.mediaDevices.getUserMedia && window.DataTransfer);
  }

  function part(root, name) {
    return root.querySelector("[data-voice-" + name + "]");
  }

  function say(root, text) {
    part(root, "message").textContent = text;
  }

  function clock(seconds) {
    var whole = Math.max(0, Math.floor(seconds));
    return Math.floor(whole / 60) + ":" + String(whole % 60).padStart(2, "0");
  }

  function mimeType() {
    if (typeof MediaRecorder.isTypeSupported !== "function") return "";
    return MIME_TYPES.find(function (type) {
      return MediaRecorder.isTypeSupported(type);
    }) || "";
  }

  function microphoneError(error) {
    var name = error && error.name;
    if (name === "NotAllowedError" || name === "SecurityError") {
      return "The microphone is blocked. Allow it for this site in your browser, or " +
        "choose a recording below.";
    }
    if (name === "NotFoundError") return "No microphone was found. Choose a recording below.";
    if (name === "NotReadableError") {
      return "The microphone is in use by another app. Close it and try again.";
    }
    return "The microphone could not be started. Choose a recording below.";
  }

  // Shows the parts for one moment of the widget: "idle", "recording" or "recorded".
  function show(state, moment) {
    var root = state.root;
    part(root, "start").hidden = moment !== "idle";
    part(root, "timer").hidden = moment !== "recording";
    part(root, "stop").hidden = moment !== "recording";
    part(root, "review").hidden = moment !== "recorded";
    var focus = { idle: "start", recording: "stop", recorded: "rerecord" }[moment];
    if (root.contains(document.activeElement) && document.activeElement.hidden) {
      part(root, focus).focus();
    }
  }

  // The plain file input is for when recording here cannot work: disabled while the
  // recorder is offered, so an empty or stale choice is never sent.
  function offerFallback(root, offered) {
    var fallback = part(root, "fallback");
    fallback.hidden = !offered;
    fallback.querySelector("input").disabled = !offered;
  }

  // Stops the timer, the recorder (keeping its data only when `keep`) and the microphone,
  // so the browser's recording light goes off.
  function release(state, keep) {
    state.session += 1; // a pending getUserMedia sees it is stale
    clearInterval(state.timer);
    var recorder = state.recorder;
    state.recorder = null;
    if (recorder) {
      if (!keep) recorder.ondataavailable = recorder.onstop = null;
      if (recorder.state !== "inactive") recorder.stop();
    }
    if (state.stream) state.stream.getTracks().forEach(function (track) { track.stop(); });
    state.stream = null;
    live.delete(state);
  }

  function setFile(state, file) {
    var input = part(state.root, "recorded");
    var transfer = new DataTransfer();
    if (file) transfer.items.add(file);
    input.files = transfer.files;
    input.dispatchEvent(new Event("change", { bubbles: true })); // upload.js: the one to send
  }

  function clear(state) {
    var preview = part(state.root, "preview");
    preview.removeAttribute("src");
    preview.load();
    if (state.url) URL.revokeObjectURL(state.url);
    state.url = null;
    if (part(state.root, "recorded").files.length) setFile(state, null);
  }

  function start(state) {
    var root = state.root;
    var session = ++state.session;
    clear(state);
    say(root, "Allow the microphone if your browser asks…");
    navigator.mediaDevices.getUserMedia({ audio: true }).then(function (stream) {
      if (session !== state.session || !root.isConnected) {
        stream.getTracks().forEach(function (track) { track.stop(); });
        return;
      }
      record(state, stream);
    }, function (error) {
      if (session !== state.session) return;
      say(root, microphoneError(error));
      offerFallback(root, true);
    });
  }

  function record(state, stream) {
    var root = state.root;
    var type = mimeType();
    var options = { audioBitsPerSecond: BITS_PER_SECOND };
    if (type) options.mimeType = type;
    var recorder = new MediaRecorder(stream, options);
    var chunks = [];
    var started = Date.now();
    var most = Number(root.dataset.maxSeconds) || 300;
    state.stream = stream;
    state.recorder = recorder;
    live.add(state);
    recorder.ondataavailable = function (event) {
      if (event.data && event.data.size) chunks.push(event.data);
    };
    recorder.onstop = function () {
      recorded(state, chunks, recorder.mimeType || type || "audio/webm", (Date.now() - started) / 1000);
    };
    recorder.start(1000);
    part(root, "clock").textContent = clock(0);
    show(state, "recording");
    say(root, "Recording. Press Stop when you are done.");
    state.timer = setInterval(function () {
      var seconds = (Date.now() - started) / 1000;
      if (!root.isConnected) return release(state, false); // the form was replaced
      part(root, "clock").textContent = clock(seconds);
      if (seconds >= most) release(state, true); // the longest a voice comment may be
    }, 250);
  }

  // Chromium's recordings carry no duration, so the player could not show one or be
  // scrubbed; seeking far past the end once makes the browser work it out.
  function showPreview(state, file) {
    var preview = part(state.root, "preview");
    var url = URL.createObjectURL(file);
    state.url = url;
    preview.addEventListener("loadedmetadata", function () {
      if (state.url !== url || preview.duration !== Infinity) return;
      preview.addEventListener("durationchange", function known() {
        if (state.url === url && preview.duration === Infinity) return;
        preview.removeEventListener("durationchange", known);
        if (state.url === url) preview.currentTime = 0;
      });
      preview.currentTime = 1e101;
    }, { once: true });
    preview.src = url;
  }

  function recorded(state, chunks, type, seconds) {
    var root = state.root;
    var bare = type.split(";")[0];
    var name = "voice-comment." + (bare === "audio/mp4" ? "m4a" : "webm");
    var file = new File(chunks, name, { type: bare });
    if (!file.size) {
      show(state, "idle");
      return say(root, "Nothing was recorded. Check your microphone and try again.");
    }
    showPreview(state, file);
    setFile(state, file);
    show(state, "recorded");
    say(root, "Recorded " + clock(seconds) + ". Listen back, then send it with your " +
      "comment, or re-record.");
  }

  function enhance(root) {
    if (states.has(root) || !supported()) return;
    var state = { root: root, session: 0, timer: null, recorder: null, stream: null, url: null };
    states.set(root, state);
    part(root, "ui").hidden = false;
    offerFallback(root, false);
    part(root, "start").addEventListener("click", function () { start(state); });
    part(root, "stop").addEventListener("click", function () {
      say(root, "");
      release(state, true);
    });
    part(root, "rerecord").addEventListener("click", function () { start(state); });
    part(root, "remove").addEventListener("click", function () {
      clear(state);
      show(state, "idle");
      say(root, "Voice comment removed.");
    });
  }

  window.addEventListener("pagehide", function () {
    live.forEach(function (state) { release(state, false); });
  });

  function enhanceAll() {
    document.querySelectorAll("[data-voice]").forEach(enhance);
  }
  document.addEventListener("DOMContentLoaded", enhanceAll);
  document.addEventListener("htmx:load", enhanceAll);
})();
