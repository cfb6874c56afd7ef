/* Layso's browser client, shared by every page: device token, API calls, the hub with resume.
 *
 *   const me = await Layso.whoami();                 // {kind, role, hall, counter, name}
 *   const me = await Layso.whoami({retry: true});    // a screen that may boot before the server
 *   const r = await Layso.api("POST", `/halls/${me.hall}/tickets`, {service: "TP"});
 *   Layso.connect({hall: me.hall, onSnapshot(state) {...}, onEvent(name, body) {...},
 *                  onStatus(online) {...}});
 *
 * A device page is opened once with ?token=...; device-token.js (the page's first script) has
 * already removed it from the address bar. The token becomes the device's saved token
 * (localStorage) once the server accepts it; one the server refuses (401) is dropped and the
 * saved token, if any, is used again: a bad token in the URL never replaces a working one.
 * Signed-in users use their session cookie and the page's CSRF token.
 * The hub connection sends the last seq it saw, so a reconnect replays exactly what was missed
 * (or the server sends a fresh snapshot); events already seen are ignored by seq.
 *
 * Page helpers: Layso.$(id), Layso.esc(text) (for innerHTML), Layso.el(tag, attrs, ...children),
 * Layso.dur(seconds) ("12:34"), Layso.waitMinutes(seconds), Layso.fmtWait(seconds) ("~5 phút"),
 * Layso.waitText(seconds) (["~1 giờ 5 phút", "~1 h 5 min"]), Layso.sleep(ms).
 */
