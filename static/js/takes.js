// Takes that nothing loses. While a take is recorded, each piece the recorder hands out is
// kept in the browser's own storage (IndexedDB) at once and sent to the server as recording
// goes on, so only the tail is left to send at Stop. It goes one of two ways (a transport,
// which the take's record names): a tus upload to the app created with Upload-Defer-Length,
// whose length goes with the last piece; or, with S3 storage (the form's
// data-take-endpoint), straight to the bucket a piece at a time (takes-bucket.js), finished
// with its length. A dropped network waits for the connection and goes on by itself, from
// what the server says it has.
//
// The copy on the device is deleted only once the server has the whole file and the form it
// was recorded for has been accepted. Until then, any page of Practika opened later (after a
// reload, a closed tab, a crash) offers the take (what it is for, how long, when, a
// preview) to send or discard. recorder.js records; this keeps and sends.
(function () {
  "use strict";

  var DB_NAME = "practika-takes";
  var PIECE_BYTES = 5 * 1024 * 1024; // the most one request carries
  var RETRY_MS = [1000, 2000, 5000, 10000, 20000]; // and at once when the browser is online
  var CLAIM_MS = 2000; // a tab holding a take says so this often...
  var STALE_MS = 8000; // ...so a claim older than this is a tab that is gone
  var SENT_KEY = "practika-takes-sent"; // ids of takes sent from this tab, kept synchronously
  var TAB = Math.random().toString(36).slice(2) + Date.now().toString(36);
  var live = new Set(); // takes held by this tab

  // IndexedDB, promised. Without it (a private window in some browsers) takes still go up
  // as they are recorded; they just cannot outlive the page.

  var opening = null;

  function database() {
    if (!opening) {
      opening = new Promise(function (resolve, reject) {
        if (!window.indexedDB) return reject(new Error("no IndexedDB"));
        var request = window.indexedDB.open(DB_NAME, 1);
        request.onupgradeneeded = function () {
          request.result.createObjectStore("takes", { keyPath: "id" });
          request.result.createObjectStore("chunks", { keyPath: ["take", "n"] });
        };
        request.onsuccess = function () { resolve(request.result); };
        request.onerror = function () { reject(request.error); };
      });
    }
    return opening;
  }

  // Runs `work` in one transaction; resolves with the `result` of what `work` returns (a
  // request, or any object with a result), once the transaction is committed: a piece
  // counts as kept only when that resolves.
  function transact(stores, mode, work) {
    return database().then(function (db) {
      return new Promise(function (resolve, reject) {
        var transaction = db.transaction(stores, mode);
        var request = work(transaction);
        transaction.oncomplete = function () { resolve(request ? request.result : undefined); };
        transaction.onerror = transaction.onabort = function () { reject(transaction.error); };
      });
    });
  }

  function chunkRange(id) {
    return window.IDBKeyRange.bound([id, 0], [id, Infinity]);
  }

  var store = {
    put: function (record) {
      return transact(["takes"], "readwrite", function (t) {
        return t.objectStore("takes").put(record);
      });
    },
    addChunk: function (record, n, blob) {
      return transact(["takes", "chunks"], "readwrite", function (t) {
        t.objectStore("chunks").put({ take: record.id, n: n, blob: blob });
        return t.objectStore("takes").put(record);
      });
    },
    all: function () {
      return transact(["takes"], "readonly", function (t) {
        return t.objectStore("takes").getAll();
      });
    },
    chunks: function (id) {
      return transact(["chunks"], "readonly", function (t) {
        return t.objectStore("chunks").getAll(chunkRange(id));
      }).then(function (rows) {
        return rows.sort(function (a, b) { return a.n - b.n; }).map(function (row) {
          return row.blob;
        });
      });
    },
    remove: function (id) {
      return transact(["takes", "chunks"], "readwrite", function (t) {
        t.objectStore("chunks").delete(chunkRange(id));
        return t.objectStore("takes").delete(id);
      });
    },
    // Takes the take for this tab unless another tab has it now; resolves with the record,
    // or null when it is taken (or gone). One transaction, so two tabs cannot both win.
    claim: function (id) {
      return transact(["takes"], "readwrite", function (t) {
        var takes = t.objectStore("takes");
        var request = takes.get(id);
        request.onsuccess = function () {
          var record = request.result;
          if (!record || (record.tab !== TAB && Date.now() - record.claimedAt < STALE_MS)) {
            request.claimed = null;
            return;
          }
          record.tab = TAB;
          record.claimedAt = Date.now();
          takes.put(record);
          request.claimed = record;
        };
        return { get result() { return request.claimed; } };
      });
    },
  };

  function quietly(promise) {
    return promise.catch(function () {});
  }

  // Takes sent from this tab. Written synchronously as the answer arrives, because the page
  // may leave at once (a redirect); the next page deletes their copies.
  function sentIds() {
    try {
      return JSON.parse(window.sessionStorage.getItem(SENT_KEY) || "[]");
    } catch (error) {
      return [];
    }
  }

  function noteSent(ids) {
    try {
      window.sessionStorage.setItem(SENT_KEY, JSON.stringify(ids));
    } catch (error) { /* storage off: the copy is deleted below, or offered once more */ }
  }

  // Who is logged in: takes are offered only to the account that recorded them.
  function currentUser() {
    var panel = document.querySelector("[data-unsent-takes]");
    return panel ? panel.dataset.user : "";
  }

  function csrfToken() {
    try {
      return JSON.parse(document.body.getAttribute("hx-headers") || "{}")["X-CSRFToken"] || "";
    } catch (error) {
      return "";
    }
  }

  // The server's answer, as an error that says whether trying again can help.
  function failure(response, text) {
    var error = new Error(text || "The upload was refused.");
    var status = response ? response.status : 0;
    error.status = status;
    error.lasting = status >= 400 && status < 500 && [408, 409, 423, 429].indexOf(status) === -1;
    return error;
  }

  function refused(response) {
    var type = response.headers.get("Content-Type") || "";
    var body = type.indexOf("text/plain") === 0 ? response.text() : Promise.resolve("");
    return body.then(function (text) { throw failure(response, text); });
  }

  function sleep(ms, take) {
    return new Promise(function (resolve) {
      var timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        take.wake = null;
        resolve();
      }
      take.wake = done;
    });
  }

  // The tus transport: one upload on the app, created without a length, which goes with
  // the last piece. Each function takes the take it works for.
  function tusHeaders(more) {
    return Object.assign({ "Tus-Resumable": "1.0.0", "X-CSRFToken": csrfToken() }, more || {});
  }

  var tus = {
    create: function (take) {
      var record = take.record;
      var meta = "filename " + btoa(record.filename) + ",filetype " + btoa(record.type);
      return fetch(record.endpoint, {
        method: "POST",
        credentials: "same-origin",
        headers: tusHeaders({ "Upload-Defer-Length": "1", "Upload-Metadata": meta }),
      }).then(function (response) {
        if (response.status !== 201) return refused(response);
        record.uploadUrl = new URL(response.headers.get("Location"), window.location.href).href;
        take.offset = 0;
        return quietly(store.put(record));
      });
    },

    // What the server has of it: its offset, and its video once finished. A gone upload
    // (expired, or removed by a retake elsewhere) starts again from the device's copy.
    ask: function (take) {
      return fetch(take.record.uploadUrl, {
        method: "HEAD",
        credentials: "same-origin",
        headers: tusHeaders(),
      }).then(function (response) {
        if (response.status === 404 || response.status === 410) return take.restart();
        if (!response.ok) throw failure(response, "The server did not answer.");
        tus.learn(take, response);
      });
    },

    learn: function (take, response) {
      take.offset = parseInt(response.headers.get("Upload-Offset"), 10) || 0;
      var asset = response.headers.get("X-Video-Asset");
      if (asset) take.named(asset);
    },

    send: function (take, piece, length) {
      var more = { "Upload-Offset": String(take.offset),
                   "Content-Type": "application/offset+octet-stream" };
      if (length !== null) more["Upload-Length"] = String(length);
      return fetch(take.record.uploadUrl, {
        method: "PATCH",
        credentials: "same-origin",
        headers: tusHeaders(more),
        body: piece,
      }).then(function (response) {
        if (response.status === 204) return tus.learn(take, response);
        if (response.status === 409) return tus.ask(take); // it has more or less than we thought
        if (response.status === 404 || response.status === 410) return take.restart();
        return refused(response);
      });
    },

    // The upload goes, and its video if it was finished and nothing uses it.
    discard: function (record) {
      return fetch(record.uploadUrl, {
        method: "DELETE", credentials: "same-origin", headers: tusHeaders(),
      });
    },
  };

  var TRANSPORTS = {
    tus: tus,
    bucket: window.PractikaBucketTakes &&
      window.PractikaBucketTakes({
        failure: failure,
        csrfToken: csrfToken,
        keep: function (record) { return quietly(store.put(record)); },
      }),
  };

  // One take, held by this tab: its pieces (in memory as well as on the device) and its
  // upload, which `pump` sends by the transport its record names. `changed` is called with
  // the take whenever what it should say changes.
  function Take(record, blobs, changed) {
    this.record = record;
    this.blobs = blobs;
    this.changed = changed || function () {};
    this.transport = TRANSPORTS[record.transport || "tus"];
    this.offset = 0; // what the server has: asked first when the upload exists already
    this.pieces = 0; // how many pieces that is, for a transport that counts them
    this.unsure = Boolean(record.uploadUrl);
    this.state = "sending"; // sending, waiting (for the network), sent, failed
    this.message = "";
    this.wake = null;
    this.failures = 0;
    this.ended = false;
    var take = this;
    this.done = new Promise(function (resolve, reject) {
      take.resolve = resolve;
      take.reject = reject;
    });
    this.done.catch(function () {}); // a failure is reported through `changed` too
    this.heartbeat = setInterval(function () {
      if (take.ended) return clearInterval(take.heartbeat);
      record.claimedAt = Date.now();
      quietly(store.put(record));
    }, CLAIM_MS);
    live.add(this);
  }

  function sizeOf(blobs) {
    return blobs.reduce(function (sum, blob) { return sum + blob.size; }, 0);
  }

  Take.prototype.size = function () {
    return sizeOf(this.blobs);
  };

  Take.prototype.add = function (blob) {
    this.record.chunks = this.blobs.push(blob);
    quietly(store.addChunk(this.record, this.blobs.length - 1, blob));
    if (this.wake) this.wake();
  };

  // Stop: the length is known now, and goes with the last piece.
  Take.prototype.stop = function (seconds) {
    this.record.stopped = true;
    this.record.seconds = seconds;
    this.record.size = this.size();
    quietly(store.put(this.record));
    if (this.wake) this.wake();
  };

  Take.prototype.say = function (state, message) {
    this.state = state;
    this.message = message || "";
    this.changed(this);
  };

  // The upload is gone (expired, or removed by a retake elsewhere): the next step starts a
  // new one, from the device's copy.
  Take.prototype.restart = function () {
    this.record.uploadUrl = null;
    this.record.assetId = null;
    this.offset = 0;
    this.pieces = 0;
  };

  // The server says which video the whole take became.
  Take.prototype.named = function (asset) {
    this.record.assetId = asset;
    quietly(store.put(this.record));
  };

  // Sends what there is, waits for more while recording goes on, and ends when the server
  // names the video the whole take became. Trouble on the way waits and tries again; only
  // a refusal (too big, no room left) ends it.
  Take.prototype.pump = function () {
    var take = this;
    var record = this.record;
    if (this.ended || record.assetId) return this.finish();
    var step;
    if (!record.uploadUrl) {
      step = this.transport.create(this);
    } else if (this.unsure) {
      step = this.transport.ask(this).then(function () { take.unsure = false; });
    } else {
      var whole = new Blob(this.blobs);
      var end = Math.min(whole.size, this.offset + PIECE_BYTES);
      var last = Boolean(record.stopped) && end === whole.size;
      if (end === this.offset && !last) {
        step = sleep(60000, this); // until the recorder hands out more, or Stop
      } else {
        step = this.transport.send(this, whole.slice(this.offset, end), last ? whole.size : null);
      }
    }
    step.then(function () {
      take.failures = 0;
      if (!take.ended) take.say("sending");
      take.pump();
    }, function (error) {
      if (take.ended) return;
      if (error && error.lasting) return take.fail(error.message);
      take.unsure = Boolean(record.uploadUrl); // a piece may have arrived in part
      take.say("waiting", navigator.onLine === false
        ? "Waiting for the connection… The take is kept on this device."
        : "The connection dropped. Trying again…");
      var delay = RETRY_MS[Math.min(take.failures++, RETRY_MS.length - 1)];
      sleep(delay, take).then(function () { take.pump(); });
    });
  };

  Take.prototype.finish = function () {
    if (!this.record.assetId) return;
    this.say("sent");
    this.resolve(this.record.assetId);
  };

  Take.prototype.fail = function (message) {
    this.say("failed", message);
    this.reject(new Error(message));
  };

  Take.prototype.end = function () {
    this.ended = true;
    clearInterval(this.heartbeat);
    live.delete(this);
    if (this.wake) this.wake();
  };

  // Done with here: the device's copy goes.
  Take.prototype.forget = function () {
    this.end();
    return quietly(store.remove(this.record.id));
  };

  // The form it was recorded for has been accepted. Noted synchronously first: the page
  // may leave at once (a redirect), and then the next page deletes the copy.
  Take.prototype.sent = function () {
    noteSent(sentIds().concat([this.record.id]));
    return this.forget();
  };

  // A retake or a discard: the copy goes, and so does what the server has (the upload, and
  // its video if it was finished and nothing uses it).
  Take.prototype.discard = function () {
    this.end();
    if (this.record.uploadUrl) quietly(this.transport.discard(this.record));
    return quietly(store.remove(this.record.id));
  };

  Take.prototype.progress = function () {
    var size = this.record.stopped ? this.record.size : this.size();
    return size ? Math.min(100, Math.floor((this.offset / size) * 100)) : 0;
  };

  window.addEventListener("online", function () {
    live.forEach(function (take) { if (take.wake) take.wake(); });
  });

  // Let go of this tab's claims as it leaves, so that the next page offers them at once.
  window.addEventListener("pagehide", function () {
    live.forEach(function (take) {
      take.record.claimedAt = 0;
      quietly(store.put(take.record));
    });
  });

  // A form accepted (the htmx answer, before any redirect) with a take's video in it, or
  // that sent a take as a file because its own upload was refused (`fallbackForm`, set by
  // recorder.js): that take is sent.
  document.addEventListener("htmx:beforeOnLoad", function (event) {
    var xhr = event.detail.xhr;
    var form = event.detail.elt;
    if (!(form instanceof HTMLFormElement) || xhr.status < 200 || xhr.status >= 300) return;
    var field = form.querySelector("input[name=video_asset_id]");
    var asset = field && field.value;
    live.forEach(function (take) {
      if (take.fallbackForm === form || (asset && take.record.assetId === asset)) take.sent();
    });
  });

  // A take recorded for `form`: straight to the bucket when the form has a take endpoint
  // (S3 storage), else by tus.
  function begin(form, options) {
    var bucket = Boolean(form.dataset.takeEndpoint && TRANSPORTS.bucket);
    var record = {
      id: "take-" + TAB + "-" + Date.now(),
      action: form.getAttribute("action"),
      page: window.location.pathname + window.location.search,
      title: options.title,
      transport: bucket ? "bucket" : "tus",
      endpoint: bucket ? form.dataset.takeEndpoint : form.dataset.tusEndpoint,
      filename: options.filename,
      type: options.type,
      startedAt: Date.now(),
      stopped: false,
      seconds: 0,
      size: 0,
      chunks: 0,
      uploadUrl: null,
      assetId: null,
      user: currentUser(),
      tab: TAB,
      claimedAt: Date.now(),
    };
    quietly(store.put(record));
    var take = new Take(record, [], options.changed);
    take.pump();
    return take;
  }

  window.PractikaTakes = { begin: begin };

  // Offering what was left behind ------------------------------------------------------------

  function clock(seconds) {
    var whole = Math.max(0, Math.round(seconds || 0));
    return Math.floor(whole / 60) + ":" + String(whole % 60).padStart(2, "0");
  }

  function when(ms) {
    var date = new Date(ms);
    var time = date.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
    var today = new Date().toDateString() === date.toDateString();
    return (today ? "today" : date.toLocaleDateString([], { day: "numeric", month: "short" })) +
      " at " + time;
  }

  function element(tag, attributes, children) {
    var node = document.createElement(tag);
    Object.keys(attributes || {}).forEach(function (name) {
      if (name === "text") node.textContent = attributes[name];
      else node.setAttribute(name, attributes[name]);
    });
    (children || []).forEach(function (child) { node.appendChild(child); });
    return node;
  }

  // Sends the take's form again, as it was when recorded, with the video in it; htmx's way,
  // so the answer is a redirect header (accepted) or the form with its error (422).
  function post(record) {
    var body = new URLSearchParams(record.fields || []);
    body.set("csrf_token", csrfToken());
    body.set("video_asset_id", record.assetId);
    return fetch(record.action, {
      method: "POST",
      credentials: "same-origin",
      headers: { "HX-Request": "true", "X-CSRFToken": csrfToken() },
      body: body,
    }).then(function (response) {
      if (response.ok) return response.headers.get("HX-Redirect") || record.page;
      return response.text().then(function (html) {
        var page = new DOMParser().parseFromString(html, "text/html");
        var error = page.querySelector(".form-error, .field-error");
        throw new Error(error ? error.textContent.trim()
          : "The take could not be sent (the server answered " + response.status + ").");
      });
    });
  }

  function offer(record, blobs, list) {
    var video = element("video", { controls: "", playsinline: "", preload: "metadata",
                                   class: "unsent-preview" });
    video.src = URL.createObjectURL(new Blob(blobs, { type: record.type }));
    var bar = element("progress", { max: "100", value: "0", hidden: "" });
    var message = element("p", { class: "unsent-message", "aria-live": "polite" });
    var send = element("button", { type: "button", "data-take-send": "", text: "Send it" });
    var discard = element("button", { type: "button", class: "secondary", "data-take-discard": "",
                                      text: "Discard" });
    var item = element("article", { class: "unsent-take" }, [
      video,
      element("div", { class: "unsent-about" }, [
        element("p", {}, [element("strong", { text: record.title || "A recording" })]),
        element("p", { class: "muted", text: clock(record.seconds || record.chunks) + ", recorded " +
          when(record.startedAt) + ". It is kept on this device until it is sent." }),
        bar, message,
        element("div", { class: "unsent-buttons" }, [send, discard]),
      ]),
    ]);
    var take = null;

    function busy(on) {
      send.disabled = discard.disabled = on;
    }

    function gone() {
      URL.revokeObjectURL(video.src);
      item.remove();
      if (!list.querySelector(".unsent-take")) list.closest("[data-unsent-takes]").hidden = true;
    }

    send.addEventListener("click", function () {
      busy(true);
      message.textContent = "Sending…";
      store.claim(record.id).then(function (claimed) {
        if (!claimed) throw new Error("This take is being sent from another tab.");
        if (!claimed.stopped) { // the tab recording it went away before Stop
          claimed.stopped = true;
          claimed.seconds = claimed.chunks; // a piece a second
          claimed.size = sizeOf(blobs);
        }
        take = new Take(claimed, blobs, function (t) {
          bar.hidden = t.state === "sent";
          bar.value = t.progress();
          message.textContent = t.message || (t.state === "sent" ? "Uploaded. Saving…"
            : "Uploading… " + t.progress() + "%");
        });
        take.pump();
        return take.done.then(function () { return post(claimed); });
      }).then(function (next) {
        return take.sent().then(function () { window.location.assign(next); });
      }, function (error) {
        if (take) take.end();
        busy(false);
        bar.hidden = true;
        message.textContent = error.message;
      });
    });

    discard.addEventListener("click", function () {
      if (!window.confirm("Discard this take? It cannot be brought back.")) return;
      busy(true);
      store.claim(record.id).then(function (claimed) {
        if (!claimed) throw new Error("This take is being sent from another tab.");
        take = new Take(claimed, blobs);
        return take.discard();
      }).then(gone, function (error) {
        busy(false);
        message.textContent = error.message;
      });
    });
    return item;
  }

  var shown = new Set(); // take ids offered on this page

  // Offers every take no tab holds; looks again when a claim it saw may have lapsed.
  function offerLeftBehind() {
    var panel = document.querySelector("[data-unsent-takes]");
    if (!panel || !window.indexedDB) return;
    var list = panel.querySelector("[data-unsent-list]");
    var sent = sentIds();
    var user = currentUser();
    store.all().then(function (records) {
      var now = Date.now();
      var later = null;
      return Promise.all(records.map(function (record) {
        if (sent.indexOf(record.id) !== -1) return store.remove(record.id);
        var held = record.tab === TAB && Array.from(live).some(function (take) {
          return take.record.id === record.id;
        });
        // Another account's take (a shared device) is theirs to send: never shown here.
        if (held || shown.has(record.id) || !record.chunks || record.user !== user) return null;
        var age = now - record.claimedAt;
        if (age < STALE_MS) {
          later = Math.min(later || Infinity, STALE_MS - age + 100);
          return null;
        }
        return store.chunks(record.id).then(function (blobs) {
          if (!blobs.length) return store.remove(record.id);
          shown.add(record.id);
          list.appendChild(offer(record, blobs, list));
          panel.hidden = false;
        });
      })).then(function () {
        noteSent([]);
        if (later) setTimeout(offerLeftBehind, later);
      });
    }).catch(function () {});
  }

  // Keeps the fields of a take's form as they are now, for sending it from elsewhere.
  window.PractikaTakes.keepFields = function (take, form) {
    take.record.fields = Array.from(new FormData(form).entries()).filter(function (pair) {
      return typeof pair[1] === "string" &&
        ["csrf_token", "video_asset_id"].indexOf(pair[0]) === -1;
    });
    quietly(store.put(take.record));
  };

  document.addEventListener("DOMContentLoaded", offerLeftBehind);
  document.addEventListener("htmx:afterSettle", function (event) {
    if (event.target === document.body) {
      shown.clear();
      offerLeftBehind();
    }
  });
})();
