// The compare view on an attempt's page (<section data-compare>): it sizes the two videos to
// the room the screen leaves them (side by side, stacked or one over the other) and keeps the
// follower in step with the lead, whose controls (player.js) are the only ones. A moment t of
// the lead shows what the follower shows at data-offset + data-rate * t. Videos are looked
// up on every event, because htmx may swap either while the page is open.
(function () {
  "use strict";

  var GAP = 6; // px between the two videos, as in app.css
  var DRIFT = 0.1; // s: a follower further off than this while playing is put back
  var MIN_HEIGHT = 120; // px: below this the videos are too small to use; the page scrolls
  var PHONE = "(max-width: 767px) and (orientation: portrait)"; // as app.css
  var PHONE_SHARE = 0.45;
  var following = new WeakSet(); // leads whose frames are being watched

  function view() {
    return document.querySelector("[data-compare]");
  }

  function videoById(id) {
    var element = id ? document.getElementById(id) : null;
    return element instanceof HTMLVideoElement ? element : null;
  }

  function number(value, fallback) {
    var parsed = parseFloat(value);
    return isFinite(parsed) ? parsed : fallback;
  }

  function play(video) {
    var started = video.play();
    if (started && started.catch) started.catch(function () {});
  }

  // Layout

  function ratio(figure) {
    var video = figure.querySelector("video");
    if (!video) return 16 / 9;
    if (video.videoWidth && video.videoHeight) return video.videoWidth / video.videoHeight;
    var width = number(video.getAttribute("width"), 0);
    var height = number(video.getAttribute("height"), 0);
    return width > 0 && height > 0 ? width / height : 16 / 9;
  }

  // A video of shape `ratio` shown whole in a box (object-fit: contain): [width, height].
  function contain(width, height, ratio) {
    return width / height > ratio ? [height * ratio, height] : [width, width / ratio];
  }

  // The split of the box between the two videos, side by side or stacked, that gives the
  // smaller of them the largest area (and then both the most).
  function plan(shape, a, b, width, height) {
    var best = null;
    for (var percent = 5; percent <= 95; percent += 1) {
      var share = percent / 100;
      var room = (shape === "side" ? width : height) - GAP;
      var one = shape === "side" ? contain(room * share, height, a) : contain(width, room * share, a);
      var two = shape === "side" ? contain(room * (1 - share), height, b)
        : contain(width, room * (1 - share), b);
      var small = Math.min(one[0] * one[1], two[0] * two[1]);
      var total = one[0] * one[1] + two[0] * two[1];
      if (!best || small > best.small + 1 || (small > best.small - 1 && total > best.total)) {
        best = { small: small, total: total, one: one, two: two };
      }
    }
    return best;
  }

  function size(element, width, height) {
    element.style.width = width ? Math.floor(width) + "px" : "";
    element.style.height = height ? Math.floor(height) + "px" : "";
  }

  function layout() {
    var section = view();
    if (!section) return;
    var stage = section.querySelector(".compare-stage");
    var figures = stage.querySelectorAll(".compare-side");
    var bar = document.querySelector(".compare-bar");
    var width = stage.clientWidth;
    var top = stage.getBoundingClientRect().top + window.scrollY;
    // Everything from the videos' bottom to the controls' bottom stays on screen too: the
    // take's timeline (markers.js lays this out again once it shows) and the controls.
    var last = (bar || section).getBoundingClientRect().bottom;
    var under = last - stage.getBoundingClientRect().bottom;
    var room = window.innerHeight - top - under - 10;
    // A phone held upright keeps the videos at the top of the screen (app.css) and the page
    // scrolls under them: they take at most PHONE_SHARE of what is in view, keyboard or not.
    if (window.matchMedia(PHONE).matches) {
      var seen = window.visualViewport ? window.visualViewport.height : window.innerHeight;
      room = Math.min(room, seen * PHONE_SHARE);
    }
    var height = Math.max(MIN_HEIGHT, room);
    var a = ratio(figures[0]);
    var b = ratio(figures[1]);
    var mode = section.dataset.mode || "auto";
    var side = plan("side", a, b, width, height);
    var stacked = plan("stacked", a, b, width, height);
    var shape = mode !== "auto" ? mode : side.small > stacked.small ? "side" : "stacked";
    if (section.dataset.solo) shape = "solo"; // the take alone, being drawn on (composer.js)
    stage.dataset.arrangement = shape;
    stage.classList.add("compare-sized");
    if (shape === "solo") {
      var alone = contain(width, height, a);
      size(stage, 0, alone[1]);
      size(figures[0], alone[0], alone[1]);
    } else if (shape === "overlay") {
      size(stage, 0, Math.min(height, width / Math.min(a, b)));
      size(figures[0], 0, 0);
      size(figures[1], 0, 0);
    } else {
      var chosen = shape === "side" ? side : stacked;
      var across = shape === "side" ? Math.max(chosen.one[1], chosen.two[1])
        : chosen.one[1] + chosen.two[1] + GAP;
      size(stage, 0, across);
      size(figures[0], chosen.one[0], chosen.one[1]);
      size(figures[1], chosen.two[0], chosen.two[1]);
    }
    // The top layer's picture fades, never its caption.
    var slider = document.querySelector("[data-overlay-opacity]");
    var layer = figures[1].querySelector(".stage");
    if (layer) layer.style.opacity = shape === "overlay" && slider ? String(slider.value / 100) : "";
    syncModes(section);
  }

  var pending = false;
  function layoutSoon() {
    if (pending) return;
    pending = true;
    window.requestAnimationFrame(function () {
      pending = false;
      layout();
    });
  }

  function syncModes(section) {
    var mode = section.dataset.mode || "auto";
    document.querySelectorAll("[data-compare-mode]").forEach(function (button) {
      button.setAttribute("aria-pressed", button.dataset.compareMode === mode ? "true" : "false");
    });
    var tools = document.querySelector("[data-overlay-tools]");
    if (tools) tools.hidden = mode !== "overlay";
  }

  // Following the lead

  // Where `follower` is at the moment `time` of `lead`, held inside it; 0 when the two are
  // not this view's pair (player.js asks before it plays two together).
  function partnerTime(lead, follower, time) {
    var section = view();
    if (!section || lead.id !== section.dataset.lead || follower.id !== section.dataset.follower) {
      return 0;
    }
    var target = number(section.dataset.offset, 0) + number(section.dataset.rate, 1) * time;
    var end = isFinite(follower.duration) ? follower.duration : Infinity;
    return Math.min(Math.max(target, 0), end);
  }
  window.PractikaCompare = { partnerTime: partnerTime, relayout: layoutSoon };

  function pair(section) {
    var lead = videoById(section.dataset.lead);
    var follower = videoById(section.dataset.follower);
    return lead && follower ? { lead: lead, follower: follower } : null;
  }

  // Puts the follower where the lead's moment maps to, at the lead's speed times the rate;
  // outside the follower's length it waits on its first or last frame. ``exact`` after a
  // seek or a start; otherwise only drift beyond DRIFT is corrected, so playback stays smooth.
  function follow(section, exact) {
    var videos = pair(section);
    if (!videos || videos.follower.readyState < 1 || loopsAlone(videos.follower)) return;
    var lead = videos.lead;
    var follower = videos.follower;
    var rate = number(section.dataset.rate, 1);
    var target = number(section.dataset.offset, 0) + rate * lead.currentTime;
    var end = isFinite(follower.duration) ? follower.duration : Infinity;
    var speed = lead.playbackRate * rate;
    if (speed >= 0.0625 && speed <= 16 && follower.playbackRate !== speed) {
      follower.playbackRate = speed;
    }
    var outside = target < 0 || target >= end;
    follower.dataset.held = outside && !lead.paused ? "true" : "false";
    if (outside) {
      if (!follower.paused) follower.pause();
      var edge = target < 0 ? 0 : end;
      if (Math.abs(follower.currentTime - edge) > 0.05) follower.currentTime = edge;
      return;
    }
    var off = Math.abs(follower.currentTime - target);
    if (exact ? off > 0.02 : off > DRIFT && !follower.seeking) follower.currentTime = target;
    if (lead.paused) {
      if (!follower.paused) follower.pause();
    } else if (follower.paused) {
      play(follower);
    }
  }

  // A clip the take does not show loops the model by itself (its chip names the model).
  function loopsAlone(follower) {
    return Array.prototype.some.call(
      document.querySelectorAll("button[data-loop-start][aria-pressed='true']"),
      function (chip) { return chip.dataset.for === follower.id; }
    );
  }

  // timeupdate comes about every 250 ms; each presented frame (or animation frame) is finer.
  function watchFrames(section, lead) {
    if (following.has(lead)) return;
    var next = lead.requestVideoFrameCallback
      ? function (callback) { lead.requestVideoFrameCallback(callback); }
      : window.requestAnimationFrame.bind(window);
    following.add(lead);
    next(function tick() {
      if (lead.paused || !lead.isConnected || view() !== section) {
        following.delete(lead);
        return;
      }
      follow(section, false);
      next(tick);
    });
  }

  function onMedia(type, handler) {
    document.addEventListener(type, function (event) {
      var section = view();
      var video = event.target;
      if (!section || !(video instanceof HTMLVideoElement)) return;
      if (video.id === section.dataset.lead) handler(section, video, true);
      else if (video.id === section.dataset.follower) handler(section, video, false);
    }, true);
  }

  onMedia("play", function (section, video, isLead) {
    if (!isLead) return;
    follow(section, true);
    watchFrames(section, video);
  });
  ["pause", "seeked", "ratechange"].forEach(function (type) {
    onMedia(type, function (section, video, isLead) {
      if (isLead) follow(section, true);
    });
  });
  onMedia("loadedmetadata", function (section, video, isLead) {
    if (isLead) mapClips(section);
    layoutSoon();
    follow(section, true);
  });

  // Clip chips hold the model's times. The take loops a clip it shows at least half of (and
  // the other video follows). One it misses loops the model alone; beside another take,
  // whose clips these are not, it is not offered. Decided here, where the take's real
  // length and the nudged offset are known.
  var END_MARGIN = 0.1; // s: a loop on the take stops short of its end, where it would pause

  function mapClips(section) {
    var lead = videoById(section.dataset.lead);
    var length = lead && isFinite(lead.duration) ? lead.duration : Infinity;
    // The lead's moment t is the model's offset + rate * t: the view's own mapping beside
    // the model; beside another take, the lead's alignment, which the section carries apart.
    var besideModel = !("modelOffset" in section.dataset);
    var offset = number(besideModel ? section.dataset.offset : section.dataset.modelOffset, 0);
    var rate = number(besideModel ? section.dataset.rate : section.dataset.modelRate, 1);
    document.querySelectorAll("button[data-model-start][data-model-end]").forEach(function (chip) {
      var modelStart = number(chip.dataset.modelStart, 0);
      var modelEnd = number(chip.dataset.modelEnd, 0);
      var first = (modelStart - offset) / rate;
      var last = (modelEnd - offset) / rate;
      var start = Math.max(0, first);
      var end = Math.min(length - END_MARGIN, last);
      var onTake = end - start >= (last - first) / 2;
      chip.hidden = !onTake && !besideModel;
      chip.dataset.for = onTake ? section.dataset.lead : section.dataset.follower;
      chip.dataset.loopStart = (onTake ? start : modelStart).toFixed(3);
      chip.dataset.loopEnd = (onTake ? end : modelEnd).toFixed(3);
      var note = chip.querySelector("[data-model-only]");
      if (note) note.hidden = onTake;
    });
  }

  // The nudge: the offset field moves the model live; Save stores it.
  function setOffset(section, value) {
    section.dataset.offset = String(value);
    mapClips(section);
    follow(section, true);
  }

  function nudge(button) {
    var input = document.getElementById(button.dataset.into);
    var section = view();
    if (!input || !section) return;
    var value = Math.round((number(input.value, 0) + number(button.dataset.nudge, 0)) * 10) / 10;
    input.value = String(value);
    setOffset(section, value);
  }

  document.addEventListener("click", function (event) {
    var target = event.target.closest ? event.target.closest("button") : null;
    var section = view();
    if (!target || !section) return;
    if ("nudge" in target.dataset) {
      event.preventDefault();
      nudge(target);
    } else if ("compareMode" in target.dataset) {
      section.dataset.mode = target.dataset.compareMode;
      layout();
    }
  });

  document.addEventListener("input", function (event) {
    var section = view();
    if (!section) return;
    if (event.target.matches("[data-overlay-opacity]")) layout();
    else if (event.target.matches("[data-alignment] input[name=offset]")) {
      var value = parseFloat(event.target.value);
      if (isFinite(value)) setOffset(section, value);
    }
  });

  window.addEventListener("resize", layoutSoon);
  if (window.visualViewport) window.visualViewport.addEventListener("resize", layoutSoon);

  // New content (the page, a swapped video or alignment line): the follower loses its own
  // controls (the lead's drive both), JavaScript-only controls show, a finished measurement
  // moves the model to where the sound says it belongs.
  function scan(event) {
    var section = view();
    if (!section) return;
    document.querySelectorAll("[data-compare-js]").forEach(function (element) {
      element.hidden = false;
    });
    var follower = videoById(section.dataset.follower);
    if (follower) follower.controls = false;
    var line = event && event.detail && event.detail.elt;
    if (line && line.matches && line.matches("[data-alignment]")) {
      setOffset(section, number(line.dataset.modelOffset, 0));
    }
    mapClips(section);
    watchBar();
    layout();
  }

  // The controls under the videos grow when their drill bar shows (once the take can play)
  // or wraps to a second row: the videos give them the room.
  var barWatcher = typeof ResizeObserver === "function" ? new ResizeObserver(layoutSoon) : null;
  var watchedBar = null;
  function watchBar() {
    var bar = document.querySelector(".compare-bar");
    if (!barWatcher || !bar || bar === watchedBar) return;
    barWatcher.observe(bar);
    watchedBar = bar;
  }
  document.addEventListener("DOMContentLoaded", scan);
  document.addEventListener("htmx:load", scan);
})();
