// Which native copies this browser plays. A recorder's WebM or an iPhone's HEVC can play in
// some browsers the moment it is uploaded, before a copy every browser plays is made; the
// server offers it only to browsers that named its family in the "plays" cookie. The families
// and the MIME types to ask about come from the page (ladder.NATIVE_FAMILIES).
//
// A native copy that still fails to play (a browser that said "maybe" and meant no, or a copy
// removed when the video became ready) has its status fragment fetched again: without that
// family in the cookie when the browser could not decode it, so the page falls back to the
// waiting state and then to the copy every browser plays.
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

  // Errors do not bubble: listen in the capture phase, for the <source> and the <video>.
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
        (video.error && video.error.code === video.error.MEDIA_ERR_SRC_NOT_SUPPORTED);
      refetch(video, undecodable);
    },
    true
  );

  ask();
})();
