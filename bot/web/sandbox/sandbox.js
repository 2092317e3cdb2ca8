// 模拟工作台: posts what a person types or clicks; when the live socket names the chat on
// screen, fetches its lines again. Everything shown comes escaped from the server.
(function () {
  "use strict";
  var body = document.body;
  var who = body.dataset.who || "";
  var fragment = body.dataset.fragment || "";
  var topics = (body.dataset.topics || "").split(" ").filter(Boolean);
  var toastTimer = null;

  function toast(text) {
    var el = document.getElementById("toast");
    if (!el) return;
    el.textContent = text;
    el.className = "show";
    clearTimeout(toastTimer);
    toastTimer = setTimeout(function () { el.className = ""; }, 4000);
  }

  function requestId() {
    var bytes = new Uint8Array(16);
    crypto.getRandomValues(bytes);
    return Array.prototype.map.call(bytes, function (b) { return ("0" + b.toString(16)).slice(-2); }).join("");
  }

  function post(url, data) {
    return fetch(url, {
      method: "POST",
      headers: { "Content-Type": "application/json", "X-Sandbox": "1" },
      body: JSON.stringify(data),
      credentials: "same-origin",
    }).then(function (r) {
      return r.json().catch(function () { return {}; }).then(function (j) {
        if (!r.ok) toast(j.error || "操作失败（" + r.status + "）");
        return { ok: r.ok, data: j };
      });
    }, function () { toast("无法连接服务器"); return { ok: false, data: {} }; });
  }

  var loading = 0;
  function refresh() {
    if (!fragment) return;
    var mine = ++loading;
    fetch(fragment, { cache: "no-store", credentials: "same-origin" }).then(function (r) {
      return r.ok ? r.text() : null;
    }).then(function (html) {
      if (html === null || mine !== loading) return;
      var box = document.getElementById("chat");
      box.innerHTML = html;
      box.scrollTop = box.scrollHeight;
    });
  }

  function refreshClock() {
    fetch("/sandbox/api/clock", { cache: "no-store" }).then(function (r) { return r.json(); }).then(function (j) {
      var el = document.getElementById("clock");
      if (el && j.now) el.textContent = j.now;
    });
  }

  // one WebSocket per page (a browser allows only six HTTP connections to a server, and a
  // rehearsal keeps a tab per person); it reconnects by itself and then fetches the chat again
  var retry = 500;
  function listen() {
    var scheme = location.protocol === "https:" ? "wss://" : "ws://";
    var socket = new WebSocket(scheme + location.host + "/sandbox/live");
    socket.onmessage = function (e) {
      if (e.data === "ready") { retry = 500; refresh(); return; }
      if (e.data === "clock") { refreshClock(); return; }
      if (topics.indexOf(e.data) >= 0) refresh();
    };
    socket.onclose = function () {
      setTimeout(listen, retry);
      retry = Math.min(retry * 2, 10000);
    };
  }
  if (window.WebSocket && topics.length) listen();

  var chat = document.getElementById("chat");
  if (chat) chat.scrollTop = chat.scrollHeight;

  document.addEventListener("click", function (e) {
    var button = e.target.closest("button");
    if (!button) return;
    if (button.dataset.key && button.dataset.task) {
      var card = button.closest(".card");
      if (card) card.querySelectorAll("button").forEach(function (b) { b.disabled = true; });
      post("/sandbox/api/click", { who: who, task_id: button.dataset.task, key: button.dataset.key, id: requestId() })
        .then(function (r) { if (!r.ok && card) refresh(); });
    } else if (button.dataset.say) {
      post("/sandbox/api/say", { who: who, text: button.dataset.say, id: requestId() });
    } else if (button.dataset.clock) {
      var data = {};
      data[button.dataset.clock] = parseInt(button.dataset.n, 10);
      button.disabled = true;
      post("/sandbox/api/clock", data).then(function (r) {
        button.disabled = false;
        if (r.ok) { toast("办公时间已拨到 " + r.data.now + "，定时任务发出 " + r.data.queued + " 条消息"); refreshClock(); }
      });
    } else if (button.id === "demo") {
      button.disabled = true;
      post("/sandbox/api/demo", {}).then(function (r) {
        button.disabled = false;
        if (r.ok) { toast(r.data.message); setTimeout(function () { location.reload(); }, 800); }
      });
    }
  });

  var say = document.getElementById("say");
  if (say) {
    say.addEventListener("submit", function (e) {
      e.preventDefault();
      var input = say.elements.text;
      var text = input.value.trim();
      if (!text) return;
      post("/sandbox/api/say", { who: who, text: text, id: requestId() }).then(function (r) {
        if (r.ok) input.value = "";
      });
    });
  }

  var reg = document.getElementById("register");
  if (reg) {
    reg.addEventListener("submit", function (e) {
      e.preventDefault();
      var data = { who: who, urgent: reg.elements.urgent.checked };
      ["title", "content", "unit", "category", "level", "petitioner", "contact"].forEach(function (name) {
        data[name] = reg.elements[name].value;
      });
      post("/sandbox/api/register", data).then(function (r) {
        if (r.ok) { toast(r.data.message); reg.reset(); }
      });
    });
  }
})();
