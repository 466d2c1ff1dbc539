// The take's timeline on an attempt's page (<div data-timeline-for="player-…">): how far the
// take has played, and a marker at each comment's moment. Pressing the line seeks there;
// a marker stops the take on its moment, shows its drawing over the picture and lights its
// comment up in the list. Playing past a marker shows the comment over the video for a
// moment. The markers are buttons the server rendered (templates/comments/_markers.html);
// this only places them, since the take's length is known for sure once it has loaded.
(function () {
  "use strict";

  var NEAR = 0.06; // s: a paused take this close to a moment shows its drawing (~2 frames)
  var SHOWN = 0.5; // s of the take a passed drawing stays over the moving picture
  var TOAST = 2500; // ms a passed comment stays over the video
  var last = new WeakMap(); // video -> its time at the previous update

  function videoById(id) {
    var element = id ? document.getElementById(id) : null;
    return element instanceof HTMLVideoElement ? element : null;
  }

  function timelineOf(video) {
    return document.querySelector("[data-timeline-for='" + video.id + "']");
  }

  function duration(video, timeline) {
    if (isFinite(video.duration) && video.duration > 0) return video.duration;
    return parseFloat(timeline.dataset.duration) || 0;
  }

  function markers(timeline) {
    return Array.prototype.slice.call(timeline.querySelectorAll("[data-marker]"));
  }

  function place(timeline) {
    var video = videoById(timeline.dataset.timelineFor);
    var length = video ? duration(video, timeline) : 0;
    var shown = Boolean(length);
    if (timeline.hidden === shown) {
      timeline.hidden = !shown;
      if (window.PractikaCompare) window.PractikaCompare.relayout(); // room for the line
    }
    if (!length) return;
    markers(timeline).forEach(function (marker) {
      marker.style.left = (Math.min(1, at(marker) / length) * 100).toFixed(3) + "%";
    });
    update(video);
  }

  function comment(marker) {
    return document.getElementById(marker.dataset.comment);
  }

  function drawingOf(marker) {
    var figure = comment(marker) && comment(marker).querySelector("figure[data-drawing]");
    return figure ? window.PractikaDrawing.parse(figure.dataset.drawing) : null;
  }

  function at(marker) {
    return parseFloat(marker.dataset.at) || 0;
  }

  // The latest marker whose moment is within (from, to], or null.
  function latestIn(timeline, from, to) {
    return markers(timeline).reduce(function (found, marker) {
      var moment = at(marker);
      var inside = moment > from && moment <= to;
      return inside && (!found || moment > at(found)) ? marker : found;
    }, null);
  }

  function update(video) {
    var timeline = timelineOf(video);
    if (!timeline || timeline.hidden) return;
    var time = video.currentTime;
    var played = timeline.querySelector("[data-timeline-played]");
    if (played) played.style.width = (Math.min(1, time / duration(video, timeline)) * 100).toFixed(2) + "%";
    var before = last.has(video) ? last.get(video) : time;
    last.set(video, time);
    // A paused take shows the drawing of the moment it is on; a playing one, briefly
    // after passing it (the picture moves on).
    var now = video.paused ? latestIn(timeline, time - NEAR, time + NEAR)
      : latestIn(timeline, time - SHOWN * video.playbackRate, time);
    markers(timeline).forEach(function (marker) {
      marker.classList.toggle("marker-now", marker === now);
    });
    window.PractikaDrawing.show(video, "moment", now && drawingOf(now));
    var passed = !video.paused && time > before && time - before < 1 && latestIn(timeline, before, time);
    if (passed) toast(video, passed);
  }

  // The comment, briefly, over the video it is about.
  function toast(video, marker) {
    var note = comment(marker);
    var holder = video.closest(".compare-side") || video.parentElement;
    if (!note || !holder) return;
    var box = holder.querySelector(".moment-toast");
    if (!box) {
      box = document.createElement("div");
      box.className = "moment-toast";
      box.setAttribute("aria-hidden", "true"); // the comment itself is in the list
      holder.appendChild(box);
    }
    var author = note.querySelector(".comment-author");
    var text = note.querySelector(".comment-text");
    box.textContent = "";
    var who = document.createElement("strong");
    who.textContent = author ? author.textContent : "";
    box.appendChild(who);
    box.appendChild(document.createTextNode(text ? " " + text.textContent : ""));
    box.hidden = false;
    clearTimeout(box.timer);
    box.timer = setTimeout(function () { box.hidden = true; }, TOAST);
  }

  function light(note) {
    if (!note) return;
    note.classList.remove("comment-lit");
    void note.offsetWidth; // restart the highlight's animation
    note.classList.add("comment-lit");
    note.scrollIntoView({ block: "nearest", behavior: "smooth" });
  }

  document.addEventListener("click", function (event) {
    var marker = event.target.closest && event.target.closest("[data-marker]");
    if (!marker) return;
    var timeline = marker.closest("[data-timeline-for]");
    var video = timeline && videoById(timeline.dataset.timelineFor);
    if (!video) return;
    event.preventDefault();
    video.pause();
    video.currentTime = at(marker);
    light(comment(marker));
  });

  // The line itself: a press (and a drag) seeks.
  function seekTo(track, event) {
    var timeline = track.closest("[data-timeline-for]");
    var video = timeline && videoById(timeline.dataset.timelineFor);
    if (!video) return;
    var box = track.getBoundingClientRect();
    var fraction = Math.min(1, Math.max(0, (event.clientX - box.left) / box.width));
    video.currentTime = fraction * duration(video, timeline);
  }

  document.addEventListener("pointerdown", function (event) {
    var track = event.target.closest && event.target.closest("[data-timeline-track]");
    if (!track) return;
    track.setPointerCapture(event.pointerId);
    seekTo(track, event);
    var move = function (moved) { seekTo(track, moved); };
    var stop = function () {
      track.removeEventListener("pointermove", move);
      track.removeEventListener("pointerup", stop);
      track.removeEventListener("pointercancel", stop);
    };
    track.addEventListener("pointermove", move);
    track.addEventListener("pointerup", stop);
    track.addEventListener("pointercancel", stop);
  });

  ["timeupdate", "seeked", "pause", "play"].forEach(function (type) {
    document.addEventListener(type, function (event) {
      if (event.target instanceof HTMLVideoElement) update(event.target);
    }, true);
  });
  document.addEventListener("loadedmetadata", function (event) {
    var timeline = event.target instanceof HTMLVideoElement && timelineOf(event.target);
    if (timeline) place(timeline);
  }, true);

  function scan() {
    document.querySelectorAll("[data-timeline-for]").forEach(place);
  }
  document.addEventListener("DOMContentLoaded", scan);
  document.addEventListener("htmx:load", scan);
})();
