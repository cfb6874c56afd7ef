/* The clerk's counter page: choose a counter, then call, serve and move tickets.
 *
 * Every action goes through the HTTP API (one request at a time: the buttons are disabled while
 * one is in flight, so a double press never acts twice); the waiting list, the hold list and the
 * counters follow the hall's hub live, so another counter's call removes a ticket at once.
 */
(function () {
  "use strict";

  const {$, esc} = Layso;
  const bi = (vi, en) => `${esc(vi)} <small>${esc(en)}</small>`;

  const KEYS = {
    Enter: "next", F1: "next", F2: "recall", F3: "start", F4: "finish", F6: "no-show",
    F7: "hold", F8: "transfer", F9: "call", F10: "reprint", F11: "pause",
  };
  const LIST_LIMIT = 200;

  const st = {
    me: null,
    hall: null,
    info: {},
    counters: new Map(),   // number → counter
    services: new Map(),   // code → service summary
    reasons: new Map(),    // priority code → {name, name_en}
    tickets: new Map(),    // id → ticket (waiting or held only)
    mine: null,            // my counter number, or null
    screen: "loading",
    busy: false,
    reprint: false,
    skew: 0,               // server clock − local clock, ms
    conn: null,
    expired: false,
  };

  Layso.init({device: false});
  Layso.setLang("vi");

  // --- small helpers ------------------------------------------------------------------------

  function serverNow() { return Date.now() + st.skew; }

  function dur(ms) {  /* milliseconds, counted in whole seconds: "12:34" */
    if (ms === null || ms === undefined || isNaN(ms)) return "—";
    return Layso.dur(Math.max(0, Math.floor(ms / 1000)));
  }

  function since(iso, until) {
    if (!iso) return null;
    return (until ? Date.parse(until) : serverNow()) - Date.parse(iso);
  }

  function serviceName(code) {
    const s = st.services.get(code);
    return s ? s.name : code;
  }

  function serviceNameEn(code) {
    const s = st.services.get(code);
    return s ? (s.name_en || "") : "";
  }

  function priorityName(code) {
    if (!code) return "";
    const r = st.reasons.get(code);
    return r ? r.name : code;
  }

  function myCounter() { return st.mine === null ? null : st.counters.get(st.mine) || null; }

  function current() {
    const c = myCounter();
    return c ? c.ticket : null;
  }

  function say(text, kind) {
    const el = st.screen === "chooser" ? $("chooser-msg") : $("msg");
    el.className = "msg " + (kind || "ok");
    el.innerHTML = text;
  }

  function apiError(r) {
    if (r.error && r.error.message) return esc(r.error.message);
    return bi("Thao tác không thành công.", "The action failed.");
  }

  function showExpired() {
    if (st.expired) return;
    st.expired = true;
    if (st.conn) st.conn.close();
    $("expired").hidden = false;
    $("expired-link").focus();
    setTimeout(() => { window.location.href = $("expired-link").getAttribute("href"); }, 4000);
  }

  // counter actions whose repeat the server answers once (Idempotency-Key)
  const ONCE = /\/counters\/\d+\/(next|recall|start|finish|no-show|hold|unhold|call|transfer)$/;

  // every call goes through here: one at a time, 401 → sign in again
  async function call(method, path, body) {
    // one Idempotency-Key per press: a retry after a lost answer never acts twice
    const key = method === "POST" ? Layso.uuid() : undefined;
    let r = await Layso.api(method, path, body, {key});
    if (r.status === 0 && ONCE.test(path)) {
      r = await Layso.api(method, path, body, {key});  // the server answers a repeat once
    }
    if (r.status === 401) showExpired();
    return r;
  }

  // --- state from the hub -------------------------------------------------------------------

  function keepTicket(t) {
    if (!t || typeof t.id !== "number") return;
    if (t.status === "waiting" || t.status === "held") st.tickets.set(t.id, t);
    else st.tickets.delete(t.id);
  }

  function setCounter(c) {
    const old = st.counters.get(c.number) || {};
    const merged = Object.assign({}, old, c);
    st.counters.set(c.number, merged);
    // one counter per clerk: a clerk who opens here has left wherever they were
    if (merged.clerk && merged.state !== "closed") {
      for (const other of st.counters.values()) {
        if (other.number !== merged.number && other.clerk === merged.clerk) {
          other.clerk = null;
          other.clerk_name = null;
          other.state = "closed";
        }
      }
    }
  }

  function findMine() {
    if (!st.me) return null;
    for (const c of st.counters.values()) {
      if (c.clerk === st.me.name && c.state !== "closed") return c.number;
    }
    return null;
  }

  function onSnapshot(state) {
    st.skew = Date.parse(state.at) - Date.now();
    st.info = state.info || {};
    $("hall-name").textContent = st.info.name || state.hall;
    st.services.clear();
    for (const s of state.services || []) st.services.set(s.code, s);
    st.reasons.clear();
    for (const r of state.priority_reasons || []) st.reasons.set(r.code, r);
    renderPauseReasons(st.info.pause_reasons);
    st.counters.clear();
    for (const c of state.counters || []) setCounter(c);
    st.tickets.clear();
    for (const t of state.waiting || []) keepTicket(t);
    for (const t of state.held || []) keepTicket(t);
    afterChange(true);
    tick();
  }

  function onEvent(name, body) {
    if (body.ticket && name.startsWith("ticket.")) keepTicket(body.ticket);
    if (name === "counter.changed") {
      const old = st.counters.get(body.counter);
      setCounter({number: body.counter, state: body.state, clerk: body.clerk,
                  clerk_name: body.clerk_name !== undefined ? body.clerk_name
                    : old && old.clerk === body.clerk ? old.clerk_name : null,
                  ticket: body.ticket, pause_reason: body.pause_reason});
      if (body.ticket) keepTicket(body.ticket);
    } else if (name === "queue.changed") {
      const s = st.services.get(body.service);
      if (s) { s.waiting = body.waiting; s.estimated_wait_s = body.estimated_wait_s; }
    }
    afterChange(false);
  }

  function afterChange(fromSnapshot) {
    const mine = findMine();
    const was = st.mine;
    st.mine = mine;
    if (st.screen === "loading") {
      show(mine === null ? "chooser" : "work");
      return;
    }
    if (st.screen === "work" && mine === null && !st.busy) {
      show("chooser");
      say(bi(`Bạn không còn làm việc tại quầy ${was}.`, `You are no longer at counter ${was}.`),
          "warn");
      return;
    }
    if (st.screen === "work" && mine !== was && mine !== null) loadFigures();
    render();
    if (fromSnapshot) loadFigures();
  }

  // --- screens ------------------------------------------------------------------------------

  function show(screen) {
    st.screen = screen;
    $("loading").hidden = true;
    $("chooser").hidden = screen !== "chooser";
    $("work").hidden = screen !== "work";
    $("btn-change").hidden = screen !== "work";
    $("btn-leave").hidden = screen !== "work";
    if (screen === "work") loadFigures();
    render();
  }

  function render() {
    if (st.screen === "chooser") renderChooser();
    if (st.screen === "work") renderWork();
    const c = myCounter();
    $("where").innerHTML = c && st.screen === "work"
      ? `<b>Quầy ${esc(c.number)}</b> ${esc(c.name && c.name.replace(/^Quầy \d+\s*-\s*/, "") || "")}`
      : bi("Chọn quầy", "Choose a counter");
  }

  function counterStateLabel(c) {
    if (c.state === "open") return bi("Đang mở", "Open");
    if (c.state === "paused") return bi("Tạm dừng", "Paused");
    return bi("Đóng", "Closed");
  }

  function renderChooser() {
    const grid = $("counter-grid");
    const mine = st.mine;
    const cards = [];
    for (const c of st.counters.values()) {
      const isMine = c.number === mine;
      const taken = c.clerk && c.clerk !== st.me.name && c.state !== "closed";
      const areas = (c.services || []).map((code) => esc(serviceName(code))).join(" · ");
      const who = isMine ? bi("Quầy của bạn", "Your counter")
        : taken ? `${esc(c.clerk_name || c.clerk)}`
        : bi("Trống", "Free");
      cards.push(`
        <button type="button" class="counter-card ${isMine ? "mine" : ""} ${taken ? "taken" : ""}"
                data-counter="${esc(c.number)}" ${taken ? "disabled" : ""}
                title="${taken ? "Đã có cán bộ khác · Another clerk is here" : ""}">
          <span class="cc-num">Quầy ${esc(c.number)}</span>
          <span class="cc-areas">${areas}</span>
          <span class="cc-foot"><span class="pill ${esc(c.state)}">${counterStateLabel(c)}</span>
            <span class="cc-who">${who}</span></span>
        </button>`);
    }
    grid.innerHTML = cards.join("");
  }

  function setEnabled(act, on, why) {
    for (const b of document.querySelectorAll(`[data-act="${act}"]`)) {
      b.disabled = !on || st.busy;
      if (why !== undefined) b.title = why;
    }
  }

  function renderWork() {
    const c = myCounter();
    if (!c) return;
    const t = c.ticket;
    const s = t ? t.status : null;
    const open = c.state === "open";

    // the current ticket
    const statusEl = $("cur-status");
    if (c.state === "paused") {
      statusEl.className = "pill paused";
      statusEl.innerHTML = bi("Tạm dừng", "Paused");
    } else if (s === "called") {
      statusEl.className = "pill called";
      statusEl.innerHTML = bi("Đang gọi", "Called");
    } else if (s === "serving") {
      statusEl.className = "pill serving";
      statusEl.innerHTML = bi("Đang phục vụ", "Serving");
    } else {
      statusEl.className = "pill idle";
      statusEl.innerHTML = bi("Chưa có số", "No ticket");
    }
    $("cur-number").textContent = t ? t.display_number : "";
    $("cur-number").hidden = !t;
    const prio = $("cur-priority");
    prio.hidden = !(t && t.priority);
    if (t && t.priority) prio.innerHTML = `Ưu tiên: ${esc(priorityName(t.priority))} <small>Priority</small>`;
    if (t) {
      let area = `<b>${esc(serviceName(t.service))}</b><small class="en">${esc(serviceNameEn(t.service))}</small>`;
      if (t.issued_service && t.issued_service !== t.service) {
        area += `<span class="from">${bi("Chuyển từ " + serviceName(t.issued_service),
                                         "transferred")}</span>`;
      }
      $("cur-service").innerHTML = area;
    } else if (c.state === "paused") {
      $("cur-service").innerHTML = bi("Nhấn Tiếp tục (F11) để làm việc lại", "Press Resume (F11)");
    } else {
      $("cur-service").innerHTML =
        `Nhấn <kbd>Enter</kbd> để gọi số tiếp theo <small>Press Enter to call the next number</small>`;
    }
    $("cur-facts").hidden = !t;
    const results = !!t && t.service_kind === "results" && (s === "called" || s === "serving");
    $("dossier").hidden = !results;
    if (results && document.activeElement !== $("dossier-code")) {
      $("dossier-code").value = t.dossier_code || "";
    }
    $("current").className = "current " + (c.state === "paused" ? "paused" : s || "idle");
    const banner = $("paused-banner");
    banner.hidden = c.state !== "paused";
    if (c.state === "paused") {
      banner.innerHTML = `Quầy đang tạm dừng: <b>${esc(c.pause_reason || "")}</b> <small>Counter paused</small>`;
    }
    renderTimes();

    // the buttons the state allows; "next" while serving finishes that visit first
    const nextBtn = document.querySelector('.act[data-act="next"]');
    const nextMode = s === "serving" ? "finish-next" : "next";
    if (nextBtn.dataset.mode !== nextMode) {
      nextBtn.dataset.mode = nextMode;
      nextBtn.innerHTML = s === "serving"
        ? `<kbd>Enter · F1</kbd><b>Xong, gọi số tiếp</b><small>Finish &amp; call next</small>`
        : `<kbd>Enter · F1</kbd><b>Gọi số tiếp</b><small>Call next</small>`;
    }
    setEnabled("next", open && (!t || s === "serving"));
    setEnabled("recall", open && s === "called");
    setEnabled("start", s === "called");
    setEnabled("finish", s === "serving");
    setEnabled("no-show", s === "called");
    setEnabled("hold", s === "called" || s === "serving");
    setEnabled("transfer", s === "called" || s === "serving");
    setEnabled("call", open && !t);
    setEnabled("reprint", st.reprint && !!t,
               st.reprint ? "In lại phiếu của số hiện tại · Reprint the current ticket"
                          : "Máy chủ chưa hỗ trợ in lại · Reprinting is not available on this server");
    const pause = $("btn-pause");
    if (c.state === "paused") {
      pause.dataset.mode = "resume";
      pause.innerHTML = `<kbd>F11</kbd><b>Tiếp tục</b><small>Resume</small>`;
      pause.classList.add("primary");
      setEnabled("pause", true);
    } else {
      pause.dataset.mode = "pause";
      pause.innerHTML = `<kbd>F11</kbd><b>Tạm dừng</b><small>Pause</small>`;
      pause.classList.remove("primary");
      setEnabled("pause", open && !t);
    }
    $("btn-leave").disabled = st.busy || !!t;
    $("btn-change").disabled = st.busy || !!t;
    renderLists();
  }

  function renderTimes() {
    const t = current();
    if (t) {
      $("f-waited").textContent = dur(since(t.issued_at, t.first_called_at));
      $("f-calls").textContent = String(t.call_count || 0);
      if (t.status === "serving") {
        $("f-since-label").innerHTML = bi("Đang phục vụ", "Serving for");
        $("f-since").textContent = dur(since(t.started_at));
      } else {
        $("f-since-label").innerHTML = bi("Từ lúc gọi", "Since call");
        $("f-since").textContent = dur(since(t.called_at));
      }
    }
    for (const el of document.querySelectorAll("#queue [data-issued]")) {
      el.textContent = dur(since(el.dataset.issued));
    }
  }

  // exactly the order in which the engine calls them under the strict policy:
  // tickets sent to this counter, then priority, then the others; oldest first in each
  function queueFor(c) {
    const areas = new Set(c.services || []);
    const age = (t) => Date.parse(t.issued_at);
    const byAge = (a, b) => (age(a) - age(b)) || (a.id - b.id);
    const direct = [], prio = [], normal = [];
    for (const t of st.tickets.values()) {
      if (t.status !== "waiting") continue;
      if (t.target_counter === c.number) direct.push(t);
      else if (t.target_counter === null && areas.has(t.service)) (t.priority ? prio : normal).push(t);
    }
    return [...direct.sort(byAge), ...prio.sort(byAge), ...normal.sort(byAge)];
  }

  function renderLists() {
    const c = myCounter();
    const q = queueFor(c);
    $("queue-count").textContent = String(q.length);
    $("queue-empty").hidden = q.length > 0;
    const policy = st.info.priority_policy;
    const note = $("queue-note");
    note.hidden = !policy || policy === "strict";
    if (!note.hidden) {
      note.innerHTML = bi("Thứ tự hiển thị: ưu tiên trước; quầy gọi theo chính sách " +
                          (policy === "interleaved" ? "xen kẽ" : "theo thời gian chờ") + ".",
                          "Listed priority first; the hall's policy is " + policy + ".");
    }
    const rows = q.slice(0, LIST_LIMIT).map((t, i) => `
      <li class="trow ${t.priority ? "prio" : ""}" data-id="${t.id}" data-number="${esc(t.number)}"
          data-service="${esc(t.service)}" title="Nhấn để gọi số này · Click to call this number">
        <span class="pos">${i + 1}</span>
        <span class="num">${esc(t.display_number)}</span>
        <span class="area">${esc(serviceName(t.service))}
          ${t.priority ? `<span class="star" title="${esc(priorityName(t.priority))}">★ Ưu tiên</span>` : ""}
          ${t.target_counter === c.number ? `<span class="direct">${bi("Chuyển đến quầy", "sent here")}</span>` : ""}
        </span>
        <span class="wait" data-issued="${esc(t.issued_at)}">${dur(since(t.issued_at))}</span>
      </li>`);
    if (q.length > LIST_LIMIT) {
      rows.push(`<li class="more">… ${bi(`và ${q.length - LIST_LIMIT} số khác`, "more")}</li>`);
    }
    $("queue").innerHTML = rows.join("");

    const held = [...st.tickets.values()]
      .filter((t) => t.status === "held" && t.counter === c.number)
      .sort((a, b) => a.id - b.id);
    $("held-count").textContent = String(held.length);
    $("held-empty").hidden = held.length > 0;
    const canUnhold = c.state === "open" && !c.ticket && !st.busy;
    $("held").innerHTML = held.map((t) => `
      <li class="trow held" data-id="${t.id}">
        <span class="held-what"><span class="num">${esc(t.display_number)}</span>
          <span class="area">${esc(serviceName(t.service))}</span></span>
        <button type="button" class="unhold" data-act="unhold" data-ticket="${t.id}"
                ${canUnhold ? "" : "disabled"}>Gọi lại số tạm giữ <small>Bring back</small></button>
      </li>`).join("");
  }

  // --- figures ------------------------------------------------------------------------------

  let figuresTimer = null;
  function loadFigures() {
    clearTimeout(figuresTimer);
    figuresTimer = setTimeout(async () => {
      if (!st.hall || st.expired) return;
      const r = await call("GET", `/halls/${st.hall}/me/today`);
      if (!r.ok) return;
      const f = r.body.today;
      $("fig-served").textContent = String(f.served);
      $("fig-mean").textContent = f.mean_service_s === null ? "—" : dur(f.mean_service_s * 1000);
      const rate = f.satisfaction_rate;
      const sat = $("fig-sat");
      sat.textContent = rate === null ? "—" : `${Math.round(rate * 1000) / 10}%`;
      sat.title = `${f.satisfied}/${f.ratings} lượt đánh giá · ratings`;
      sat.classList.toggle("below", rate !== null && rate < (f.satisfaction_target || 0.95));
    }, 150);
  }

  // --- actions ------------------------------------------------------------------------------

  function setBusy(on) {
    st.busy = on;
    document.body.classList.toggle("busy", on);
    render();
  }

  async function act(path, body, done) {
    if (st.busy || st.expired) return null;
    setBusy(true);
    const t0 = performance.now();
    let r;
    try {
      r = await call("POST", path, body || {});
    } finally {
      setBusy(false);
    }
    $("msg").dataset.ms = String(Math.round(performance.now() - t0));
    if (r.status === 401) return r;
    if (!r.ok) {
      say(apiError(r), "error");
      return r;
    }
    if (r.body && r.body.counter) {
      setCounter(r.body.counter);
      afterChange(false);
    } else if (r.body && "ticket" in r.body && st.mine !== null) {
      // the response is as fresh as the hub's events: show the result at once
      const c = myCounter();
      const t = r.body.ticket;
      if (t) keepTicket(t);
      if (t && t.counter === c.number && (t.status === "called" || t.status === "serving")) {
        setCounter({number: c.number, ticket: t});
      } else if (t || path.endsWith("/next")) {
        setCounter({number: c.number, ticket: null});
      }
      render();
    }
    if (done) say(done(r.body), "ok");
    loadFigures();
    return r;
  }

  const counterPath = (action) => `/halls/${st.hall}/counters/${st.mine}/${action}`;

  async function doAction(name) {
    if (st.busy || st.expired || st.screen !== "work" || st.mine === null) return;
    const btn = document.querySelector(`.act[data-act="${name}"]`);
    if (btn && btn.disabled) return;
    const t = current();
    const num = t ? t.display_number : "";
    switch (name) {
      case "next":
        return act(counterPath("next"), {}, (b) => b.ticket
          ? bi(`Đã gọi số ${b.ticket.display_number} đến quầy ${st.mine}.`, "Called.")
          : bi("Không còn ai đang chờ.", "Nobody is waiting."));
      case "recall":
        return act(counterPath("recall"), {}, (b) =>
          bi(`Đã gọi lại số ${b.ticket.display_number} (lần ${b.ticket.call_count}).`, "Recalled."));
      case "start":
        return act(counterPath("start"), {}, () => bi(`Bắt đầu phục vụ số ${num}.`, "Serving."));
      case "finish":
        // the citizen's rating arrives at the pad: look at the figures again once it is likely in
        setTimeout(loadFigures, 25000);
        return act(counterPath("finish"), {}, () =>
          bi(`Đã hoàn thành số ${num}. Mời công dân đánh giá.`, "Finished; the citizen may rate."));
      case "no-show":
        return act(counterPath("no-show"), {}, () => bi(`Số ${num}: vắng mặt.`, "No-show."));
      case "hold":
        return act(counterPath("hold"), {}, () => bi(`Đã tạm giữ số ${num}.`, "On hold."));
      case "transfer":
        return openTransfer();
      case "call":
        return openCall();
      case "reprint":
        return act(`/halls/${st.hall}/tickets/${t.id}/reprint`, {}, () =>
          bi(`Đã gửi lệnh in lại số ${num}.`, "Reprint sent."));
      case "pause": {
        const c = myCounter();
        if (c && c.state === "paused") {
          return act(counterPath("resume"), {}, () => bi("Quầy làm việc trở lại.", "Resumed."));
        }
        return openPause();
      }
      default:
        return null;
    }
  }

  async function unhold(ticketId) {
    const t = st.tickets.get(ticketId);
    return act(counterPath("unhold"), {ticket: ticketId}, (b) =>
      bi(`Đã gọi lại số tạm giữ ${b.ticket ? b.ticket.display_number : (t && t.display_number)}.`,
         "Brought back."));
  }

  // --- dialogs ------------------------------------------------------------------------------

  function openTransfer() {
    const t = current();
    if (!t) return;
    $("transfer-number").textContent = t.display_number;
    const services = [...st.services.values()].filter((s) => s.active !== false);
    $("transfer-services").innerHTML = services.map((s) => `
      <button type="button" class="choice" data-to-service="${esc(s.code)}"
              ${s.code === t.service ? "disabled" : ""}>${esc(s.name)}
        <small>${esc(s.name_en || "")} · ${esc(s.waiting)} chờ · waiting</small></button>`).join("");
    const others = [...st.counters.values()].filter((c) => c.number !== st.mine);
    $("transfer-counters").innerHTML = others.map((c) => `
      <button type="button" class="choice" data-to-counter="${esc(c.number)}">Quầy ${esc(c.number)}
        <span class="areas">${esc((c.services || []).map(serviceName).join(", "))}</span>
        <small>${c.state === "open" ? "đang mở · open" : c.state === "paused" ? "tạm dừng · paused" : "đóng · closed"}</small>
      </button>`).join("");
    $("dlg-transfer").showModal();
    const first = $("transfer-services").querySelector("button:not([disabled])");
    if (first) first.focus();
  }

  async function transferTo(body) {
    $("dlg-transfer").close();
    const t = current();
    const num = t ? t.display_number : "";
    const where = body.service ? `lĩnh vực ${serviceName(body.service)}` : `quầy ${body.counter}`;
    return act(counterPath("transfer"), body, () =>
      bi(`Đã chuyển số ${num} sang ${where}.`, "Transferred."));
  }

  function openCall(prefill) {
    const c = myCounter();
    const sel = $("call-service");
    const mineFirst = [...(c.services || [])];
    const rest = [...st.services.keys()].filter((code) => !mineFirst.includes(code));
    sel.innerHTML = [...mineFirst, ...rest].map((code) =>
      `<option value="${esc(code)}">${esc(serviceName(code))}</option>`).join("");
    if (prefill) sel.value = prefill.service;
    $("call-number").value = prefill ? prefill.display : "";
    $("dlg-call").returnValue = "";
    $("dlg-call").showModal();
    $("call-number").focus();
    $("call-number").select();
  }

  function parseNumber(text) {
    const digits = String(text || "").replace(/\D/g, "");
    if (!digits || digits.length > 7) return null;
    return parseInt(digits, 10);
  }

  function openPause() {
    $("pause-other").hidden = true;
    $("pause-ok").hidden = true;
    $("pause-text").value = "";
    $("dlg-pause").returnValue = "";
    $("dlg-pause").showModal();
    const first = $("pause-reasons").querySelector("button");
    if (first) first.focus();
  }

  /* the hall's pause reasons (a manager edits the list), then "Khác…" for free text */
  function renderPauseReasons(list) {
    if (!Array.isArray(list) || !list.length) return; /* keep the page's own buttons */
    const buttons = list.map((r) => Layso.el("button",
      {type: "button", class: "choice", dataset: {reason: r.code, label: r.vi}},
      r.vi, " ", Layso.el("small", {}, r.en || "")));
    buttons.push(Layso.el("button", {type: "button", class: "choice", dataset: {reason: ""}},
      "Khác… ", Layso.el("small", {}, "Other…")));
    $("pause-reasons").replaceChildren(...buttons);
  }

  function pauseWith(reason) {
    $("dlg-pause").close();
    return act(counterPath("pause"), {reason}, (b) =>
      bi(`Quầy tạm dừng: ${(b && b.counter && b.counter.pause_reason) || reason}.`,
         `Counter paused${b && b.counter && b.counter.pause_reason_en
           ? `: ${b.counter.pause_reason_en}` : ""}.`));
  }

  // --- choosing and leaving the counter -----------------------------------------------------

  async function openCounter(number, move) {
    const r = await act(`/halls/${st.hall}/counters/${number}/open`, {move: !!move}, null);
    if (!r) return;
    if (r.ok) {
      st.mine = findMine();
      show("work");
      say(bi(`Bạn đang làm việc tại quầy ${number}.`, `You are at counter ${number}.`), "ok");
    } else if (r.error && r.error.code === "clerk_elsewhere") {
      const from = r.error.details && r.error.details.counter;
      askMove(from, number);
    }
  }

  function askMove(from, to) {
    $("move-title").textContent = `Bạn đang ở quầy ${from} — chuyển sang quầy ${to}?`;
    $("move-en").textContent = `You are at counter ${from}. Move to counter ${to}?`;
    $("move-ok").innerHTML = bi(`Chuyển sang quầy ${to}`, "Move");
    const dlg = $("dlg-move");
    dlg.returnValue = "";
    dlg.onclose = () => { if (dlg.returnValue === "ok") openCounter(to, true); };
    dlg.showModal();
    $("move-ok").focus();
  }

  function chooseCounter(number) {
    if (st.busy) return;
    const c = st.counters.get(number);
    if (!c) return;
    const here = findMine();
    if (here !== null && here !== number) return askMove(here, number);
    return openCounter(number, false);
  }

  async function leave() {
    const number = st.mine;
    if (number === null) return true;
    const r = await act(counterPath("close"), {}, null);
    if (r && r.ok) {
      st.mine = null;
      show("chooser");
      say(bi(`Bạn đã rời quầy ${number}.`, `You left counter ${number}.`), "ok");
      return true;
    }
    return false;
  }

  // --- wiring -------------------------------------------------------------------------------

  document.addEventListener("click", (e) => {
    const target = e.target instanceof Element ? e.target : null;
    if (!target) return;
    const cancel = target.closest(".dlg-cancel");
    if (cancel) { cancel.closest("dialog").close("cancel"); return; }
    const actBtn = target.closest(".act[data-act]");
    if (actBtn && !actBtn.disabled) { actBtn.blur(); doAction(actBtn.dataset.act); return; }
    const un = target.closest("button.unhold");
    if (un && !un.disabled) { un.blur(); unhold(parseInt(un.dataset.ticket, 10)); return; }
    const card = target.closest(".counter-card");
    if (card && !card.disabled) { chooseCounter(parseInt(card.dataset.counter, 10)); return; }
    const ts = target.closest("[data-to-service]");
    if (ts && !ts.disabled) { transferTo({service: ts.dataset.toService}); return; }
    const tc = target.closest("[data-to-counter]");
    if (tc && !tc.disabled) { transferTo({counter: parseInt(tc.dataset.toCounter, 10)}); return; }
    const reason = target.closest("#pause-reasons [data-reason]");
    if (reason) {
      if (reason.dataset.reason) { pauseWith(reason.dataset.reason); return; }
      $("pause-other").hidden = false;
      $("pause-ok").hidden = false;
      $("pause-text").focus();
      return;
    }
    const row = target.closest("#queue .trow");
    if (row) {
      const c = myCounter();
      if (c && c.state === "open" && !c.ticket && !st.busy) {
        const t = st.tickets.get(parseInt(row.dataset.id, 10));
        if (t) openCall({service: t.issued_service || t.service, display: t.display_number});
      }
    }
  });

  $("dlg-call").addEventListener("close", () => {
    if ($("dlg-call").returnValue !== "ok") return;
    const number = parseNumber($("call-number").value);
    const service = $("call-service").value;
    if (number === null) { say(bi("Số thứ tự không hợp lệ.", "Not a valid number."), "error"); return; }
    act(counterPath("call"), {number, service}, (b) =>
      bi(`Đã gọi số ${b.ticket.display_number} đến quầy ${st.mine}.`, "Called."));
  });
  $("dlg-call").addEventListener("submit", (e) => {
    // keep the dialog open on a number that cannot be one
    if (e.submitter && e.submitter.value === "ok" && parseNumber($("call-number").value) === null) {
      e.preventDefault();
      $("call-number").focus();
    }
  });

  $("dlg-pause").addEventListener("close", () => {
    if ($("dlg-pause").returnValue !== "ok") return;
    const text = $("pause-text").value.trim();
    if (text) pauseWith(text);
  });
  $("dlg-pause").addEventListener("submit", (e) => {
    if (e.submitter && e.submitter.value === "ok" && !$("pause-text").value.trim()) {
      e.preventDefault();
      $("pause-text").focus();
    }
  });

  $("btn-leave").addEventListener("click", () => leave());
  $("btn-change").addEventListener("click", () => { show("chooser"); say("", "ok"); });
  $("logout-form").addEventListener("submit", async (e) => {
    if (st.mine === null) return;
    e.preventDefault();
    if (await leave()) $("logout-form").submit();
  });

  $("dossier").addEventListener("submit", (e) => {
    e.preventDefault();
    const code = $("dossier-code").value.trim();
    act(counterPath("dossier"), {dossier_code: code || null}, (b) =>
      code ? bi(`Đã lưu mã hồ sơ ${code} cho số ${b.ticket.display_number}.`, "Dossier code saved.")
           : bi("Đã xóa mã hồ sơ.", "Dossier code cleared."));
  });

  document.addEventListener("keydown", (e) => {
    if (st.expired) return;
    if (e.target instanceof Element && e.target.id === "dossier-code") return;  // its own form
    if (document.querySelector("dialog[open]")) return;  // the dialog handles its own keys
    const action = KEYS[e.key];
    if (!action) return;
    if (e.key === "Enter" && (e.ctrlKey || e.altKey || e.metaKey || e.shiftKey)) return;
    if (st.screen !== "work") {
      if (e.key !== "Enter") e.preventDefault();  // keep F1 help, F11 full screen from firing
      return;
    }
    e.preventDefault();
    if (!e.repeat) doAction(action);
  });

  // --- start --------------------------------------------------------------------------------

  async function start() {
    const me = await Layso.whoami();
    if (!me || me.kind !== "user") { showExpired(); return; }
    if (!me.hall) {
      $("loading").innerHTML = bi("Tài khoản này không thuộc đơn vị nào.", "This account has no hall.");
      return;
    }
    st.me = me;
    st.hall = me.hall;
    $("who").textContent = me.name;
    $("hall-name").textContent = me.hall_name || me.hall;
    st.reprint = $("counter-main").dataset.reprint === "1";  /* the server serves reprint */
    st.conn = Layso.connect({
      hall: me.hall,
      onSnapshot,
      onEvent,
      onStatus(online) {
        const el = $("conn");
        el.className = "conn " + (online ? "on" : "off");
        el.innerHTML = online ? bi("Trực tuyến", "Online") : bi("Mất kết nối", "Offline");
      },
    });
  }

  function tick() {
    const d = new Date(serverNow());
    $("clock").textContent = d.toLocaleTimeString("vi-VN", {hour: "2-digit", minute: "2-digit",
      timeZone: st.info.timezone || undefined});
    if (st.screen === "work") renderTimes();
  }
  setInterval(tick, 1000);
  setInterval(() => { if (st.screen === "work") loadFigures(); }, 60000);

  start();
})();
