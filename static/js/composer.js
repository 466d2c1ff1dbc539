// The feedback composer on an attempt's page (<form class="composer">). Focusing it pauses the
// take and stamps the moment it shows (0:01.6); while it is open the stamp follows the take,
// so a frame step or a seek moves it, until "No moment" lets go. "Draw" lays a surface over
// the take's picture: arrows, lines, circles, angles and free hand, with a finger or a mouse,
// in the frame's own coordinates (drawing.js), sent with the form as JSON in its `drawing`
// field. The form's own fields are the truth: a form sent back with an error (422) keeps its
// moment and drawing, and this picks them up again.
(function () {
  "use strict";

  var FREE_STEP = 0.004; // a free-hand point closer than this to the last one adds nothing
  var MAX_FREE_POINTS = 500; // as practika/comments/drawing.py
  var MAX_POINTS = 2000;
  var MAX_SHAPES = 30;
  var HINTS = {
    arrow: "Drag on the video from where the arrow starts to what it points at.",
    line: "Drag on the video to draw a line.",
    circle: "Drag from the centre of the circle to its edge.",
    angle: "Drag along the first arm to the joint, then drag out the second arm.",
    free: "Draw on the video with your finger or the mouse.",
  };
  var states = new WeakMap(); // form -> {shapes, pending, follow}

  function state(form) {
    var found = states.get(form);
    if (!found) {
      var input = form.querySelector("[data-drawing-input]");
      found = { shapes: window.PractikaDrawing.parse(input && input.value), pending: null, follow: true };
      states.set(form, found);
    }
    return found;
  }

  function takeOf(form) {
    var row = form.querySelector("[data-stamp-row]");
    var element = row && document.getElementById(row.dataset.take);
    return element instanceof HTMLVideoElement ? element : null;
  }

  function composerFor(video) {
    return Array.prototype.find.call(document.querySelectorAll("form.composer"), function (form) {
      return takeOf(form) === video;
    });
  }

  function momentInput(form) {
    return form.querySelector("input[name='at_seconds']");
  }

  // The moment

  function showStamp(form) {
    var value = momentInput(form).value;
    var words = form.querySelector("[data-stamp-words]");
    var seconds = parseFloat(value);
    words.textContent = value !== "" && isFinite(seconds)
      ? "At " + window.PractikaPlayer.clockTenths(seconds) : "No moment";
    form.querySelector("[data-stamp-clear]").hidden = value === "";
  }

  function stamp(form, seconds) {
    momentInput(form).value = seconds === null ? "" : String(Math.round(seconds * 1000) / 1000);
    showStamp(form);
  }

  function open(form) {
    var video = takeOf(form);
    if (!video || form.classList.contains("composing")) return;
    form.classList.add("composing");
    if (!video.paused) video.pause();
    if (state(form).follow) stamp(form, video.currentTime);
  }

  // The take moved (a frame step, a seek, a pause): the open composer's moment goes with it.
  function follow(video) {
    var form = composerFor(video);
    if (!form || !form.classList.contains("composing") || !state(form).follow) return;
    if (video.paused) stamp(form, video.currentTime);
  }

  // Drawing

  function drawing(form) {
    var toggle = form.querySelector("[data-draw-toggle]");
    return toggle && toggle.getAttribute("aria-pressed") === "true";
  }

  function pressed(form, kind) {
    var button = form.querySelector("[" + kind + "][aria-pressed='true']");
    return button ? button.getAttribute(kind) : null;
  }

  function keep(form) {
    var draft = state(form);
    var input = form.querySelector("[data-drawing-input]");
    input.value = draft.shapes.length ? JSON.stringify(draft.shapes) : "";
    var video = takeOf(form);
    var shown = draft.pending ? draft.shapes.concat([draft.pending]) : draft.shapes;
    if (video) window.PractikaDrawing.show(video, "draft", shown);
    var count = draft.shapes.length;
    form.querySelector("[data-draw-undo]").disabled = !count && !draft.pending;
    form.querySelector("[data-draw-clear]").disabled = !count && !draft.pending;
    // A drawing is of one frame: while there is one, the moment stays.
    form.querySelector("[data-stamp-clear]").disabled = count > 0;
  }

  function points(shapes) {
    return shapes.reduce(function (sum, shape) { return sum + shape.points.length; }, 0);
  }

  function surfaceFor(video) {
    var holder = video.closest(".compare-side") || video.parentElement;
    var surface = holder.querySelector(".draw-surface");
    if (!surface) {
      surface = document.createElement("div");
      surface.className = "draw-surface";
      holder.appendChild(surface);
    }
    return surface;
  }

  function setDrawing(form, on) {
    var video = takeOf(form);
    if (!video) return;
    if (on) open(form);
    form.querySelector("[data-draw-toggle]").setAttribute("aria-pressed", on ? "true" : "false");
    form.querySelector("[data-draw-tools]").hidden = !on;
    surfaceFor(video).hidden = !on;
    var section = video.closest("[data-compare]");
    if (section) { // the take alone, as large as it goes, while it is drawn on
      if (on) section.dataset.solo = "true";
      else delete section.dataset.solo;
      if (window.PractikaCompare) window.PractikaCompare.relayout();
    }
    if (on && !video.paused) video.pause();
    hint(form);
  }

  function hint(form) {
    var draft = state(form);
    var tool = pressed(form, "data-tool") || "arrow";
    var words = HINTS[tool];
    if (tool === "angle" && draft.pending && draft.pending.points.length === 2) {
      words = "Now drag out the second arm from the joint.";
    }
    form.querySelector("[data-draw-hint]").textContent = words;
  }

  function begin(form, point) {
    var draft = state(form);
    var tool = pressed(form, "data-tool") || "arrow";
    var colour = pressed(form, "data-colour") || "red";
    if (draft.shapes.length >= MAX_SHAPES || points(draft.shapes) + 3 > MAX_POINTS) {
      form.querySelector("[data-draw-hint]").textContent =
        "That is as much as one drawing holds: undo a shape, or send this one.";
      return false;
    }
    if (tool === "angle" && draft.pending && draft.pending.shape === "angle") {
      draft.pending.points = draft.pending.points.slice(0, 2).concat([point]);
    } else if (tool === "free") {
      draft.pending = { shape: "free", colour: colour, points: [point] };
    } else {
      draft.pending = { shape: tool, colour: colour, points: [point, point] };
    }
    return true;
  }

  function extend(form, point) {
    var pending = state(form).pending;
    if (!pending) return;
    var list = pending.points;
    if (pending.shape === "free") {
      var previous = list[list.length - 1];
      var far = Math.hypot(point[0] - previous[0], point[1] - previous[1]) >= FREE_STEP;
      var room = points(state(form).shapes) + list.length < MAX_POINTS;
      if (far && room && list.length < MAX_FREE_POINTS) list.push(point);
    } else {
      list[list.length - 1] = point;
    }
  }

  function finish(form) {
    var draft = state(form);
    var pending = draft.pending;
    if (!pending) return;
    var list = pending.points;
    var first = list[0];
    var lastPoint = list[list.length - 1];
    var size = Math.hypot(lastPoint[0] - first[0], lastPoint[1] - first[1]);
    if (pending.shape === "angle" && list.length === 2) {
      if (size < 0.01) draft.pending = null; // a tap is no arm
      return; // the second arm comes with the next drag
    }
    var tooSmall = pending.shape === "free" ? list.length < 2 : size < 0.01;
    if (!tooSmall) draft.shapes.push(pending);
    draft.pending = null;
  }

  document.addEventListener("pointerdown", function (event) {
    var surface = event.target.closest && event.target.closest(".draw-surface");
    var video = surface && surface.parentElement.querySelector("video[id^='player-']");
    var form = video && composerFor(video);
    if (!form || !drawing(form)) return;
    var point = window.PractikaDrawing.toFrame(video, event.clientX, event.clientY);
    if (!point || !begin(form, point)) return;
    event.preventDefault();
    surface.setPointerCapture(event.pointerId);
    keep(form);
    var move = function (moved) {
      var next = window.PractikaDrawing.toFrame(video, moved.clientX, moved.clientY);
      if (next) extend(form, next);
      keep(form);
    };
    var stop = function () {
      surface.removeEventListener("pointermove", move);
      surface.removeEventListener("pointerup", stop);
      surface.removeEventListener("pointercancel", stop);
      finish(form);
      keep(form);
      hint(form);
    };
    surface.addEventListener("pointermove", move);
    surface.addEventListener("pointerup", stop);
    surface.addEventListener("pointercancel", stop);
  });

  // Buttons

  function choose(button, kind) {
    button.closest(".tool-group").querySelectorAll("[" + kind + "]").forEach(function (other) {
      other.setAttribute("aria-pressed", other === button ? "true" : "false");
    });
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest("button");
    var form = button && button.closest("form.composer");
    if (!form) return;
    var draft = state(form);
    var data = button.dataset;
    if ("step" in data) return open(form); // player.js steps the take; the stamp follows it
    if ("drawToggle" in data) {
      setDrawing(form, !drawing(form));
    } else if ("tool" in data) {
      choose(button, "data-tool");
      if (draft.pending && draft.pending.shape === "angle") draft.pending = null;
      hint(form);
    } else if ("colour" in data) {
      choose(button, "data-colour");
    } else if ("drawUndo" in data) {
      if (draft.pending) draft.pending = null;
      else draft.shapes.pop();
    } else if ("drawClear" in data) {
      draft.shapes = [];
      draft.pending = null;
    } else if ("stampClear" in data) {
      draft.follow = false;
      stamp(form, null);
    } else if ("stampNow" in data) {
      var video = takeOf(form);
      draft.follow = true;
      if (video) {
        video.pause();
        stamp(form, video.currentTime);
      }
    } else {
      return;
    }
    event.preventDefault();
    keep(form);
    hint(form);
  });

  document.addEventListener("focusin", function (event) {
    var form = event.target.closest && event.target.closest("form.composer");
    if (form && event.target.tagName === "TEXTAREA") open(form);
  });

  ["seeked", "pause"].forEach(function (type) {
    document.addEventListener(type, function (event) {
      if (event.target instanceof HTMLVideoElement) follow(event.target);
    }, true);
  });

  // A sent form is replaced: by a fresh one, and what was drawn goes with the old; or by
  // itself with an error, which keeps the drawing in its field for setUp to show again.
  document.addEventListener("htmx:beforeSwap", function (event) {
    var form = event.detail.target;
    if (!form || !form.matches || !form.matches("form.composer")) return;
    var video = takeOf(form);
    if (!video) return;
    if (drawing(form)) setDrawing(form, false);
    window.PractikaDrawing.show(video, "draft", null);
  });

  // Set up a composer the page or a swap brings: the stamp row instead of the number,
  // and what a form sent back with an error still holds.
  function setUp(form) {
    var row = form.querySelector("[data-stamp-row]");
    if (!row || !row.hidden) return;
    row.hidden = false;
    form.querySelector("[data-moment-input]").hidden = true;
    showStamp(form);
    var draft = state(form);
    if (momentInput(form).value !== "" || draft.shapes.length) {
      form.classList.add("composing");
      draft.follow = false; // the moment sent stays, whatever the take shows now
    }
    keep(form);
  }

  function scan() {
    document.querySelectorAll("form.composer").forEach(setUp);
  }
  document.addEventListener("DOMContentLoaded", scan);
  document.addEventListener("htmx:load", scan);
})();
