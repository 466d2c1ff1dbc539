// Drawings on a frame: arrows, lines, circles, free hand and angles, kept in the frame's own
// coordinates (0 to 1 across the upright picture, from its top left; practika/comments/
// drawing.py checks them). This draws them into an <svg> laid exactly over the picture: over a
// comment's still (<figure data-drawing>), and over the take (a layer composer.js and
// markers.js fill). The layer follows the picture wherever the page puts it: its size, the
// bars of object-fit: contain around it, and the viewer's mirroring, which flips the shapes'
// places but never their words.
(function () {
  "use strict";

  var SVG = "http://www.w3.org/2000/svg";
  var COLOURS = {
    red: "#ff453a",
    yellow: "#ffd60a",
    green: "#30d158",
    blue: "#0a84ff",
    white: "#ffffff",
  };

  function node(name, attributes, parent) {
    var element = document.createElementNS(SVG, name);
    Object.keys(attributes).forEach(function (key) {
      element.setAttribute(key, attributes[key]);
    });
    if (parent) parent.appendChild(element);
    return element;
  }

  // The picture's box inside a <video> or <img> (object-fit: contain leaves bars on two
  // sides), in client pixels.
  function pictureBox(media) {
    var rect = media.getBoundingClientRect();
    var width = media.videoWidth || media.naturalWidth || rect.width;
    var height = media.videoHeight || media.naturalHeight || rect.height;
    if (!rect.width || !rect.height || !width || !height) return null;
    var scale = Math.min(rect.width / width, rect.height / height);
    var shown = { width: width * scale, height: height * scale };
    return {
      left: rect.left + (rect.width - shown.width) / 2,
      top: rect.top + (rect.height - shown.height) / 2,
      width: shown.width,
      height: shown.height,
    };
  }

  function mirrored(media) {
    return media.classList.contains("mirrored");
  }

  // A point of the screen as a point of the frame, held inside it.
  function toFrame(media, clientX, clientY) {
    var box = pictureBox(media);
    if (!box) return null;
    var x = (clientX - box.left) / box.width;
    var y = (clientY - box.top) / box.height;
    if (mirrored(media)) x = 1 - x;
    var clamp = function (value) { return Math.round(Math.min(1, Math.max(0, value)) * 1e4) / 1e4; };
    return [clamp(x), clamp(y)];
  }

  // Geometry in the layer's pixels

  function distance(a, b) {
    return Math.hypot(b[0] - a[0], b[1] - a[1]);
  }

  // The angle at `vertex` between the arms to `a` and `b`, in whole degrees (0 to 180).
  function degrees(a, vertex, b) {
    var one = Math.atan2(a[1] - vertex[1], a[0] - vertex[0]);
    var two = Math.atan2(b[1] - vertex[1], b[0] - vertex[0]);
    var turn = Math.abs(one - two);
    if (turn > Math.PI) turn = 2 * Math.PI - turn;
    return Math.round(turn * 180 / Math.PI);
  }

  function path(points) {
    return points.map(function (p, i) { return (i ? "L" : "M") + p[0].toFixed(1) + " " + p[1].toFixed(1); }).join("");
  }

  function arrowHead(from, to, size) {
    var angle = Math.atan2(to[1] - from[1], to[0] - from[0]);
    var side = function (turn) {
      return [to[0] - size * Math.cos(angle + turn), to[1] - size * Math.sin(angle + turn)];
    };
    return path([side(0.45), to, side(-0.45)]);
  }

  function anglePaths(points, stroke) {
    var a = points[0], v = points[1], b = points[2];
    var radius = Math.max(12, Math.min(40, distance(v, a) / 2, distance(v, b) / 2));
    var start = Math.atan2(a[1] - v[1], a[0] - v[0]);
    var end = Math.atan2(b[1] - v[1], b[0] - v[0]);
    var sweep = end - start;
    while (sweep > Math.PI) sweep -= 2 * Math.PI;
    while (sweep < -Math.PI) sweep += 2 * Math.PI;
    var arcEnd = [v[0] + radius * Math.cos(start + sweep), v[1] + radius * Math.sin(start + sweep)];
    var arcStart = [v[0] + radius * Math.cos(start), v[1] + radius * Math.sin(start)];
    var middle = start + sweep / 2;
    var label = radius + 6 * stroke;
    return {
      arms: path([a, v, b]),
      arc: "M" + arcStart[0].toFixed(1) + " " + arcStart[1].toFixed(1) + "A" + radius + " " + radius +
        " 0 0 " + (sweep > 0 ? 1 : 0) + " " + arcEnd[0].toFixed(1) + " " + arcEnd[1].toFixed(1),
      at: [v[0] + label * Math.cos(middle), v[1] + label * Math.sin(middle)],
      words: degrees(a, v, b) + "°",
    };
  }

  // One shape, twice: a dark halo under its colour, so it shows on any picture.
  function shape(group, item, place, stroke) {
    var points = item.points.map(place);
    var colour = COLOURS[item.colour] || COLOURS.red;
    var outline = [];
    var kind = item.shape;
    if (kind === "angle" && points.length < 3) kind = "line"; // its first arm, being drawn
    if (kind === "circle") {
      var radius = distance(points[0], points[1]);
      outline.push(["circle", { cx: points[0][0], cy: points[0][1], r: radius.toFixed(1) }]);
    } else if (kind === "arrow") {
      outline.push(["path", { d: path(points) }]);
      outline.push(["path", { d: arrowHead(points[0], points[1], Math.max(10, stroke * 4.5)) }]);
    } else if (kind === "angle") {
      var angle = anglePaths(points, stroke);
      outline.push(["path", { d: angle.arms }]);
      outline.push(["path", { d: angle.arc }]);
    } else {
      outline.push(["path", { d: path(points) }]);
    }
    var drawn = node("g", { "data-shape": kind }, group);
    [["rgb(0 0 0 / 0.55)", stroke * 2.2], [colour, stroke]].forEach(function (pen) {
      outline.forEach(function (part) {
        var attributes = Object.assign({
          fill: "none", stroke: pen[0], "stroke-width": pen[1].toFixed(1),
          "stroke-linecap": "round", "stroke-linejoin": "round",
        }, part[1]);
        node(part[0], attributes, drawn);
      });
    });
    if (kind === "angle") {
      var words = node("text", {
        x: angle.at[0].toFixed(1), y: angle.at[1].toFixed(1), fill: colour,
        "font-size": Math.max(13, stroke * 5.5).toFixed(0), "font-weight": "700",
        "text-anchor": "middle", "dominant-baseline": "middle", class: "drawing-words",
      }, drawn);
      words.textContent = angle.words;
    }
  }

  // Draw `shapes` into `svg`, which covers a picture `width` x `height` px (flipped when
  // `flip`). Empty shapes clear it.
  function draw(svg, shapes, width, height, flip) {
    while (svg.firstChild) svg.removeChild(svg.firstChild);
    svg.setAttribute("viewBox", "0 0 " + width.toFixed(1) + " " + height.toFixed(1));
    var stroke = Math.max(2.5, Math.min(width, height) * 0.009);
    var place = function (p) {
      return [(flip ? 1 - p[0] : p[0]) * width, p[1] * height];
    };
    var group = node("g", {}, svg);
    (shapes || []).forEach(function (item) { shape(group, item, place, stroke); });
  }

  // The layer over a take's picture: made once, beside the video (outside its status
  // fragment, which htmx swaps), and laid over the picture each time it is drawn.
  function layerFor(video) {
    var holder = video.closest(".compare-side") || video.parentElement;
    var layer = holder.querySelector("svg.drawing-layer");
    if (!layer) {
      layer = node("svg", { class: "drawing-layer", "aria-hidden": "true" }, holder);
    }
    return layer;
  }

  function drawOver(video, shapes) {
    var layer = layerFor(video);
    var box = pictureBox(video);
    if (!box || !shapes || !shapes.length) {
      layer.hidden = true;
      while (layer.firstChild) layer.removeChild(layer.firstChild);
      return layer;
    }
    var holder = layer.parentElement.getBoundingClientRect();
    layer.hidden = false;
    layer.style.left = (box.left - holder.left) + "px";
    layer.style.top = (box.top - holder.top) + "px";
    layer.style.width = box.width + "px";
    layer.style.height = box.height + "px";
    draw(layer, shapes, box.width, box.height, mirrored(video));
    return layer;
  }

  // What shows over a take: the drawing being made (composer.js), or else the drawing of the
  // comment at the moment the take shows (markers.js). Drawn again whenever the picture
  // moves or turns: a resize, the compare view's layout, the viewer's mirroring.
  var shown = new WeakMap(); // video -> {draft, moment}
  var watched = typeof ResizeObserver === "function"
    ? new ResizeObserver(function (entries) {
      entries.forEach(function (entry) { redraw(entry.target); });
    })
    : null;

  function show(video, source, shapes) {
    var state = shown.get(video);
    if (!state) {
      state = {};
      shown.set(video, state);
      if (watched) watched.observe(video);
    }
    state[source] = shapes && shapes.length ? shapes : null;
    redraw(video);
  }

  function redraw(video) {
    var state = shown.get(video);
    if (state && video.isConnected) drawOver(video, state.draft || state.moment);
  }

  document.addEventListener("practika:mirror", function (event) { redraw(event.target); });
  document.addEventListener("loadedmetadata", function (event) {
    if (event.target instanceof HTMLVideoElement) redraw(event.target);
  }, true);

  // Comments' stills

  function parse(text) {
    try {
      var shapes = JSON.parse(text || "null");
      return Array.isArray(shapes) ? shapes : [];
    } catch (error) {
      return [];
    }
  }

  function drawStill(figure) {
    var image = figure.querySelector("img");
    if (!image || !image.complete || !image.naturalWidth) return;
    var layer = figure.querySelector("svg.drawing-layer") ||
      node("svg", { class: "drawing-layer still-layer", "aria-hidden": "true" }, figure);
    draw(layer, parse(figure.dataset.drawing), image.clientWidth, image.clientHeight, false);
  }

  function drawStills() {
    document.querySelectorAll("figure[data-drawing]").forEach(drawStill);
  }

  document.addEventListener("load", function (event) {
    var figure = event.target.closest && event.target.closest("figure[data-drawing]");
    if (figure && event.target.tagName === "IMG") drawStill(figure);
  }, true);
  document.addEventListener("DOMContentLoaded", drawStills);
  document.addEventListener("htmx:load", drawStills);
  window.addEventListener("resize", drawStills);

  window.PractikaDrawing = {
    COLOURS: COLOURS,
    parse: parse,
    toFrame: toFrame,
    show: show,
  };
})();