(function () {
  "use strict";
  const TOKEN_KEY = "layso.token";
  const PENDING_KEY = "layso.token.new"; /* a token from the URL the server has not accepted yet */
  const params = new URLSearchParams(window.location.search);
  const store = (area, key, value) => {
    try {
      if (value === null) area.removeItem(key);
      else area.setItem(key, value);
    } catch (e) { /* private mode: kept in memory only */ }
  };
  const read = (area, key) => { try { return area.getItem(key); } catch (e) { return null; } };

  let token = null;
  let saved = null;   /* the device's working token (localStorage) */
  let pending = null; /* a token from the URL, until the server accepts or refuses it */
  let lang = "vi";

  function deviceToken() {
    /* device-token.js normally took ?token= already; a page without it still has it here */
    let fromUrl = params.get("token");
    if (params.has("token")) {
      params.delete("token");
      const rest = params.toString();
      history.replaceState(history.state, "",
        window.location.pathname + (rest ? "?" + rest : "") + window.location.hash);
    }
    const boot = window.LaysoBoot && window.LaysoBoot.token;
    fromUrl = fromUrl || boot || read(sessionStorage, PENDING_KEY) || null;
    saved = read(localStorage, TOKEN_KEY);
    pending = fromUrl && fromUrl !== saved ? fromUrl : null;
    if (!pending) store(sessionStorage, PENDING_KEY, null);
    return pending || saved;
  }

  /* the server's word on a token from the URL: keep it, or go back to the saved one */
  function settle(used, status) {
    if (!pending || used !== pending) return false;
    if (status >= 200 && status < 300) {
      store(localStorage, TOKEN_KEY, pending);
      saved = pending;
    } else if (status !== 401) {
      return false; /* not a verdict on the token (network, 5xx, a forbidden action) */
    } else {
      token = saved;
      window.Layso.tokenRefused = true;
      document.documentElement.dataset.tokenRefused = "1"; /* seen by pages and tests */
      refusedNotice(saved !== null);
    }
    pending = null;
    store(sessionStorage, PENDING_KEY, null);
    return status === 401 && token !== null;
  }

  /* say so on screen: the link's token was refused (and whether the saved one goes on) */
  function refusedNotice(keptSaved) {
    const box = document.createElement("div");
    box.className = "token-refused";
    box.setAttribute("role", "alert");
    const vi = document.createElement("strong");
    vi.textContent = "Mã thiết bị không hợp lệ" + (keptSaved ? " — vẫn dùng mã đã lưu" : "");
    const en = document.createElement("small");
    en.textContent = "Invalid device token" + (keptSaved ? "; the saved one is still in use" : "");
    box.append(vi, " ", en);
    const put = () => document.body.appendChild(box);
    if (document.body) put(); else document.addEventListener("DOMContentLoaded", put);
    if (keptSaved) setTimeout(() => box.remove(), 15000);
  }

  function csrf() {
    const m = document.querySelector('meta[name="csrf-token"]');
    return m ? m.content : "";
  }

  async function api(method, path, body, opts) {
    const used = opts && opts.session ? null : token;
    const r = await request(method, path, body, opts, used);
    /* a refused token from the URL: the same request again with the working saved token */
    if (used && settle(used, r.status)) return request(method, path, body, opts, token);
    return r;
  }

  async function request(method, path, body, opts, bearer) {
    const headers = {"Accept": "application/json", "Accept-Language": lang};
    if (bearer) headers["Authorization"] = "Bearer " + bearer;
    if (method !== "GET") headers["X-CSRF-Token"] = csrf();
    if (body !== undefined) headers["Content-Type"] = "application/json";
    if (opts && opts.key) headers["Idempotency-Key"] = opts.key;
    const ctrl = new AbortController();
    const timer = setTimeout(() => ctrl.abort(), (opts && opts.timeout) || 8000);
    try {
      const resp = await fetch("/api/v1" + path, {
        method, headers, body: body === undefined ? undefined : JSON.stringify(body),
        credentials: "same-origin", signal: ctrl.signal,
      });
      let data = null;
      try { data = await resp.json(); } catch (e) { data = null; }
      return {ok: resp.ok, status: resp.status, body: data,
              error: data && data.error ? data.error : null};
    } catch (e) {
      return {ok: false, status: 0, body: null,
              error: {code: "network", message: lang === "en" ? "No connection to the server."
                                                            : "Mất kết nối tới máy chủ."}};
    } finally {
      clearTimeout(timer);
    }
  }

  /* Who this token or session is ({kind, role, hall, counter, name…}); null when the server
     refuses it. With {retry: true} (a kiosk or a TV may boot before the server) a failure that is
     not a refusal is tried again with back-off, calling onRetry() before each wait. */
  async function whoami(opts) {
    let delay = 1000;
    for (;;) {
      const r = await api("GET", "/me");
      if (r.ok && r.body) return r.body;
      if (!(opts && opts.retry) || [401, 403, 404].includes(r.status)) return null;
      if (opts.onRetry) opts.onRetry(r);
      await sleep(delay);
      delay = Math.min(delay * 2, 15000);
    }
  }

  const HEAL_EVERY_MS = 60000;
  const HEAL_WINDOW = 500;

  const BEAT_MS = 25000;

  /* "<page>@<server version>": which page, from which release, a device runs */
  function pageVersion() {
    const meta = document.querySelector('meta[name="layso-version"]');
    const page = location.pathname.replace(/^\/+|\/+$/g, "") || "index";
    return `${page}@${meta ? meta.content : "?"}`.slice(0, 40);
  }

  function connect(opts) {
    let lastSeq = null;
    let baseSeq = 0; /* the snapshot's seq: everything up to it is in the snapshot */
    const seen = new Set();
    const remember = (seq) => {
      seen.add(seq);
      if (seen.size > 5000) seen.delete(seen.values().next().value);
      if (lastSeq === null || seq > lastSeq) lastSeq = seq;
    };
    /* global io */
    const socket = io("/hall", {
      auth: (cb) => cb({token: token || null, hall: opts.hall, after: lastSeq}),
      transports: ["websocket", "polling"],
      reconnection: true,
      reconnectionDelay: 500,
      reconnectionDelayMax: 8000,
      randomizationFactor: 0.3,
    });
    const status = (online) => { if (opts.onStatus) opts.onStatus(online); };
    /* socket.io retries a lost transport by itself, but not a connection the server refused
     * (e.g. while its database was not ready): keep trying, with back-off. */
    let refusedDelay = 2000;
    let refused = 0;
    /* a device page says it is alive every ~25 s (device.heartbeat): its page version, and what
     * opts.health() adds (a display: audio_blocked); the server marks a silent device offline */
    const beat = () => {
      if (!token || !socket.connected) return;
      const body = {version: pageVersion()};
      if (opts.health) Object.assign(body, opts.health());
      socket.emit("device.heartbeat", body, (ack) => {
        if (document.body) document.body.dataset.beat = ack && ack.ok ? "ok" : "refused";
      });
    };
    const beatTimer = token ? setInterval(beat, BEAT_MS) : null;
    socket.on("connect", () => { refusedDelay = 2000; status(true); beat(); });
    socket.on("disconnect", () => status(false));
    socket.on("connect_error", () => {
      status(false);
      if (socket.active) return;
      refused += 1;
      if (document.body) document.body.dataset.refused = String(refused); /* seen by tests */
      setTimeout(() => { if (!socket.connected) socket.connect(); }, refusedDelay);
      refusedDelay = Math.min(refusedDelay * 2, 30000);
    });
    socket.on("snapshot", (state) => {
      seen.clear();
      lastSeq = state.seq;
      baseSeq = state.seq;
      opts.onSnapshot(state);
    });
    /* Heal: live events can be lost without a disconnect (another worker's events while the
     * shared message queue is down) or arrive out of order. Now and then compare with the log:
     * missing newer events are applied in order; a missing older one means the screen may be
     * stale, so it takes a fresh snapshot. */
    async function heal() {
      if (lastSeq === null || !socket.connected) return;
      const from = Math.max(baseSeq, lastSeq - HEAL_WINDOW);
      const r = await api("GET", `/halls/${encodeURIComponent(opts.hall)}/events?after=${from}`);
      if (!r.ok || !r.body || !Array.isArray(r.body.events)) return;
      const missing = r.body.events.filter((e) => e.seq > baseSeq && !seen.has(e.seq));
      if (missing.some((e) => e.seq <= lastSeq)) {
        resync();
        return;
      }
      for (const e of missing) {
        const name = e.name;
        const body = Object.assign({}, e);
        delete body.name;
        remember(body.seq);
        opts.onEvent(name, body);
      }
    }
    function resync() { lastSeq = null; socket.disconnect().connect(); }
    const healTimer = setInterval(heal, HEAL_EVERY_MS + Math.floor(Math.random() * 5000));
    socket.onAny((name, body) => {
      if (name === "snapshot" || !body || typeof body.seq !== "number") return;
      if (seen.has(body.seq)) return;
      remember(body.seq);
      opts.onEvent(name, body);
    });
    return {
      socket,
      get seq() { return lastSeq; },
      close() { clearInterval(healTimer); if (beatTimer) clearInterval(beatTimer); socket.close(); },
      /* send a heartbeat now (e.g. the display's audio just got blocked) */
      beat,
      /* ask for a fresh snapshot (e.g. after the page was hidden for long) */
      resync,
      heal,
    };
  }

  // --- page helpers ---------------------------------------------------------------------

  const $ = (id) => document.getElementById(id);
  const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
  const ESCAPES = {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;"};

  /* text made safe for innerHTML; null and undefined give "" */
  function esc(s) {
    return String(s === null || s === undefined ? "" : s).replace(/[&<>"']/g, (c) => ESCAPES[c]);
  }

  /* el("td", {class: "num", text: "12"}, child, ...): attrs may hold class, text, dataset,
     onEVENT handlers and attributes (true: present, null/undefined/false: left out); a string
     is the class alone: el("span", "t-name", "Quầy 3") */
  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    if (typeof attrs === "string") attrs = {class: attrs};
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === null || v === undefined || v === false) continue;
      if (k === "text") node.textContent = v;
      else if (k === "class") node.className = v;
      else if (k === "dataset") Object.assign(node.dataset, v);
      else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
      else if (v === true) node.setAttribute(k, "");
      else node.setAttribute(k, v);
    }
    for (const c of children.flat()) {
      if (c === null || c === undefined || c === false) continue;
      node.append(c.nodeType ? c : document.createTextNode(String(c)));
    }
    return node;
  }

  const pad2 = (n) => String(n).padStart(2, "0");

  /* a duration in seconds: 754 → "12:34"; 3700 → "1:01:40"; null → "—" */
  function dur(s) {
    if (s === null || s === undefined || Number.isNaN(Number(s))) return "—";
    s = Math.round(s);
    const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), sec = s % 60;
    return h ? `${h}:${pad2(m)}:${pad2(sec)}` : `${m}:${pad2(sec)}`;
  }

  /* an estimated wait in whole minutes, at least one */
  const waitMinutes = (seconds) => Math.max(1, Math.round((seconds || 0) / 60));

  /* "~5 phút" (or "~5 min" in English); null → "—" */
  function fmtWait(seconds) {
    if (seconds === null || seconds === undefined) return "—";
    const m = waitMinutes(seconds);
    return lang === "en" ? `~${m} min` : `~${m} phút`;
  }

  /* [Vietnamese, English] of an estimated wait, with hours: ["~1 giờ 5 phút", "~1 h 5 min"];
     ["Không phải chờ", "no wait"] for none; ["", ""] when unknown */
  function waitText(seconds) {
    if (seconds === null || seconds === undefined) return ["", ""];
    if (seconds <= 0) return ["Không phải chờ", "no wait"];
    const m = waitMinutes(seconds);
    if (m < 60) return [`~${m} phút`, `~${m} min`];
    const h = Math.floor(m / 60), rest = m % 60;
    return [rest ? `~${h} giờ ${rest} phút` : `~${h} giờ`, `~${h} h ${rest} min`];
  }

  /* a random UUID v4 for Idempotency-Key (one per tap or press); crypto.randomUUID exists only
     on https and localhost, getRandomValues everywhere */
  function uuid() {
    if (window.crypto && typeof window.crypto.randomUUID === "function") {
      try { return window.crypto.randomUUID(); } catch (e) { /* not a secure context */ }
    }
    const b = new Uint8Array(16);
    window.crypto.getRandomValues(b);
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    const h = Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
  }

  window.Layso = {
    init(opts) {
      token = (opts && opts.device) ? deviceToken() : null;
      return token;
    },
    get token() { return token; },
    tokenRefused: false,
    setLang(l) { lang = l === "en" ? "en" : "vi"; },
    get lang() { return lang; },
    api, whoami, connect, fmtWait, params, uuid,
    $, esc, el, dur, sleep, waitMinutes, waitText,
  };
})();
