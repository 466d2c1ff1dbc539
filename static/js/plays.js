// Which native copies this browser plays. A recorder's WebM or an iPhone's HEVC can play in
// some browsers the moment it is uploaded, before a copy every browser plays is made; the
// server offers it only to browsers that named its family in the "plays" cookie. The families
// and the MIME types to ask about come from the page (ladder.NATIVE_FAMILIES).
//
// A player showing a native copy follows the video to its end:
// - when the video is ready (the note's response triggers "video-ready"), the player moves to
//   the MP4 at the same moment, playing if it was: the native copy is deleted then;
// - when it failed ("video-failed"), its status fragment is fetched again, which says why
//   and offers what can be done;
// - when the copy will not play (a browser that said "maybe" and meant no), the fragment is
//   fetched again without that family in the cookie, so the page waits for the MP4 instead.
(function () {
  "use strict";

  var COOKIE = "plays";

  function families() {
    var holder = document.querySelector("[data-native-families]");
    return holder ? JSON.parse(holder.dataset.nativeFamilies) : {};
  }

  function save(names) {
    document.cookie =
      COOKIE + "=" + names.join(".") + "; path=/; max-age=31536000; samesite=lax";
  }

  function said() {
    var match = document.cookie.match(/(?:^|;\s*)plays=([^;]*)/);
    return match ? match[1].split(".").filter(Boolean) : [];
  }

  function ask() {
    var probe = document.createElement("video");
    var known = families();
    save(
      Object.keys(known).filter(function (name) {
        return probe.canPlayType(known[name]) !== "";
      })
    );
  }

  function refetch(video, undecodable) {
    var box = video.closest(".video-status");
    if (!box || !window.htmx || video.dataset.refetched) {
      return;
    }
    video.dataset.refetched = "1";
    if (undecodable) {
      var family = video.dataset.nativeFamily;
      save(
        said().filter(function (name) {
          return name !== family;
        })
      );
    }
    window.htmx.ajax("GET", video.dataset.statusUrl, { target: box, swap: "outerHTML" });
  }

  function nativePlayer(assetId) {
    var video = document.getElementById("player-" + assetId);
    return video instanceof HTMLVideoElement && video.dataset.nativeFamily ? video : null;
  }

  // The same moment of the same take, from the MP4 that plays everywhere.
  function moveToMp4(video) {
    var at = video.currentTime;
    var playing = !video.paused;
    delete video.dataset.nativeFamily;
    video.addEventListener(
      "loadedmetadata",
      function () {
        video.currentTime = at;
        if (playing) {
          video.play().catch(function () {});
        }
      },
      { once: true }
    );
    video.src = video.dataset.readySrc;
  }

  // Errors do not bubble: listen in the capture phase, for the <source> and the <video>. A
  // network error (the copy deleted as the video became ready) is no reason to think the
  // browser cannot decode the family; anything else is.
  document.addEventListener(
    "error",
    function (event) {
      var target = event.target;
      var video = target instanceof HTMLSourceElement ? target.parentElement : target;
      if (!(video instanceof HTMLVideoElement) || !video.dataset.nativeFamily) {
        return;
      }
      var undecodable =
        target instanceof HTMLSourceElement ||
        !video.error ||
        video.error.code !== video.error.MEDIA_ERR_NETWORK;
      refetch(video, undecodable);
    },
    true
  );

  document.addEventListener("video-ready", function (event) {
    var video = nativePlayer(event.detail.value);
    if (video) {
      moveToMp4(video);
    }
  });

  document.addEventListener("video-failed", function (event) {
    var video = nativePlayer(event.detail.value);
    if (video) {
      refetch(video, false);
    }
  });

  ask();
})();
