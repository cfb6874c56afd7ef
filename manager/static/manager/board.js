/* Live board: the hall's snapshot over the hub, kept current by its events. */
(function () {
  "use strict";
  const {el, dur, minutes, num, pct, clock, day, badge} = Mgr;
  const {$} = Layso;
  let state = null;
  let skewMs = 0; // server clock − browser clock, so "longest wait" is right on a slow PC
  let figuresTimer = null;
  let renderTimer = null;

  Layso.init({device: false});

  function serverNow() { return Date.now() + skewMs; }

  function onSnapshot(s) {
    state = s;
    skewMs = Date.parse(s.at) - Date.now();
    render();
    loadFigures();
  }

  function upsertWaiting(t) {
    const list = state.waiting.filter((x) => x.id !== t.id);
    if (t.status === "waiting") list.push(t);
    list.sort((a, b) => (a.issued_at < b.issued_at ? -1 : 1));
    state.waiting = list;
  }

  function onEvent(name, body) {
    if (!state) return;
    if (name === "config.changed") { refetch(); return; }
    if (body.ticket && name.startsWith("ticket.")) upsertWaiting(body.ticket);
    if (name === "ticket.called" || name === "ticket.recalled") {
      state.recent_calls = [body.ticket, ...state.recent_calls.filter((t) => t.id !== body.ticket.id)]
        .slice(0, 10);
    }
    if (name === "queue.changed") {
      const s = state.services.find((x) => x.code === body.service);
      if (s) { s.waiting = body.waiting; s.estimated_wait_s = body.estimated_wait_s; }
      else refetch();
    } else if (name === "counter.changed") {
      const c = state.counters.find((x) => x.number === body.counter);
      if (c && c.clerk !== body.clerk) c.clerk_name = null;
      if (c && body.clerk_name !== undefined) c.clerk_name = body.clerk_name;
      if (c) Object.assign(c, {state: body.state, clerk: body.clerk, ticket: body.ticket,
                               pause_reason: body.pause_reason, pause_code: body.pause_code,
                               pause_reason_en: body.pause_reason_en});
      else refetch();
    } else if (name === "alert.raised") {
      state.alerts = [...(state.alerts || []).filter((a) => a.key !== body.key), body];
    } else if (name === "alert.cleared") {
      state.alerts = (state.alerts || []).filter((a) => a.key !== body.key);
    } else if (name === "device.status") {
      const d = (state.devices || []).find((x) => x.device === body.device);
      if (d) {
        Object.assign(d, {online: body.online, last_seen: body.at, version: body.version ?? d.version,
                          audio_blocked: body.audio_blocked ?? d.audio_blocked});
        if (body.paper) d.paper = body.paper;
      } else refetch();
    } else if (name === "printer.status") {
      const d = (state.devices || []).find((x) => x.device === body.device);
      if (d) d.paper = body.state;
      const p = state.printers.find((x) => x.device === body.device);
      const at = body.at;
      if (p) Object.assign(p, {state: body.state, detail: body.detail || null, at});
      else state.printers.push({device: body.device, name: body.device_name || `#${body.device}`,
                                state: body.state, detail: body.detail || null, at});
    }
    scheduleRender();
    if (/^ticket\.(issued|called|finished|no_show|rated|cancelled)$/.test(name)) scheduleFigures();
  }

  async function refetch() {
    const r = await Layso.api("GET", `/halls/${Mgr.hall}/state`);
    if (r.ok) onSnapshot(r.body);
  }

  function scheduleRender() {
    if (renderTimer) return;
    renderTimer = setTimeout(() => { renderTimer = null; render(); }, 100);
  }

  function scheduleFigures() {
    clearTimeout(figuresTimer);
    figuresTimer = setTimeout(loadFigures, 1500);
  }

  async function loadFigures() {
    const r = await Layso.api("GET", `/halls/${Mgr.hall}/reports/summary?by=day`);
    if (!r.ok) return;
    const t = r.body.total;
    $("k-issued").textContent = num(t.issued);
    $("k-served").textContent = num(t.served);
    $("k-noshow").textContent = `vắng mặt ${num(t.no_show)} · no-show`;
    $("k-median").textContent = minutes(t.wait_median_s);
    $("k-p90").textContent = t.wait_p90_s === null ? "chưa gọi số nào · none called"
      : `90 %: ${minutes(t.wait_p90_s)} · đúng hạn ${pct(t.within_target_rate)}`;
    $("k-sat").textContent = pct(t.satisfaction_rate);
    $("k-sat-note").textContent = `mục tiêu ${pct(t.satisfaction_target)} · ${num(t.rated)} lượt`;
    const sat = $("kpi-sat");
    sat.classList.toggle("good", t.meets_target === true);
    sat.classList.toggle("bad", t.meets_target === false);
    const within = t.within_target_rate;
    $("kpi-wait").classList.toggle("bad", within !== null && within < 0.8);
  }

  function policyText(info) {
    const p = Mgr.POLICIES[info.priority_policy] || [info.priority_policy, ""];
    let note = p[1];
    if (info.priority_policy === "interleaved")
      note = `1 số ưu tiên sau mỗi ${info.priority_interleave} số thường`;
    if (info.priority_policy === "weighted")
      note = `thời gian chờ ưu tiên × ${num(info.priority_weight, 1)}`;
    return [p[0], note];
  }

  function render() {
    if (!state) return;
    $("today").textContent = day(state.business_date);
    const [policy, note] = policyText(state.info);
    $("k-policy").textContent = policy;
    $("k-policy-note").textContent = note;
    const open = state.counters.filter((c) => c.state === "open").length;
    $("k-waiting").textContent = num(state.waiting.length);
    $("k-counters").textContent = `${open}/${state.counters.length} quầy đang mở · open`;
    renderAreas();
    renderPrinters();
    renderRecent();
    renderCounters();
    renderAlerts();
    renderDevices();
  }

  const LEVELS = {critical: ["Nghiêm trọng", "Critical"], warning: ["Cảnh báo", "Warning"]};
  const KINDS = {
    ticket_wait: ["Chờ quá lâu", "Waiting past target"],
    queue_length: ["Hàng chờ dài", "Long queue"],
    counter_idle: ["Quầy rảnh khi có người chờ", "Counter idle while people wait"],
    counter_paused: ["Quầy tạm dừng lâu", "Counter paused long"],
    printer_paper: ["Giấy in", "Printer paper"],
    device_offline: ["Thiết bị mất kết nối", "Device offline"],
  };
  const DEVICE_KINDS = {
    kiosk: "Ki-ốt · kiosk", display: "Màn hình sảnh · display",
    "counter-display": "Màn hình quầy · counter display", "rating-pad": "Bảng đánh giá · rating pad",
    "print-agent": "Trình in · print agent",
  };

  function renderAlerts() {
    const rank = {critical: 0, warning: 1};
    const list = [...(state.alerts || [])].sort((a, b) =>
      (rank[a.level] ?? 2) - (rank[b.level] ?? 2) || a.seq - b.seq);
    const count = $("alert-count");
    count.textContent = num(list.length);
    count.className = "badge " + (list.some((a) => a.level === "critical") ? "b-error"
      : list.length ? "b-paper_low" : "b-ok");
    $("alerts").replaceChildren(...(list.length ? list.map((a) => el("li",
      {class: `alert level-${a.level}`, dataset: {key: a.key, kind: a.kind}},
      el("span", {class: `badge ${a.level === "critical" ? "b-error" : "b-paper_low"}`,
                  title: (LEVELS[a.level] || [])[1] || ""}, (LEVELS[a.level] || [a.level])[0]),
      " ", el("strong", {}, (KINDS[a.kind] || [a.kind])[0]), " ",
      el("span", {class: "msg"}, a.message), " ",
      el("small", {lang: "en", class: "muted"}, a.message_en), " ",
      el("span", {class: "muted"}, `từ ${clock(a.at)} · since`)))
      : [el("li", {class: "muted none"}, "Không có cảnh báo · no alerts")]));
  }

  function renderDevices() {
    const body = $("devices").querySelector("tbody");
    const list = state.devices || [];
    body.replaceChildren(...list.map((d) => el("tr",
      {dataset: {device: d.device, online: String(d.online)}},
      el("td", {}, el("strong", {}, d.name), el("div", {class: "hint"}, DEVICE_KINDS[d.kind] || d.kind)),
      el("td", {}, d.online === null || d.online === undefined
        ? el("span", {class: "badge b-none"}, "Chưa báo · not reported")
        : d.online ? el("span", {class: "badge b-ok"}, "Trực tuyến · online")
          : el("span", {class: "badge b-offline"}, "Mất kết nối · offline")),
      el("td", {}, d.last_seen ? clock(d.last_seen) : "—"),
      el("td", {}, d.version || "—"),
      el("td", {}, d.paper ? badge(Mgr.PRINTER_STATES, d.paper) : "—"),
      el("td", {}, d.audio_blocked === true
        ? el("span", {class: "badge b-paper_low"}, "Bị chặn tự phát · autoplay blocked")
        : d.audio_blocked === false ? "Bình thường · OK" : "—"))));
  }

  function renderRecent() {
    const items = (state.recent_calls || []).slice(0, 10).map((t) => el("li", {},
      el("span", {}, el("strong", {}, t.display_number), " → ", `Quầy ${t.counter ?? "?"}`),
      el("span", {class: "muted"}, clock(t.called_at))));
    $("recent").replaceChildren(...(items.length ? items
      : [el("li", {class: "muted"}, "Chưa gọi số nào hôm nay · no calls yet")]));
  }

  function renderAreas() {
    const now = serverNow();
    const body = $("areas").querySelector("tbody");
    const rows = state.services.map((s) => {
      const waiting = state.waiting.filter((t) => t.service === s.code);
      const oldest = waiting.length ? Math.min(...waiting.map((t) => Date.parse(t.issued_at))) : null;
      const longest = oldest === null ? null : Math.max(0, (now - oldest) / 1000);
      const target = s.target_wait_min * 60;
      const late = longest !== null && longest > target;
      const share = longest === null ? 0 : Math.min(100, (longest / target) * 100);
      return el("tr", {dataset: {service: s.code}},
        el("td", {}, el("strong", {}, s.name), " ",
           s.open ? null : badge(Mgr.COUNTER_STATES, "closed"),
           el("div", {class: "waitbar"}, el("span", {class: late ? "late" : "", style: `width:${share}%`}))),
        el("td", {class: "num waiting"}, el("strong", {}, num(waiting.length))),
        el("td", {class: "num longest" + (late ? " late" : "")}, longest === null ? "—" : dur(longest)),
        el("td", {class: "num"}, `${s.target_wait_min} phút`),
        el("td", {class: "num"}, waiting.length ? Layso.fmtWait(s.estimated_wait_s) : "—"),
        el("td", {class: "num"}, num(s.open_counters)));
    });
    body.replaceChildren(...rows);
  }

  function renderPrinters() {
    const body = $("printers").querySelector("tbody");
    if (!state.printers.length) {
      body.replaceChildren(el("tr", {}, el("td", {colspan: 3, class: "muted"},
        "Chưa có máy in nào báo trạng thái · no printer has reported yet")));
      return;
    }
    body.replaceChildren(...state.printers.map((p) => el("tr", {dataset: {device: p.device}},
      el("td", {}, p.name),
      el("td", {}, badge(Mgr.PRINTER_STATES, p.state), p.detail ? el("div", {class: "hint"}, p.detail) : null),
      el("td", {}, clock(p.at)))));
  }

  function renderCounters() {
    const now = serverNow();
    const cards = state.counters.map((c) => {
      const t = c.ticket;
      const since = t ? (t.started_at && t.status === "serving" ? t.started_at : t.called_at) : null;
      return el("div", {class: `counter-card state-${c.state}`, dataset: {counter: c.number}},
        el("div", {class: "top"}, el("span", {class: "num"}, `Quầy ${c.number}`),
           badge(Mgr.COUNTER_STATES, c.state)),
        el("div", {class: "meta", title: c.name}, c.name),
        el("div", {class: "ticket"}, t ? t.display_number : "—"),
        t ? el("div", {class: "meta"}, badge(Mgr.STATES, t.status), " ",
               since ? `${dur(Math.max(0, (now - Date.parse(since)) / 1000))}` : "") : null,
        c.state === "paused" && c.pause_reason
          ? el("div", {class: "meta paused", title: c.pause_reason_en || c.pause_reason},
               `Lý do: ${c.pause_reason}`, c.pause_reason_en ? el("small", {}, ` · ${c.pause_reason_en}`) : null)
          : el("div", {class: "meta"}, c.clerk_name || c.clerk || "Chưa có cán bộ · no clerk"));
    });
    $("counters").replaceChildren(...cards);
  }

  function onStatus(online) {
    const s = $("status");
    s.className = "status-dot " + (online ? "online" : "offline");
    s.textContent = online ? "Trực tuyến · live" : "Mất kết nối, đang thử lại… · reconnecting";
  }

  Layso.connect({hall: Mgr.hall, onSnapshot, onEvent, onStatus});
  setInterval(() => { if (state) { renderAreas(); renderCounters(); } }, 1000);
  setInterval(loadFigures, 60000);
})();
