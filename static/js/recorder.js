// Recording an attempt in the browser: a [data-recorder] block counts down 3-2-1, records the
// camera with MediaRecorder, lets the student watch it back or retake. Each second of the
// recording is kept on the device and sent as it is made (takes.js), so at Stop only the tail
// is left to send, and Send puts the uploaded video in the form. The recording also goes
// into the form's file input, so that if its upload is refused the form sends it like a
// chosen file (upload.js). Without MediaRecorder or camera access, the block's plain file
// input is used. Given a model player (data-model), recording is a split screen: the model
// above the camera on a phone, beside it on a wider screen, the model started with the
// recording when the student asks, and the form told what the take was recorded against.
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
    if (!keep && state.take && !state.take.record.stopped) {
      state.take.end(); // cut off: what was recorded stays on the device, offered later
      state.take = null;
    }
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
    practise(state, false);
  }

  // Practice mode: the model's deck and this recorder share the screen while the camera is on.
  function model(root) {
    var video = root.dataset.model && document.getElementById(root.dataset.model);
    return video instanceof HTMLVideoElement ? video : null;
  }

  function practise(state, on) {
    var root = state.root;
    var deck = on && model(root) && model(root).closest("[data-practice-deck]");
    if (!on && !root.classList.contains("recording-against")) return;
    document.documentElement.classList.toggle("practice-mode", Boolean(deck));
    root.classList.toggle("recording-against", Boolean(deck));
    if (deck) {
      deck.classList.add("beside-camera");
      root.scrollIntoView({ block: "start" }); // just under the model (the scroll padding)
    } else {
      document.querySelectorAll(".beside-camera").forEach(function (element) {
        element.classList.remove("beside-camera");
      });
    }
  }

  // At the start of a recording: the model from its loop's start (when asked), and the form
  // told the clip and speed the take is recorded against, for lining it up later.
  function startModel(state) {
    var video = model(state.root);
    var form = state.root.closest("form");
    if (!video) return;
    var loop = window.PractikaPlayer && window.PractikaPlayer.loopOf(video);
    var fields = form ? form.elements : {};
    if (fields.against_clip) fields.against_clip.value = loop && loop.clipId ? loop.clipId : "";
    var field = fields.against_rate;
    if (field) { // a browser's own menu may offer speeds the form does not take: then none
      var rate = video.playbackRate || 1;
      var fits = rate >= parseFloat(field.dataset.min) && rate <= parseFloat(field.dataset.max);
      field.value = fits ? String(rate) : "";
    }
    var wanted = part(state.root, "with-model");
    if (wanted && wanted.checked && window.PractikaPlayer) window.PractikaPlayer.restart(video);
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
      practise(state, true);
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
    var type = (recorder.mimeType || mimeType || "video/webm").split(";")[0];
    var filename = "attempt-" + stamp(new Date()) + (type === "video/mp4" ? ".mp4" : ".webm");
    var take = state.take = keepAndSend(state, filename, type);
    state.recorder = recorder;
    recorder.ondataavailable = function (event) {
      if (!event.data || !event.data.size) return;
      chunks.push(event.data);
      if (take) take.add(event.data);
    };
    recorder.onstop = function () {
      var seconds = (Date.now() - startedAt) / 1000;
      state.recorder = null;
      if (take) take.stop(seconds);
      place(state, chunks, type, filename, seconds);
    };
    recorder.onerror = function () {
      abort(state, "The recording stopped unexpectedly. Try again, or choose a video file.");
    };
    startModel(state);
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
      var waiting = take && take.state === "waiting" ? " · " + take.message : "";
      say(root, "Recording " + clock(seconds) + " of " + clock(maxSeconds) + waiting);
    }, 250);
  }

  function stop(state) {
    if (state.recorder) {
      release(state, true); // the recorder's onstop places the file (and a second press waits)
    } else {
      abort(state, ""); // pressed while the camera was starting or counting down
    }
  }

  // The take kept on the device and sent as it is recorded, when the form has a resumable
  // upload and the page has takes.js; its news shows once the recording has stopped.
  function keepAndSend(state, filename, type) {
    var form = state.root.closest("form");
    if (!form || !form.dataset.tusEndpoint || !window.PractikaTakes) return null;
    var heading = document.querySelector("main h1");
    return window.PractikaTakes.begin(form, {
      title: heading ? heading.textContent.trim() : document.title,
      filename: filename,
      type: type,
      changed: function (take) {
        if (state.take === take && take.record.stopped) tell(state, take);
      },
    });
  }

  function tell(state, take) {
    var form = state.root.closest("form");
    var bar = form && form.querySelector("progress");
    var recorded = "Recorded " + clock(take.record.seconds) + ". ";
    if (bar) {
      bar.hidden = take.state === "sent" || take.state === "failed";
      bar.value = take.progress();
    }
    if (take.state === "sent") {
      say(state.root, recorded + "It is uploaded: watch it back, then send it or retake.");
    } else if (take.state === "failed" || take.state === "waiting") {
      say(state.root, recorded + take.message);
    } else {
      say(state.root, recorded + "Uploading the last seconds… " + take.progress() + "%");
    }
  }

  function place(state, chunks, type, filename, seconds) {
    var root = state.root;
    var blob = new Blob(chunks, { type: type });
    var file = new File([blob], filename, { type: type });
    state.file = file;
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
    if (state.take) tell(state, state.take);
    else say(root, "Recorded " + clock(seconds) + ". Watch it back, then send it or retake.");
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
    drop(state);
    start(state);
  }

  // The take is not wanted any more: off the device and off the server.
  function drop(state) {
    if (state.take) state.take.discard();
    state.take = null;
    state.file = null;
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
    var submitter = event.submitter && event.submitter.form === form ? event.submitter : null;
    function hold() {
      event.preventDefault();
      event.stopImmediatePropagation();
    }
    function again() {
      setTimeout(function () {
        if (submitter) form.requestSubmit(submitter);
        else form.requestSubmit();
      }, 0);
    }
    active.forEach(function (root) {
      if (!form.contains(root)) return;
      var state = recorders.get(root);
      if (!state.recorder || state.recorder.state !== "recording") return abort(state, "");
      hold();
      root.addEventListener("recorder:recorded", again, { once: true });
      stop(state);
      say(root, "Stopping the recording to send it…");
    });
    if (event.defaultPrevented) return;
    form.querySelectorAll("[data-recorder]").forEach(function (root) {
      var state = recorders.get(root);
      var input = target(root);
      if (!state || !state.take || !input || input.files[0] !== state.file) return;
      var take = state.take;
      hold();
      if (state.sending) return; // pressed again while the tail goes up
      state.sending = true;
      window.PractikaTakes.keepFields(take, form);
      if (take.state !== "sent") tell(state, take);
      take.done.then(function (asset) {
        var field = form.querySelector("input[name=video_asset_id]");
        if (field) field.value = asset;
        input.value = ""; // the video is on the server: the form sends its id alone
      }, function () {
        // Refused for good (too big, no room left): the form sends the file instead and
        // says why if that fails too. The copy on the device stays until the form is
        // accepted, so nothing is lost if the page goes meanwhile.
        take.fallbackForm = form;
        state.take = null;
      }).then(function () {
        state.sending = false;
        again();
      });
    });
  }, true);

  // Another video chosen after the recording replaces it, so the take is not kept.
  document.addEventListener("change", function (event) {
    var input = event.target;
    if (!input.form || input.name !== "video" || !input.files || !input.files.length) return;
    var recorded = false;
    input.form.querySelectorAll("[data-recorder]").forEach(function (root) {
      var state = recorders.get(root);
      recorded = recorded || input === target(root);
      if (state && state.take && input !== target(root)) drop(state);
    });
    // A chosen file was not recorded against anything on this page.
    var fields = input.form.elements;
    if (!recorded && fields.against_clip) fields.against_clip.value = "";
    if (!recorded && fields.against_rate) fields.against_rate.value = "";
  });

  window.addEventListener("pagehide", function () {
    active.forEach(function (root) { release(recorders.get(root), false); });
  });

  function enhanceAll() {
    document.querySelectorAll("[data-recorder]").forEach(enhance);
  }
  document.addEventListener("DOMContentLoaded", enhanceAll);
  document.addEventListener("htmx:load", enhanceAll);
})();
