// Practice controls for <video id="player-…"> elements: play/pause, speed, mirror, clip
// loops and A-B loops, frame steps, seeking to a comment, taking the current time into a
// form, playing two videos together, and keyboard shortcuts. Every control is a <button data-for="<video id>">; clicks are delegated to the
// document and the video is looked up on each press, because htmx may swap either at any time.
// State lives on the video element itself (its rate, its class, a WeakMap for loops), so the
// buttons' aria-pressed can always be recomputed from the truth after a swap.
(function () {
  "use strict";

  var loops = new WeakMap(); // video -> {start, end, title}
  var rates = new WeakMap(); // video -> the rate we chose, re-applied when a source loads
  var together = []; // [{a, b}] pairs started by a play-together button
  var marks = new WeakMap(); // video -> the A of an A-B loop waiting for its B
  var frames = new WeakMap(); // video -> {time, length}: the shown frame's media time, a frame's length
  // Until a video's frames have been measured (while it plays), a step forward goes 1/24 s
  // and a step back 1/30 s: from a frame's start, each lands on the next or the previous
  // frame at any rate from 24 to 30 frames a second.
  var FRAME_FORWARD = 1 / 24;
  var FRAME_BACK = 1 / 30;

  function videoById(id) {
    var element = id ? document.getElementById(id) : null;
    return element instanceof HTMLVideoElement ? element : null;
  }

  function controls(kind, id) {
    return Array.prototype.filter.call(
      document.querySelectorAll("button[" + kind + "][data-for]"),
      function (button) {
        return button.dataset.for === id;
      }
    );
  }

  function press(button, pressed) {
    button.setAttribute("aria-pressed", pressed ? "true" : "false");
  }

  // 75 -> "1:15"; an hour or more -> "1:02:03".
  function clock(seconds) {
    var whole = Math.max(0, Math.floor(seconds || 0));
    var s = String(whole % 60).padStart(2, "0");
    var m = Math.floor(whole / 60);
    if (m < 60) return m + ":" + s;
    return Math.floor(m / 60) + ":" + String(m % 60).padStart(2, "0") + ":" + s;
  }

  // 3.25 -> "0:03.2": an A-B loop's ends and a comment's moment are finer than a second.
  function clockTenths(seconds) {
    var tenths = Math.floor(Math.max(0, seconds || 0) * 10 + 1e-6) % 10;
    return clock(seconds) + "." + tenths;
  }

  // play() rejects when a pause or a new source interrupts it; that is not an error here.
  function play(video) {
    var started = video.play();
    if (started && started.catch) started.catch(function () {});
  }

  function hasSource(video) {
    return Boolean(video.currentSrc) && !video.error &&
      video.networkState !== HTMLMediaElement.NETWORK_NO_SOURCE;
  }

  // Speed

  function setSpeed(video, rate) {
    rates.set(video, rate);
    video.defaultPlaybackRate = rate;
    video.playbackRate = rate;
    syncSpeed(video.id);
  }

  function syncSpeed(id) {
    var video = videoById(id);
    if (!video) return;
    controls("data-speed", id).forEach(function (button) {
      press(button, Math.abs(parseFloat(button.dataset.speed) - video.playbackRate) < 0.001);
    });
  }

  // Mirror

  function toggleMirror(video) {
    video.classList.toggle("mirrored");
    syncMirror(video.id);
    video.dispatchEvent(new CustomEvent("practika:mirror", { bubbles: true })); // drawing.js
  }

  function syncMirror(id) {
    var video = videoById(id);
    if (!video) return;
    controls("data-mirror", id).forEach(function (button) {
      press(button, video.classList.contains("mirrored"));
    });
  }

  // Loops

  function sameLoop(loop, start, end) {
    return loop && Math.abs(loop.start - start) < 0.001 && Math.abs(loop.end - end) < 0.001;
  }

  // `about` names the loop: {title, clipId} for a teacher's clip, {ab: true} for an A-B loop.
  function startLoop(video, start, end, about) {
    var loop = { start: start, end: end, title: about.title || "", clipId: about.clipId || "",
                 ab: Boolean(about.ab) };
    marks.delete(video);
    loops.set(video, loop);
    video.currentTime = start;
    play(video);
    followFrames(video, loop);
    syncLoop(video.id);
  }

  function stopLoop(video) {
    if (!loops.has(video) && !marks.has(video)) return false;
    loops.delete(video);
    marks.delete(video);
    syncLoop(video.id);
    return true;
  }

  function keepInLoop(video) {
    var loop = loops.get(video);
    if (!loop) return;
    if (video.currentTime >= loop.end || video.currentTime < loop.start - 0.5) {
      video.currentTime = loop.start;
    }
  }

  // timeupdate fires only about every 250 ms, which overshoots a short clip visibly; a check
  // on every presented frame (or every animation frame) catches the end within a frame.
  function followFrames(video, loop) {
    if (loop.following) return;
    var next = video.requestVideoFrameCallback
      ? function (callback) { video.requestVideoFrameCallback(callback); }
      : window.requestAnimationFrame.bind(window);
    loop.following = true;
    next(function tick() {
      if (loops.get(video) !== loop || !video.isConnected || video.paused) {
        loop.following = false; // timeupdate still guards; "play" starts following again
        return;
      }
      keepInLoop(video);
      next(tick);
    });
  }

  function syncLoop(id) {
    var video = videoById(id);
    if (!video) return;
    var loop = loops.get(video);
    var armed = marks.has(video);
    controls("data-loop-start", id).forEach(function (button) {
      press(button, sameLoop(loop, parseFloat(button.dataset.loopStart),
                             parseFloat(button.dataset.loopEnd)));
    });
    controls("data-ab", id).forEach(function (button) {
      var looping = Boolean(loop && loop.ab);
      press(button, looping);
      var label = button.querySelector("[data-label]");
      if (label) label.textContent = armed ? "Set B" : "A-B";
      button.setAttribute("aria-label", looping ? "Stop the A-B loop" :
        armed ? "Mark B here, the loop's end" : "A-B loop: mark A here");
    });
    var text = "";
    if (armed) {
      text = "A at " + clockTenths(marks.get(video)) + ": press “Set B” where the loop ends.";
    } else if (loop && loop.ab) {
      text = "Looping A-B " + clockTenths(loop.start) + "–" + clockTenths(loop.end);
    } else if (loop) {
      text = "Looping " + (loop.title ? "“" + loop.title + "” " : "") +
        clock(loop.start) + "–" + clock(loop.end);
    }
    status(id, text);
  }

  function status(id, text) {
    var line = document.getElementById(id + "-loop-status");
    if (line && line.textContent !== text) line.textContent = text; // no repeat announcements
  }

  // A-B loop: the first press marks A at the current time, the second marks B and loops
  // between them, the third stops it. The teacher's clips loop the same way.

  function pressAB(video) {
    var loop = loops.get(video);
    if (loop && loop.ab) {
      stopLoop(video);
      return;
    }
    var now = video.currentTime || 0;
    if (!marks.has(video)) {
      marks.set(video, now);
      syncLoop(video.id);
      return;
    }
    var a = marks.get(video);
    if (Math.abs(now - a) < 0.2) {
      status(video.id, "Play on a little from A, then press again for B.");
      return;
    }
    marks.delete(video);
    var start = Math.min(a, now);
    var end = Math.max(a, now);
    startLoop(video, start, end, { ab: true });
  }

  // Frames: every shown frame's media time, noted where the browser reports frames
  // (requestVideoFrameCallback), so a step lands on the next frame rather than near it. The
  // shortest gap between two consecutive frames seen while playing is a frame's length.

  function watchFrames(video) {
    if (frames.has(video) || !video.requestVideoFrameCallback) return;
    var seen = { time: null, length: null, count: null, jumped: false };
    frames.set(video, seen);
    video.requestVideoFrameCallback(function shown(now, frame) {
      var next = frame.presentedFrames === seen.count + 1 && !seen.jumped && !video.paused;
      var gap = frame.mediaTime - seen.time;
      if (next && gap > 0.004 && gap < 0.5 && (seen.length === null || gap < seen.length)) {
        seen.length = gap;
      }
      seen.time = frame.mediaTime;
      seen.count = frame.presentedFrames;
      seen.jumped = false;
      if (video.isConnected) video.requestVideoFrameCallback(shown);
    });
  }

  function frameLength(video, direction) {
    var seen = frames.get(video);
    return (seen && seen.length) || (direction > 0 ? FRAME_FORWARD : FRAME_BACK);
  }

  // Pauses and shows the frame `direction` (-1 or 1) from the one on screen. A little past the
  // frame's start, so rounding never lands on the frame before it.
  function stepFrame(video, direction) {
    if (!hasSource(video)) return;
    video.pause();
    var seen = frames.get(video);
    var length = frameLength(video, direction);
    // The frame on screen, or (mid-seek, or where frames are not reported) the time asked.
    var from = seen && seen.time !== null && !video.seeking ? seen.time : video.currentTime || 0;
    var end = isFinite(video.duration) ? video.duration : Infinity;
    var time = Math.min(end, Math.max(0, from + direction * length + 0.001));
    var loop = loops.get(video);
    if (loop && (time < loop.start || time >= loop.end)) stopLoop(video); // or it snaps back
    video.currentTime = time;
  }

  function togglePlay(video) {
    if (video.paused) play(video);
    else video.pause();
  }

  function syncPlaying(id) {
    var video = videoById(id);
    if (!video) return;
    controls("data-toggle-play", id).forEach(function (button) {
      var playing = !video.paused && !video.ended;
      press(button, playing);
      var label = button.querySelector("[data-label]");
      if (label) label.textContent = playing ? "Pause" : "Play";
    });
  }

  // Play two videos together

  function pairFor(button) {
    var ids = (button.dataset.for || "").split(/\s+/).filter(Boolean);
    var a = videoById(ids[0]);
    var b = videoById(ids[1]);
    return a && b ? { a: a, b: b } : null;
  }

  function playingTogether(pair) {
    return together.some(function (p) {
      return p.a === pair.a && p.b === pair.b;
    });
  }

  // A video held on its first or last frame while the other plays on (compare.js marks it
  // data-held) still counts as playing together.
  function running(video) {
    return !video.paused || video.dataset.held === "true";
  }

  // A pair plays together until both have stopped: a short take that ends first leaves the
  // model playing on, and one press still pauses both.
  function syncTogether() {
    together = together.filter(function (p) {
      return p.a.isConnected && p.b.isConnected && (running(p.a) || running(p.b));
    });
    document.querySelectorAll("button[data-play-together][data-for]").forEach(function (button) {
      var pair = pairFor(button);
      press(button, Boolean(pair && playingTogether(pair)));
    });
  }

  // Resolves once the video shows the frame at `time` (HAVE_CURRENT_DATA, not seeking).
  function seekReady(video, time) {
    return new Promise(function (resolve, reject) {
      var events = ["seeked", "loadeddata", "canplay", "error"];
      function check(event) {
        if (event && event.type === "error") return finish(reject);
        if (video.readyState >= 2 && !video.seeking) finish(resolve);
      }
      function finish(settle) {
        events.forEach(function (type) { video.removeEventListener(type, check); });
        settle();
      }
      events.forEach(function (type) { video.addEventListener(type, check); });
      // A video with preload="none" would never fetch the frame we wait for.
      if (video.readyState === 0 && video.preload === "none") video.preload = "auto";
      video.currentTime = time; // fires "seeked" even when the time does not change
    });
  }

  function playTogether(button) {
    var pair = pairFor(button);
    if (!pair || !hasSource(pair.a) || !hasSource(pair.b)) return;
    var a = pair.a;
    var b = pair.b;
    if (playingTogether(pair)) {
      a.pause();
      b.pause();
      return; // the pause events update aria-pressed
    }
    a.pause();
    b.pause();
    var loop = loops.get(a);
    var start = loop ? loop.start : 0;
    // Lined up (compare.js), the second starts at the moment that matches the first's.
    var partner = window.PractikaCompare ? window.PractikaCompare.partnerTime(a, b, start) : 0;
    Promise.all([seekReady(a, start), seekReady(b, partner)]).then(function () {
      play(a);
      play(b);
      together = together.filter(function (p) { return p.a !== a && p.b !== b; });
      together.push({ a: a, b: b });
      syncTogether();
    }, function () {}); // a source that fails to load shows its own error in the player
  }

  // Seek and take time

  function seek(video, time) {
    var loop = loops.get(video);
    if (loop && (time < loop.start - 0.5 || time >= loop.end)) stopLoop(video); // or it snaps back
    video.currentTime = time;
    play(video);
    var box = video.getBoundingClientRect();
    if (box.top < 0 || box.bottom > window.innerHeight) video.scrollIntoView({ block: "nearest" });
  }

  function takeTime(button) {
    var video = videoById(button.dataset.for);
    var time = video ? Math.round((video.currentTime || 0) * 10) / 10 : 0;
    var input = document.getElementById(button.dataset.into);
    if (input) {
      input.value = String(time);
      input.dispatchEvent(new Event("input", { bubbles: true }));
      input.dispatchEvent(new Event("change", { bubbles: true }));
    }
  }

  // Clicks

  var CONTROL = "button[data-for]:is([data-speed], [data-mirror], [data-loop-start], [data-ab], " +
    "[data-step], [data-toggle-play], [data-seek], [data-take-time], [data-play-together])";

  document.addEventListener("click", function (event) {
    var button = event.target.closest ? event.target.closest(CONTROL) : null;
    if (!button || button.disabled) return;
    event.preventDefault(); // a control inside a form must never submit it
    var data = button.dataset;
    if ("playTogether" in data) return playTogether(button);
    if ("takeTime" in data) return takeTime(button);
    var video = videoById(data.for);
    if (!video) return;
    if ("speed" in data) {
      setSpeed(video, parseFloat(data.speed) || 1);
    } else if ("mirror" in data) {
      toggleMirror(video);
    } else if ("loopStart" in data) {
      var start = parseFloat(data.loopStart) || 0;
      var end = parseFloat(data.loopEnd);
      if (!(end > start)) return;
      if (sameLoop(loops.get(video), start, end)) stopLoop(video);
      else startLoop(video, start, end, { title: data.title, clipId: data.clipId });
    } else if ("ab" in data) {
      pressAB(video);
    } else if ("step" in data) {
      stepFrame(video, parseFloat(data.step) < 0 ? -1 : 1);
    } else if ("togglePlay" in data) {
      togglePlay(video);
    } else if ("seek" in data) {
      seek(video, parseFloat(data.seek) || 0);
    }
  });

  // Media events do not bubble, but they do pass the document in the capture phase.

  function onMedia(type, handler) {
    document.addEventListener(type, function (event) {
      if (event.target instanceof HTMLVideoElement) handler(event.target);
    }, true);
  }

  onMedia("timeupdate", keepInLoop);
  onMedia("seeking", function (video) {
    var seen = frames.get(video);
    if (seen) seen.jumped = true; // the next frame shown is not the one after the last
  });
  onMedia("play", function (video) {
    var loop = loops.get(video);
    if (loop) followFrames(video, loop);
    syncPlaying(video.id);
  });
  onMedia("ended", function (video) {
    if (loops.has(video)) { // a clip running to the very end of the file
      video.currentTime = loops.get(video).start;
      play(video);
    }
    syncTogether();
    syncPlaying(video.id);
  });
  onMedia("pause", function (video) {
    syncTogether();
    syncPlaying(video.id);
  });
  onMedia("ratechange", function (video) { syncSpeed(video.id); });
  // Loading a source resets playbackRate to defaultPlaybackRate, and not every browser keeps
  // the default we set before the source was there.
  onMedia("loadedmetadata", function (video) {
    if (rates.has(video)) {
      video.defaultPlaybackRate = rates.get(video);
      video.playbackRate = rates.get(video);
    }
  });

  // Keyboard shortcuts, on pages that ask for them

  // Keys 1, 2, 3… press the video's speed buttons, slowest first.
  function speedKey(video, key) {
    var button = /^[1-9]$/.test(key) && controls("data-speed", video.id)[parseInt(key, 10) - 1];
    if (button) setSpeed(video, parseFloat(button.dataset.speed));
    return Boolean(button);
  }

  function typing(element) {
    return Boolean(element) && (element.isContentEditable ||
      /^(INPUT|TEXTAREA|SELECT)$/.test(element.tagName));
  }

  // Keys that act once per press: held down, they would flicker.
  var toggles = {
    k: togglePlay,
    m: toggleMirror,
    a: pressAB,
  };

  document.addEventListener("keydown", function (event) {
    if (event.defaultPrevented || event.ctrlKey || event.metaKey || event.altKey) return;
    var owner = document.querySelector("[data-shortcuts-for]");
    if (!owner || typing(document.activeElement) || typing(event.target)) return;
    var video = videoById(owner.dataset.shortcutsFor);
    if (!video) return;
    var key = event.key;
    if (key === "Escape") {
      if (stopLoop(video)) event.preventDefault(); // otherwise leave Escape to dialogs
      return;
    }
    if (toggles[key]) {
      if (!event.repeat) toggles[key](video);
    } else if (key === "," || key === ".") {
      stepFrame(video, key === "," ? -1 : 1); // held down, it steps on: frame by frame
    } else if (key === "j" || key === "l") {
      var end = isFinite(video.duration) ? video.duration : Infinity;
      video.currentTime = Math.min(end, Math.max(0, video.currentTime + (key === "j" ? -2 : 2)));
    } else if (!speedKey(video, key)) {
      return;
    }
    event.preventDefault();
  });

  // For the recorder: what the model loops, and starting it from there; for the composer
  // and the timeline, a moment as people read it.
  window.PractikaPlayer = {
    clockTenths: clockTenths,
    loopOf: function (video) {
      var loop = loops.get(video);
      return loop ? { start: loop.start, end: loop.end, clipId: loop.clipId } : null;
    },
    restart: function (video) {
      var loop = loops.get(video);
      video.currentTime = loop ? loop.start : 0;
      play(video);
    },
  };

  // New videos and controls: apply default speeds once, watch frames, show the drill bars
  // and play-together buttons whose videos can play (they are hidden until then: without
  // JavaScript or a video, they would do nothing), make every aria-pressed truthful.

  function scan() {
    document.querySelectorAll("video[id^='player-']").forEach(watchFrames);
    document.querySelectorAll("[data-drill-for]").forEach(function (bar) {
      bar.hidden = !videoById(bar.dataset.drillFor);
    });
    document.querySelectorAll("button[data-play-together]").forEach(function (button) {
      button.hidden = !pairFor(button); // both must be there to play together
    });
    document.querySelectorAll("video[data-default-speed]").forEach(function (video) {
      if (rates.has(video)) return;
      var rate = parseFloat(video.dataset.defaultSpeed);
      if (rate > 0) setSpeed(video, rate);
    });
    var ids = {};
    document.querySelectorAll("button[data-for]").forEach(function (button) {
      ids[button.dataset.for] = true;
    });
    Object.keys(ids).forEach(function (id) {
      syncSpeed(id);
      syncMirror(id);
      syncLoop(id);
      syncPlaying(id);
    });
    syncTogether();
  }
  document.addEventListener("DOMContentLoaded", scan);
  document.addEventListener("htmx:load", scan);
})();
