/* Wait-time log: filters in the address bar, one page of rows, CSV / XLSX of all rows. */
(function () {
  "use strict";
  const {el, dur, num, clock, day, badge} = Mgr;
  const {$} = Layso;
  const form = $("filters");
  const LIMIT = 50;
  let offset = 0;

  Layso.init({device: false});

  // the address bar holds the filters, so a reload or a shared link shows the same rows
  const initial = new URLSearchParams(window.location.search);
  for (const [k, v] of initial.entries()) {
    const field = form.elements.namedItem(k);
    if (!field) continue;
    if (field.type === "checkbox") field.checked = v === "true" || v === "1";
    else if (k === "from" || k === "to") field.value = Mgr.isoDay(v) ? day(Mgr.isoDay(v)) : v;
    else field.value = v;
  }
  offset = Math.max(0, parseInt(initial.get("offset") || "0", 10) || 0);

  function base() { return `/api/v1/halls/${Mgr.hall}/reports/tickets`; }

  // the date fields read dd/mm/yyyy; the address bar and the API get ISO dates
  const DATES = {from: $("f-from"), to: $("f-to")};
  function filters() {
    const q = Mgr.query(form);
    return Mgr.dateFields(q, DATES, $("f-date-msg")) ? q : null;
  }

  function updateDownloads(q) {
    for (const fmt of ["csv", "xlsx"]) {
      const d = new URLSearchParams(q);
      d.set("format", fmt);
      $(`dl-${fmt}`).href = `${base()}?${d}`;
    }
  }

  async function load() {
    const q = filters();
    if (!q) return;  // a date that does not exist: said so beside the filters, nothing sent
    const shown = new URLSearchParams(q);
    if (offset) shown.set("offset", offset);
    history.replaceState(null, "", `${location.pathname}${shown.toString() ? "?" + shown : ""}`);
    updateDownloads(q);
    q.set("limit", LIMIT);
    q.set("offset", offset);
    $("count").textContent = "Đang tải…";
    const r = await Layso.api("GET", `/halls/${Mgr.hall}/reports/tickets?${q}`);
    if (!r.ok) {
      $("count").textContent = Mgr.errorText(r);
      $("log").querySelector("tbody").replaceChildren();
      return;
    }
    const b = r.body;
    if (!$("f-from").value) $("f-from").value = day(b.from);
    if (!$("f-to").value) $("f-to").value = day(b.to);
    updateDownloads(filters() || q);
    const range = b.from === b.to ? day(b.from) : `${day(b.from)} – ${day(b.to)}`;
    $("count").textContent = `${num(b.total)} lượt · tickets · ${range}`;
    $("range").textContent = b.from === b.to ? day(b.from) : `${day(b.from)} – ${day(b.to)}`;
    const pages = Math.max(1, Math.ceil(b.total / LIMIT));
    const page = Math.floor(offset / LIMIT) + 1;
    $("pageinfo").textContent = `Trang ${page}/${pages}`;
    $("prev").disabled = offset === 0;
    $("next").disabled = offset + LIMIT >= b.total;
    render(b.rows, b.from !== b.to);
  }

  function when(iso, multiDay) {
    if (!iso) return "";
    return multiDay ? `${day(iso.slice(0, 10)).slice(0, 5)} ${clock(iso)}` : clock(iso);
  }

  // a priority group by its full name ("Ưu tiên: Người cao tuổi (từ 75 tuổi)"), not its code
  const PRIORITY_NAMES = JSON.parse($("priority-names").textContent || "{}");
  function priority(code) {
    const [vi, en] = PRIORITY_NAMES[code] || ["", ""];
    return el("span", {class: "badge prio", title: en ? `Priority: ${en}` : "Priority"},
              `Ưu tiên: ${vi || "khác"}`);
  }

  function render(rows, multiDay) {
    const body = $("log").querySelector("tbody");
    if (!rows.length) {
      body.replaceChildren(el("tr", {}, el("td", {colspan: 14, class: "empty"},
        "Không có lượt nào khớp bộ lọc · no ticket matches")));
      return;
    }
    body.replaceChildren(...rows.map((t) => {
      const ended = t.finished_at || t.no_show_at || t.cancelled_at || t.expired_at;
      const area = t.served_area !== t.area ? `${t.area_name} → ${t.served_area}` : t.area_name;
      return el("tr", {class: t.late ? "late" : "", dataset: {id: t.id}},
        el("td", {class: "nw"}, el("strong", {}, t.display_number), " ",
           t.priority ? priority(t.priority) : null),
        el("td", {}, area,
           t.dossier_code ? el("div", {class: "dossier-code", title: "Mã hồ sơ · dossier code"},
                               `Mã hồ sơ: ${t.dossier_code}`) : null),
        el("td", {class: "nw"}, badge(Mgr.STATES, t.state)),
        el("td", {class: "nw"}, when(t.issued_at, multiDay)),
        el("td", {class: "nw"}, clock(t.first_called_at)),
        el("td", {class: "nw"}, t.recalls.map(clock).join(", ")),
        el("td", {class: "nw"}, clock(t.started_at)),
        el("td", {class: "nw"}, clock(ended)),
        el("td", {class: "num wait", title: t.late ? "Quá thời gian chờ tối đa · late" : ""}, dur(t.wait_s)),
        el("td", {class: "num"}, dur(t.walk_s)),
        el("td", {class: "num"}, dur(t.service_s)),
        el("td", {class: "num"}, t.counter === null ? "" : t.counter),
        el("td", {class: "nw"}, t.clerk_name || t.clerk || ""),
        el("td", {class: "num"}, t.rating === null ? "" : `${t.rating}/${t.rating_scale}`));
    }));
  }

  form.addEventListener("submit", (e) => { e.preventDefault(); offset = 0; load(); });
  $("prev").addEventListener("click", () => { offset = Math.max(0, offset - LIMIT); load(); });
  $("next").addEventListener("click", () => { offset += LIMIT; load(); });
  load();
})();
