// Takes straight to the bucket, for takes.js (with S3 storage: a form's data-take-endpoint).
// S3's multipart upload wants 5 MiB for every part but the last, and a take goes up a second
// at a time, so each piece takes.js sends is an object of its own, PUT to a URL the app
// signs for that piece's size. The app lists the pieces that arrived (a dropped connection
// or a closed tab goes on after the last of them) and, at Stop, finishes the take with its
// length; the worker joins the pieces into the video. No byte of the take goes through the
// app, and no web process keeps anything of it. The take is known by its video's id, which
// stays good once it is a video: asking then names it, and discarding deletes it.
(function () {
  "use strict";

  // tools: failure(response, text), csrfToken() and keep(record), takes.js's own. It asks
  // the app as direct.js does (PractikaDirect.call, loaded before this).
  window.PractikaBucketTakes = function (tools) {
    function json(method, url, body) {
      var asking = window.PractikaDirect.call(method, url, tools.csrfToken(), body);
      return asking.then(function (answer) {
        if (answer.response.ok) return answer.data;
        throw tools.failure(answer.response, answer.data.error);
      });
    }

    // What the app says of the take: its video once it is one, else its URLs and the
    // pieces that arrived. It goes on after pieces 1 to k with none missing (a piece past a
    // gap is sent again, from the same place in the take).
    function learn(take, data) {
      if (data.status_url) return take.named(data.video_id);
      var record = take.record;
      record.uploadUrl = new URL(data.url, window.location.href).href;
      record.urlsUrl = data.urls_url;
      record.finishUrl = data.finish_url;
      take.offset = 0;
      take.pieces = 0;
      take.signed = {};
      data.arrived.forEach(function (piece) {
        if (piece.number !== take.pieces + 1) return;
        take.pieces += 1;
        take.offset += piece.size;
      });
    }

    // The URL of the take's piece `number`, signed for its size (the bucket takes no other).
    // A piece sent again after a dropped connection is the same piece: its URL is kept.
    function urlFor(take, number, size) {
      var kept = take.signed && take.signed[number];
      if (kept && kept.size === size) return Promise.resolve(kept.url);
      var body = { pieces: [{ number: number, size: size }] };
      return json("POST", take.record.urlsUrl, body).then(function (data) {
        take.signed = {};
        take.signed[number] = { size: size, url: data.urls[number] };
        return data.urls[number];
      });
    }

    function put(take, piece) {
      var number = take.pieces + 1;
      return urlFor(take, number, piece.size).then(function (url) {
        return fetch(url, { method: "PUT", credentials: "omit", body: piece });
      }).then(function (response) {
        if (response.ok) {
          take.pieces = number;
          take.offset += piece.size;
          return;
        }
        // The bucket says 403 for a URL that has expired (a long wait offline): sign again.
        take.signed = {};
        var message = "The storage refused a piece (" + response.status + ").";
        throw tools.failure(response.status === 403 ? null : response, message);
      });
    }

    function finish(take, length) {
      return json("POST", take.record.finishUrl, { length: length }).then(function (data) {
        take.named(data.video_id);
      });
    }

    return {
      create: function (take) {
        var body = { filename: take.record.filename };
        return json("POST", take.record.endpoint, body).then(function (data) {
          learn(take, data);
          return tools.keep(take.record);
        });
      },

      // A take the app no longer has (let go by the sweep, or discarded elsewhere) starts
      // again from the device's copy.
      ask: function (take) {
        return json("GET", take.record.uploadUrl).then(function (data) {
          learn(take, data);
        }, function (error) {
          if (error.status === 404) return take.restart();
          throw error;
        });
      },

      // The piece (none when the tail was sent already), then, with the last, the length.
      // A 409 on finishing (a piece missing) waits and asks what arrived, as any trouble.
      send: function (take, piece, length) {
        var step = piece.size ? put(take, piece) : Promise.resolve();
        return step.then(function () {
          if (length !== null) return finish(take, length);
        });
      },

      discard: function (record) {
        return json("DELETE", record.uploadUrl);
      },
    };
  };
})();
