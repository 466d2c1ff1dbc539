// Videos straight to the bucket (with S3 storage: a form's data-direct-endpoint). The server
// starts a multipart upload for the file, or goes on with the one it has for the same file
// (its name, size and kind), and signs each part's URL for a short time; the parts go from
// this page to the bucket and never through the web server. A part that fails is sent again
// after a pause, and a part whose URL has expired is signed again. After the last pause the
// upload stops; sending the same file again, here or on another device, asks the bucket
// which parts arrived and goes on from there. Last, the server joins the parts (it lists
// them itself) into the video. upload.js calls PractikaDirect.send.
(function () {
  "use strict";

  var AT_ONCE = 3; // parts in flight: enough to fill a link, few enough for a phone
  var ROUNDS = 3; // completions tried, each after sending what the bucket says is missing

  function failure(message, status) {
    var error = new Error(message);
    error.status = status || 0;
    return error;
  }

  // No answer, a busy or failing server or bucket: worth another try after a pause.
  function passing(error) {
    return error.status === 0 || error.status === 429 || error.status >= 500;
  }

  // A JSON request to the app with the page's CSRF token: its response and its body ({} for
  // none). Rejects only when no answer came. takes-bucket.js asks the same way.
  function call(method, url, token, body) {
    return fetch(url, {
      method: method,
      credentials: "same-origin",
      headers: {
        "Accept": "application/json",
        "Content-Type": "application/json",
        "X-CSRFToken": token,
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    }).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (data) {
        return { response: response, data: data };
      });
    });
  }

  function pause(ms) {
    return new Promise(function (resolve) { setTimeout(resolve, ms); });
  }

  // options: endpoint, file, kind, token (CSRF), retryDelays, onProgress(sent, total),
  // onRetry(), stopped (the message when the tries run out). Resolves to the video's id.
  function send(options) {
    var file = options.file;
    var upload = null; // the server's description of it: parts, part_bytes and its URLs
    var urls = {}; // part number -> its signed URL, while it is good
    var loaded = {}; // part number -> bytes of it the bucket has, or that are on their way
    var stopped = false;

    function json(method, url, body) {
      return call(method, url, options.token, body).then(function (answer) {
        if (answer.response.ok) return answer.data;
        var status = answer.response.status;
        throw failure(answer.data.error || "The server answered " + status + ".", status);
      }, function () { throw failure(options.stopped); });
    }

    // The step again after each pause while it fails in passing; then its failure.
    function patiently(step) {
      var tries = 0;
      function attempt() {
        return step().catch(function (error) {
          if (stopped || !passing(error) || tries >= options.retryDelays.length) throw error;
          options.onRetry();
          return pause(options.retryDelays[tries++]).then(attempt);
        });
      }
      return attempt();
    }

    function sizeOf(number) {
      return Math.min(upload.part_bytes, file.size - (number - 1) * upload.part_bytes);
    }

    function report() {
      var sent = 0;
      Object.keys(loaded).forEach(function (number) { sent += loaded[number]; });
      options.onProgress(sent, file.size);
    }

    // The parts still to send, from what the bucket has (a part of the wrong size is sent
    // again: the server would refuse to join it).
    function missing(arrived) {
      var have = {};
      arrived.forEach(function (part) {
        if (part.size === sizeOf(part.number)) have[part.number] = true;
      });
      var numbers = [];
      for (var number = 1; number <= upload.parts; number++) {
        loaded[number] = have[number] ? sizeOf(number) : 0;
        if (!have[number]) numbers.push(number);
      }
      report();
      return numbers;
    }

    // Starting again once if the bucket had let the upload go (410: expired).
    function begin(again) {
      var body = { length: file.size, filename: file.name, kind: options.kind };
      return patiently(function () {
        return json("POST", options.endpoint, body);
      }).then(function (data) {
        upload = data;
        Object.keys(data.urls).forEach(function (key) { urls[key] = data.urls[key]; });
        return missing(data.arrived);
      }, function (error) {
        if (error.status === 410 && !again) return begin(true);
        throw error;
      });
    }

    // A part's URL, signed with those of the next parts waiting (as many as one request may
    // ask for).
    function urlFor(number, waiting) {
      if (urls[number]) return Promise.resolve(urls[number]);
      var batch = [number].concat(waiting.filter(function (other) {
        return !urls[other];
      })).slice(0, upload.urls_at_once);
      return json("POST", upload.urls_url, { parts: batch }).then(function (data) {
        Object.keys(data.urls).forEach(function (key) { urls[key] = data.urls[key]; });
        return urls[number];
      });
    }

    function put(url, number) {
      var start = (number - 1) * upload.part_bytes;
      var body = file.slice(start, start + sizeOf(number));
      return new Promise(function (resolve, reject) {
        var request = new XMLHttpRequest();
        request.open("PUT", url);
        request.upload.onprogress = function (event) {
          loaded[number] = event.loaded;
          report();
        };
        request.onload = function () {
          loaded[number] = request.status < 300 ? sizeOf(number) : 0;
          report();
          if (request.status >= 200 && request.status < 300) return resolve();
          // The bucket says 403 for a URL that has expired: sign it again and go on.
          if (request.status === 403) delete urls[number];
          reject(failure("The storage refused a part (" + request.status + ").",
            request.status === 403 ? 0 : request.status));
        };
        request.onerror = request.onabort = request.ontimeout = function () {
          loaded[number] = 0;
          report();
          reject(failure(options.stopped));
        };
        request.send(body);
      });
    }

    // The parts, AT_ONCE at a time; the first that fails for good stops the others.
    function sendAll(numbers) {
      var waiting = numbers.slice();
      function next() {
        var number = waiting.shift();
        if (number === undefined || stopped) return Promise.resolve();
        return patiently(function () {
          return urlFor(number, waiting).then(function (url) { return put(url, number); });
        }).then(next);
      }
      var lanes = [];
      for (var i = 0; i < Math.min(AT_ONCE, waiting.length); i++) lanes.push(next());
      return Promise.all(lanes).catch(function (error) {
        stopped = true;
        throw error;
      });
    }

    // 409: parts are missing (a part sent twice at once, a bucket slow to list): ask which,
    // send them, and try again.
    function finish(round) {
      return patiently(function () {
        return json("POST", upload.complete_url);
      }).then(function (data) { return data.video_id; }, function (error) {
        if (error.status !== 409 || round >= ROUNDS) throw error;
        return patiently(function () {
          return json("GET", upload.parts_url);
        }).then(function (data) {
          return sendAll(missing(data.arrived));
        }).then(function () { return finish(round + 1); });
      });
    }

    return begin(false).then(sendAll).then(function () { return finish(1); });
  }

  window.PractikaDirect = { send: send, call: call };
})();
