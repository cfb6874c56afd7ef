/* Reports: totals, three charts (Chart.js, vendored) and a table grouped by day/area/counter/clerk/hour. */
(function () {
  "use strict";
  const {el, dur, minutes, hours, num, pct, day} = Mgr;
  const {$} = Layso;
  const form = $("range-form");
  const KEY_LABEL = {
    day: "Ngày · Day", service: "Lĩnh vực · Area", counter: "Quầy · Counter",
    clerk: "Cán bộ · Clerk", hour: "Giờ lấy số · Hour", kind: "Loại lĩnh vực · Kind",
  };
  const BLUE = "#0b4f9c", LIGHT = "#8fb3e0", GREEN = "#2e7d32", AMBER = "#f9a825", RED = "#c62828";
  const charts = {};
  let by = new URLSearchParams(location.search).get("by") || "day";
  const today = Mgr.today;

  Layso.init({device: false});
  if (window.Chart) {
    Chart.defaults.font.family = getComputedStyle(document.body).fontFamily;
    Chart.defaults.font.size = 13;
    Chart.defaults.color = "#1c2430";
    Chart.defaults.animation = false;
    Chart.defaults.maintainAspectRatio = false;
  }

  const initial = new URLSearchParams(location.search);
  // the date fields read dd/mm/yyyy whatever the browser's locale; the API gets ISO dates
  const shownDay = (v) => (Mgr.isoDay(v) ? day(Mgr.isoDay(v)) : v || "");
  $("r-from").value = shownDay(initial.get("from"));
  $("r-to").value = shownDay(initial.get("to"));
  const DATES = {from: $("r-from"), to: $("r-to")};

  function rangeQuery() {
    const q = new URLSearchParams();
    return Mgr.dateFields(q, DATES, $("r-date-msg")) ? q : null;
  }

  async function summary(groupBy) {
    const q = rangeQuery() || new URLSearchParams();
    q.set("by", groupBy);
    const r = await Layso.api("GET", `/halls/${Mgr.hall}/reports/summary?${q}`, undefined,
                              {timeout: 30000});
    if (!r.ok) throw new Error(Mgr.errorText(r));
    return r.body;
  }

  async function load() {
    const q = rangeQuery();
    if (!q) return;  // a date that does not exist: said so under the form, nothing sent
    // what the fields said when asked: a date typed while the answer was on its way stays
    const asked = {from: DATES.from.value, to: DATES.to.value};
    q.set("by", by);
    history.replaceState(null, "", `${location.pathname}?${q}`);
    for (const b of document.querySelectorAll("#by-tabs button"))
      b.classList.toggle("active", b.dataset.by === by);
    let table, hours, counters, days;
    try {
      [table, hours, counters, days] = await Promise.all(
        [summary(by), summary("hour"), summary("counter"), summary("day")]);
    } catch (e) {
      $("range").textContent = e.message;
      return;
    }
    if (DATES.from.value === asked.from) DATES.from.value = day(table.from);
    if (DATES.to.value === asked.to) DATES.to.value = day(table.to);
    $("range").textContent = table.from === table.to ? day(table.from)
      : `${day(table.from)} – ${day(table.to)}`;
    totals(table.total);
    bookingTotals(table.bookings);
    renderTable(table);
    runningReports(q);
    hourChart(hours);
    satChart(counters);
    dayChart(days);
  }

  const ALERT_KINDS = {
    ticket_wait: "Chờ quá thời gian · waiting past target",
    queue_length: "Hàng chờ dài · long queue",
    counter_idle: "Quầy rảnh khi có người chờ · idle counter",
    counter_paused: "Quầy tạm dừng lâu · long pause",
    printer_paper: "Giấy in · printer paper",
    device_offline: "Thiết bị mất kết nối · device offline",
  };

  /* alerts by kind and pauses by reason and clerk, for the same days */
  async function runningReports(q) {
    const range = new URLSearchParams(q);
    range.delete("by");
    const [a, p] = await Promise.all([
      Layso.api("GET", `/halls/${Mgr.hall}/reports/alerts?${range}`),
      Layso.api("GET", `/halls/${Mgr.hall}/reports/pauses?${range}`)]);
    const none = (cols, text) => [el("tr", {}, el("td", {colspan: cols, class: "muted"}, text))];
    if (a.ok) {
      const rows = a.body.by_kind.map((k) => el("tr", {dataset: {kind: k.kind}},
        el("td", {}, ALERT_KINDS[k.kind] || k.kind), el("td", {class: "num"}, num(k.alerts)),
        el("td", {class: "num"}, num(k.critical)), el("td", {class: "num"}, Layso.dur(k.open_s))));
      $("alerts-report").querySelector("tbody").replaceChildren(
        ...(rows.length ? rows : none(4, "Không có cảnh báo · no alerts")));
    }
    if (p.ok) {
      const rows = [];
      for (const r of p.body.by_reason) {
        rows.push(el("tr", {dataset: {reason: r.reason}},
          el("td", {}, el("strong", {}, r.name), " ", el("small", {}, r.name_en),
             r.texts && r.texts.length ? el("div", {class: "hint"}, r.texts.join(" · ")) : null),
          el("td", {class: "num"}, num(r.pauses)), el("td", {class: "num"}, Layso.dur(r.paused_s))));
      }
      for (const c of p.body.by_clerk) {
        rows.push(el("tr", {dataset: {clerk: c.clerk || ""}},
          el("td", {}, `Cán bộ · clerk: ${c.clerk || "—"}`),
          el("td", {class: "num"}, num(c.pauses)), el("td", {class: "num"}, Layso.dur(c.paused_s))));
      }
      $("pauses-report").querySelector("tbody").replaceChildren(
        ...(rows.length ? rows : none(3, "Không có lần tạm dừng · no pauses")));
    }
  }

  function totals(t) {
    $("t-issued").textContent = num(t.issued);
    $("t-served").textContent = `phục vụ ${num(t.served)} · served`;
    $("t-median").textContent = minutes(t.wait_median_s);
    $("t-p90").textContent = `90 %: ${minutes(t.wait_p90_s)} · lâu nhất ${minutes(t.wait_max_s)}`;
    $("t-within").textContent = pct(t.within_target_rate);
    $("k-within").classList.toggle("bad", t.within_target_rate !== null && t.within_target_rate < 0.8);
    $("t-service").textContent = minutes(t.service_mean_s);
    $("t-walk").textContent = `di chuyển TB ${minutes(t.walk_mean_s)} · walk`;
    $("t-noshow").textContent = pct(t.no_show_rate);
    $("t-noshow-n").textContent = `${num(t.no_show)} lượt vắng mặt`;
    $("t-sat").textContent = pct(t.satisfaction_rate);
    $("t-sat-note").textContent = `mục tiêu ${pct(t.satisfaction_target)} · ${num(t.rated)} đánh giá`;
    $("k-sat").classList.toggle("good", t.meets_target === true);
    $("k-sat").classList.toggle("bad", t.meets_target === false);
  }

  function bookingTotals(b) {
    if (!b) return;
    $("k-bookings").hidden = !b.total;
    $("t-bk-noshow").textContent = pct(b.no_show_rate);
    $("t-bk-note").textContent = `${num(b.no_show)} / ${num(b.by_state.served + b.by_state.no_show)} lịch hẹn · ` +
      `${num(b.total)} đặt, ${num(b.by_state.cancelled)} hủy · booked, cancelled`;
  }

  function label(g, groupBy) {
    if (groupBy === "day") return day(g.label);
    if (groupBy === "counter") return `Quầy ${g.key}`;
    return g.label;
  }

  // the official three levels first (any scale maps onto them), the hall's own stars below
  const OFFICIAL = [["very_satisfied", "Rất hài lòng"], ["satisfied", "Hài lòng"],
                    ["dissatisfied", "Không hài lòng"]];
  function ratings(r, official) {
    const keys = Object.keys(r || {}).sort((a, b) => Number(b) - Number(a)); // best first
    if (!keys.length) return "—";
    const stars = keys.map((k) => `${k}★\u00a0${r[k]}`).join(" · "); // items never break inside
    if (!official) return stars;
    return [el("div", {}, OFFICIAL.map(([k, vi]) => `${vi.replace(/ /g, "\u00a0")}\u00a0${official[k] || 0}`)
      .join(" · ")), el("div", {class: "hint"}, stars)];
  }

  function row(g, groupBy, isTotal) {
    const idle = groupBy === "counter" || groupBy === "clerk";
    const cells = [
      el(isTotal ? "th" : "td", {style: "min-width:11rem"}, isTotal ? "Tổng · Total" : label(g, groupBy),
         !isTotal && groupBy === "counter" && g.label ? el("div", {class: "hint"}, g.label) : null),
      el("td", {class: "num"}, num(g.issued)),
      el("td", {class: "num"}, num(g.served)),
      el("td", {class: "num"}, dur(g.wait_median_s)),
      el("td", {class: "num"}, dur(g.wait_p90_s)),
      el("td", {class: "num"}, dur(g.walk_mean_s)),
      el("td", {class: "num"}, dur(g.service_mean_s)),
      el("td", {class: "num"}, pct(g.within_target_rate)),
      el("td", {class: "num"}, g.no_show ? `${num(g.no_show)} (${pct(g.no_show_rate)})` : "0"),
      el("td", {class: "num", hidden: !idle}, idle ? hours(g.open_s) : ""),
      el("td", {class: "num", hidden: !idle, title: idle ? `phục vụ ${hours(g.serving_s)}` : ""},
         idle && g.open_s ? [hours(g.idle_s), el("div", {class: "hint"}, pct(g.idle_s / g.open_s))]
           : (idle ? "—" : "")),
      el("td", {class: "num", style: g.meets_target === false ? `color:${RED};font-weight:700` :
                                     (g.meets_target ? `color:${GREEN};font-weight:700` : "")},
         pct(g.satisfaction_rate)),
      el("td", {style: "font-size:.8rem;min-width:8.5rem"}, ratings(g.ratings, g.official_ratings)),
    ];
    return el("tr", {}, ...cells);
  }

  function renderTable(data) {
    const idle = data.by === "counter" || data.by === "clerk";
    $("g-key").textContent = KEY_LABEL[data.by];
    for (const th of document.querySelectorAll("#groups th.idle")) th.hidden = !idle;
    const body = $("groups").querySelector("tbody");
    body.replaceChildren(...(data.groups.length ? data.groups.map((g) => row(g, data.by, false))
      : [el("tr", {}, el("td", {colspan: 13, class: "empty"}, "Chưa có số liệu · no data"))]));
    $("groups").querySelector("tfoot").replaceChildren(row(data.total, data.by, true));
  }

  function draw(id, config) {
    if (!window.Chart) return;
    if (charts[id]) charts[id].destroy();
    charts[id] = new Chart($(id), config);
  }

  const toMinutes = (s) => (s === null ? null : Math.round((s / 60) * 10) / 10);

  function hourChart(data) {
    draw("c-hour", {
      type: "bar",
      data: {
        labels: data.groups.map((g) => `${Mgr.pad(g.key)}h`),
        datasets: [
          {label: "Trung vị · median", data: data.groups.map((g) => toMinutes(g.wait_median_s)),
           backgroundColor: BLUE},
          {label: "90 %", data: data.groups.map((g) => toMinutes(g.wait_p90_s)),
           backgroundColor: LIGHT},
        ],
      },
      options: {
        scales: {y: {beginAtZero: true, title: {display: true, text: "phút · minutes"}}},
        plugins: {legend: {position: "bottom"}},
      },
    });
  }

  function satChart(data) {
    const groups = data.groups.filter((g) => g.rated > 0);
    const target = data.satisfaction_target * 100;
    draw("c-sat", {
      type: "bar",
      data: {
        labels: groups.map((g) => `Quầy ${g.key}`),
        datasets: [
          {type: "bar", label: "Hài lòng · satisfied %",
           data: groups.map((g) => Math.round(g.satisfaction_rate * 1000) / 10),
           backgroundColor: groups.map((g) => (g.meets_target ? GREEN : AMBER)), order: 2},
          {type: "line", label: `Mục tiêu ${num(target, 1)} % · target`,
           data: groups.map(() => target), borderColor: RED, borderDash: [6, 4],
           borderWidth: 2, pointRadius: 0, fill: false, order: 1},
        ],
      },
      options: {
        scales: {y: {min: 0, max: 100, title: {display: true, text: "%"}}},
        plugins: {legend: {position: "bottom"}},
      },
    });
  }

  function dayChart(data) {
    draw("c-day", {
      type: "bar",
      data: {
        labels: data.groups.map((g) => day(g.label).slice(0, 5)),
        datasets: [
          {label: "Cấp số · issued", data: data.groups.map((g) => g.issued), backgroundColor: LIGHT},
          {label: "Phục vụ · served", data: data.groups.map((g) => g.served), backgroundColor: BLUE},
        ],
      },
      options: {
        scales: {y: {beginAtZero: true, ticks: {precision: 0}}},
        plugins: {legend: {position: "bottom"}},
      },
    });
  }

  function iso(d) {
    return `${d.getUTCFullYear()}-${Mgr.pad(d.getUTCMonth() + 1)}-${Mgr.pad(d.getUTCDate())}`;
  }

  for (const b of document.querySelectorAll("#by-tabs button"))
    b.addEventListener("click", () => { by = b.dataset.by; load(); });
  for (const b of document.querySelectorAll(".quick button")) {
    b.addEventListener("click", () => {
      const end = today || Mgr.isoDay($("r-to").value);
      const days = parseInt(b.dataset.days, 10);
      const start = new Date(`${end}T00:00:00Z`);
      start.setUTCDate(start.getUTCDate() - (days - 1));
      $("r-from").value = day(iso(start));
      $("r-to").value = day(end);
      load();
    });
  }
  form.addEventListener("submit", (e) => { e.preventDefault(); load(); });
  load();
})();
