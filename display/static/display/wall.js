/* The hall's wall display: the number being called, every open counter, the queues, notices,
 * and the spoken call. No input: it starts, reconnects and catches up by itself.
 *
 * Zone filter: the display device's own filter (GET /display/settings), overridden by
 * ?services=TP,CT&counters=1,2 in the address. For tests and diagnosis, window.LaysoDisplay
 * exposes the audio log (which calls were played, and how).
 */
(function () {
  "use strict";
  const S = window.LaysoScreen;
  const {$, el} = Layso;
  const HISTORY = 3;            // the call shown big + two before it (all fit at 36 px)
  const SPEAK_WITHIN_MS = 60000; // a call older than this (a late replay) is shown, not spoken
  const RELOAD_SPEAK_MS = 15000; // a screen (re)loaded this soon after a call says it again
  const CHIME_URL = "/static/chime.wav";

  const state = {
    hall: null,
    services: new Map(),  // code → area summary
    counters: new Map(),  // number → {number, name, state, pause_reason, ticket, services}
    calls: [],            // newest first: {id, number, counter, service, serviceName, callCount}
    notices: [],
    info: {},
    businessDate: null,
    filter: {services: [], counters: []},
  };

  /* --- zone filter ------------------------------------------------------------------------ */

  function parseList(text, isNumber) {
    if (text === null || text === undefined) return null;
    const items = String(text).split(",").map((s) => s.trim()).filter(Boolean);
    if (isNumber) return items.filter((s) => /^\d{1,4}$/.test(s)).map(Number);
    return items.filter((s) => /^[A-Za-z0-9_-]{1,20}$/.test(s));
  }

  function applyFilter(fromDevice) {
    const f = fromDevice || {};
    state.filter = {
      services: Array.isArray(f.services) ? f.services.slice() : [],
      counters: Array.isArray(f.counters) ? f.counters.slice() : [],
    };
    const s = parseList(Layso.params.get("services"), false);
    const c = parseList(Layso.params.get("counters"), true);
    if (s !== null) state.filter.services = s;
    if (c !== null) state.filter.counters = c;
  }

  function showsService(code) {
    const f = state.filter;
    if (f.services.length) return f.services.includes(code);
    if (f.counters.length) {  // only counters given: the areas those counters serve
      return f.counters.some((n) => {
        const c = state.counters.get(n);
        return c && (c.services || []).includes(code);
      });
    }
    return true;
  }

  function showsCounter(number) {
    const f = state.filter;
    if (f.counters.length) return f.counters.includes(number);
    if (f.services.length) {
      const c = state.counters.get(number);
      return !c || !c.services || c.services.some((code) => f.services.includes(code));
    }
    return true;
  }

  function showsCall(call) {
    const f = state.filter;
    if (f.services.length && !f.services.includes(call.service)) return false;
    if (f.counters.length && !f.counters.includes(call.counter)) return false;
    return true;
  }

  /* --- rendering -------------------------------------------------------------------------- */

  function renderHall(info) {
    $("hall-name").textContent = info.name || "";
    $("hall-name-en").textContent = info.name_en || "";
    document.title = `${info.name} · Màn hình gọi số`;
  }

  /* A call stays big while its visit goes on: once its counter has moved on (finished, no-show,
   * transferred, held, closed — a counter.changed newer than the call without that ticket),
   * the next call still going on takes its place, or the idle screen. */
  function ongoing(call) {
    const c = state.counters.get(call.counter);
    if (!c || (c.seq || 0) <= (call.seq || 0)) return true;
    const t = counterTicket(c);
    return !!t && t.id === call.id;
  }

  function renderIdle() {
    $("idle-hall").textContent = state.info.name || "";
    const list = $("idle-notices");
    list.replaceChildren();
    for (const n of state.notices.slice(0, 1)) {  // the ticker below carries them all
      const li = el("li", null, n.text);
      if (n.text_en) li.append(el("small", null, n.text_en));
      list.append(li);
    }
  }

  function renderCall(animate) {
    const visible = state.calls.filter(showsCall);
    const call = visible.find(ongoing);
    const box = $("call");
    if (!call) {
      box.dataset.empty = "1";
      delete box.dataset.ticket;
      $("call-number").textContent = "";
      $("call-counter").textContent = "";
      $("call-en").textContent = "";
      $("call-service").textContent = "";
      renderIdle();
    } else {
      delete box.dataset.empty;
      const num = $("call-number");
      num.textContent = call.number;
      num.style.setProperty("--len", String(Math.max(4, call.number.length)));
      $("call-counter").textContent = String(call.counter);
      $("call-en").textContent = call.results
        ? `Number ${call.number}, please go to counter ${call.counter} to collect your results`
        : `Number ${call.number}, please go to counter ${call.counter}`;
      $("call-service").textContent = call.results
        ? `${call.serviceName || ""} · Nhận kết quả`
        : call.serviceName || "";
      box.dataset.ticket = String(call.id);
      box.dataset.counter = String(call.counter);
      if (animate) S.flash(box);
    }
    const list = $("history");
    list.replaceChildren();
    const before = visible.filter((c) => c !== call).slice(0, HISTORY - 1);
    for (const c of before) {
      const li = el("li");
      li.append(el("b", "h-number", c.number), el("span", "h-arrow", "→"),
                el("span", "h-counter", `Quầy ${c.counter}`));
      list.append(li);
    }
    $("history-box").hidden = !call || before.length === 0;
  }

  function counterTicket(c) {
    const t = c.ticket;
    return t && (t.status === "called" || t.status === "serving") ? t : null;
  }

  function renderCounters() {
    const grid = $("counters");
    const shown = [...state.counters.values()]
      .filter((c) => c.state !== "closed" && showsCounter(c.number))
      .sort((a, b) => a.number - b.number);
    const n = shown.length;
    const cols = n <= 4 ? Math.min(2, Math.max(1, n)) : n <= 9 ? 3 : n <= 16 ? 4 : 5;
    const rows = Math.max(1, Math.ceil(n / cols));
    grid.style.gridTemplateColumns = `repeat(${cols}, minmax(0, 1fr))`;
    grid.style.gridTemplateRows = `repeat(${rows}, minmax(0, 1fr))`;
    grid.replaceChildren();
    for (const c of shown) {
      const tile = el("div", `tile state-${c.state}`);
      tile.dataset.counter = String(c.number);
      tile.append(el("span", "t-name", `Quầy ${c.number}`));
      const t = counterTicket(c);
      if (c.state === "paused") {
        const p = el("span", "t-paused");
        p.append(el("b", null, "Tạm dừng"), el("small", null, c.pause_reason || "Paused"));
        tile.append(p);
      } else if (t) {
        tile.append(el("span", "t-number", t.display_number));
      } else {
        tile.append(el("span", "t-idle", "—"));
      }
      grid.append(tile);
    }
    $("no-counter").hidden = n > 0;
  }

  function renderAreas() {
    const box = $("areas");
    const shown = [...state.services.values()]
      .filter((s) => s.active !== false && showsService(s.code))
      .sort((a, b) => (a.position || 0) - (b.position || 0));
    box.replaceChildren();
    const many = shown.length >= 7;  // four to a row, the count alone (see display.css)
    box.classList.toggle("many", many);
    for (const s of shown) {
      const card = el("div", "area");
      card.dataset.service = s.code;
      const name = el("div", "a-name", s.name);
      if (s.name_en) name.append(el("small", null, s.name_en));
      const count = el("span", "a-count", String(s.waiting));
      count.dataset.waiting = String(s.waiting);
      const what = el("span", "a-what");
      what.append(el("span", null, "người chờ"), el("small", null, "waiting"));
      const wait = el("span", "a-wait");
      if (s.open === false) {
        card.classList.add("closed");
        wait.textContent = "Ngừng tiếp nhận";
      } else if (s.exhausted) {
        card.classList.add("closed");
        wait.textContent = "Hết số hôm nay";
      } else if (s.waiting > 0) {
        const est = Math.max(60, s.estimated_wait_s || 0);
        const [vi, en] = Layso.waitText(est);
        wait.textContent = `Chờ ${vi}`;
        wait.title = en;
      } else {
        wait.textContent = "Không phải chờ";
      }
      card.append(name, count, wait);  // a grid: name and wait left, count right
      if (!many) card.append(what);
      box.append(card);
    }
  }

  let tickerKey = null;
  function renderTicker() {
    const box = $("ticker-box");
    const track = $("ticker");
    const key = JSON.stringify(state.notices);
    if (key === tickerKey) return;
    tickerKey = key;
    track.replaceChildren();
    box.hidden = state.notices.length === 0;
    if (!state.notices.length) return;
    const one = el("div", "ticker-run");
    for (const n of state.notices) {
      const item = el("span", "notice", n.text);
      if (n.text_en) item.append(el("small", null, n.text_en));
      one.append(item);
    }
    // two copies side by side scroll as one endless band
    track.append(one, one.cloneNode(true));
    requestAnimationFrame(() => {
      const width = one.getBoundingClientRect().width;
      const pxPerSecond = Math.max(60, window.innerHeight / 12);
      track.style.animationDuration = `${Math.max(20, width / pxPerSecond)}s`;
      track.classList.add("running");
    });
  }

  function renderAll() {
    renderCall(false);
    renderCounters();
    renderAreas();
    renderTicker();
  }

  /* --- the spoken call -------------------------------------------------------------------- */

  const audio = {
    queue: [],
    busy: false,
    log: [],
    count: 0,
    unlocked: true,
    enqueue(call) {
      const item = {number: call.number, counter: call.counter, wav: this.fetchWav(call)};
      this.queue.push(item);
      if (!this.busy) this.run();
    },
    /* the WAV is fetched as soon as the call arrives, so it is ready when its turn comes */
    async fetchWav(call) {
      const ctrl = new AbortController();
      const timer = setTimeout(() => ctrl.abort(), 8000);
      try {
        const q = new URLSearchParams({number: call.number, counter: String(call.counter)});
        const headers = {};
        if (Layso.token) headers.Authorization = "Bearer " + Layso.token;
        const resp = await fetch(
          `/api/v1/halls/${encodeURIComponent(state.hall)}/audio/call.wav?${q}`,
          {headers, credentials: "same-origin", signal: ctrl.signal});
        if (!resp.ok) return null;
        const blob = await resp.blob();
        return {url: URL.createObjectURL(blob), speech: resp.headers.get("X-Layso-Speech") !== "no"};
      } catch (e) {
        return null;
      } finally {
        clearTimeout(timer);
      }
    },
    /* play one sound to its end; false when the browser refuses or the file is bad */
    play(url) {
      return new Promise((resolve) => {
        const a = new Audio();
        let done = false;
        let guard = setTimeout(() => finish(false), 20000);
        const finish = (ok) => {
          if (done) return;
          done = true;
          clearTimeout(guard);
          a.pause();
          a.removeAttribute("src");
          resolve(ok);
        };
        a.addEventListener("ended", () => finish(true));
        a.addEventListener("error", () => finish(false));
        a.addEventListener("loadedmetadata", () => {
          if (Number.isFinite(a.duration)) {
            clearTimeout(guard);
            guard = setTimeout(() => finish(true), (a.duration + 3) * 1000);
          }
        });
        a.src = url;
        const p = a.play();
        if (p && p.catch) {
          p.catch((err) => {
            if (err && err.name === "NotAllowedError") audio.blocked();
            finish(false);
          });
        }
      });
    },
    blocked() {
      if (!this.unlocked) return;
      this.unlocked = false;
      $("sound-blocked").hidden = false;
      if (conn) conn.beat(); /* managers see it now, not at the next beat */
      console.warn("Layso display: the browser blocks autoplay; tap the screen once, or start "
                   + "Chromium with --autoplay-policy=no-user-gesture-required");
    },
    async run() {
      this.busy = true;
      while (this.queue.length) {
        const item = this.queue.shift();
        const wav = await item.wav;
        let kind = "none";
        if (wav && await this.play(wav.url)) kind = wav.speech ? "speech" : "chime";
        else if (await this.play(CHIME_URL)) kind = "chime";
        if (wav) URL.revokeObjectURL(wav.url);
        this.log.push({number: item.number, counter: item.counter, kind});
        if (this.log.length > 50) this.log.shift();
        this.count += 1;
        document.body.dataset.played = String(this.count);
        await Layso.sleep(300);  // a breath between two calls
      }
      this.busy = false;
    },
  };

  /* a screen whose autoplay is blocked gets its sound back on the first tap */
  document.addEventListener("pointerdown", () => {
    if (audio.unlocked) return;
    audio.unlocked = true;
    $("sound-blocked").hidden = true;
    if (conn) conn.beat();
    const a = new Audio(CHIME_URL);
    a.volume = 0.01;
    a.play().catch(() => audio.blocked());
  });

  /* --- hub -------------------------------------------------------------------------------- */

  function fresh(at, within) {
    const t = Date.parse(at);
    return Number.isNaN(t) || S.clock.now().getTime() - t < (within || SPEAK_WITHIN_MS);
  }

  function callFromTicket(t, counter) {
    return {
      id: t.id, number: t.display_number, counter: counter === null || counter === undefined
        ? t.counter : counter,
      service: t.service, serviceName: t.service_name, callCount: t.call_count || 1,
      results: t.service_kind === "results",
    };
  }

  function onSnapshot(s) {
    const before = state.calls[0];
    state.hall = s.hall;
    state.businessDate = s.business_date;
    S.clock.setZone(s.info.timezone);
    S.clock.sync(s.at);
    S.clock.start();
    renderHall(s.info);
    state.info = s.info || {};
    state.services = new Map(s.services.map((x) => [x.code, x]));
    state.counters = new Map(s.counters.map((c) => [c.number, Object.assign({}, c, {seq: s.seq})]));
    state.notices = s.notices || [];
    state.calls = (s.recent_calls || [])
      .filter((t) => t.counter !== null && t.counter !== undefined)
      .map((t) => Object.assign(callFromTicket(t), {at: t.called_at}));
    renderAll();
    const now = state.calls[0];
    // a call made while this screen was away (and too long for a replay): show it, say it
    if (before && now && showsCall(now) && (now.id !== before.id
        || now.callCount !== before.callCount) && fresh(now.at)) {
      renderCall(true);
      audio.enqueue(now);
    } else if (!before && now && showsCall(now) && ongoing(now) && fresh(now.at, RELOAD_SPEAK_MS)) {
      // the screen was (re)loaded a moment after a call: the citizen may not have heard it
      audio.enqueue(now);
    }
    document.body.dataset.ready = "1";
    document.body.dataset.seq = String(s.seq);
    console.info(`Layso display: snapshot of ${s.hall} at seq ${s.seq}`);
  }

  function onCall(body, name) {
    const call = callFromTicket(body.ticket, body.counter);
    if (typeof body.call_count === "number") call.callCount = body.call_count;
    call.at = body.at;
    call.seq = body.seq;
    state.calls = [call, ...state.calls.filter((c) => c.id !== call.id)].slice(0, 50);
    // the call is the counter's news too: the server sends no counter.changed for it here
    // (a call needs the counter open; its clerk stays), so its tile shows the new number now
    const old = state.counters.get(body.counter) || {number: body.counter, services: []};
    state.counters.set(body.counter, Object.assign({}, old, {
      state: "open", ticket: body.ticket, seq: body.seq,
    }));
    renderCounters();
    if (!showsCall(call)) return;
    renderCall(true);
    if (fresh(body.at)) audio.enqueue(call);
    document.body.dataset.lastCall = `${name}:${call.number}:${call.counter}`;
  }

  function onEvent(name, body) {
    document.body.dataset.seq = String(body.seq);
    switch (name) {
      case "ticket.called":
      case "ticket.recalled":
        onCall(body, name);
        break;
      case "counter.changed": {
        const old = state.counters.get(body.counter) || {number: body.counter, services: []};
        state.counters.set(body.counter, Object.assign({}, old, {
          state: body.state, clerk: body.clerk, ticket: body.ticket,
          pause_reason: body.pause_reason === undefined ? old.pause_reason : body.pause_reason,
          seq: body.seq,
        }));
        renderCall(false);
        renderCounters();
        renderAreas();
        break;
      }
      case "queue.changed": {
        const s = state.services.get(body.service);
        if (s) {
          s.waiting = body.waiting;
          s.estimated_wait_s = body.estimated_wait_s;
          renderAreas();
        }
        break;
      }
      default:
        break;
    }
  }

  let conn = null;
  function newDay() {
    // past midnight in the hall: yesterday's calls leave the screen
    if (conn && state.businessDate && S.clock.today() !== state.businessDate) {
      state.businessDate = S.clock.today();
      conn.resync();
    }
  }

  async function start() {
    Layso.init({device: true});
    Layso.setLang("vi");
    const me = await S.whoami();
    if (!me || !me.hall) {
      S.showSetup();
      return;
    }
    state.hall = me.hall;
    const settings = await Layso.api("GET", `/halls/${encodeURIComponent(me.hall)}/display/settings`);
    applyFilter(settings.ok ? settings.body.filter : null);
    conn = Layso.connect({hall: me.hall, onSnapshot, onEvent, onStatus: S.status,
                          health: () => ({audio_blocked: !audio.unlocked})});
    setInterval(newDay, 30000);
    window.LaysoDisplay.conn = conn;
  }

  window.LaysoDisplay = {
    get played() { return audio.log.slice(); },
    get filter() { return state.filter; },
    conn: null,
  };
  start();
})();
