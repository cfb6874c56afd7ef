/* The official satisfaction evaluation: counts per official level, the rate against the
   target, per area / counter / clerk / month / quarter, and the XLSX a unit files. */
(function () {
  "use strict";
  const {el, num, pct, day} = Mgr;
  const {$} = Layso;
  const form = $("o-form");
  const DATES = {from: $("o-from"), to: $("o-to")};
  const KEY = {
    area: ["Lĩnh vực", "Area"], counter: ["Quầy", "Counter"], clerk: ["Cán bộ", "Clerk"],
    month: ["Tháng", "Month"], quarter: ["Quý", "Quarter"],
  };

  Layso.init({device: false});

  const initial = new URLSearchParams(window.location.search);
  for (const [k, v] of initial.entries()) {
    const field = form.elements.namedItem(k);
    if (!field) continue;
    field.value = (k === "from" || k === "to") && Mgr.isoDay(v) ? day(Mgr.isoDay(v)) : v;
  }

  function verdict(g) {
    if (g.meets_target === null) return el("span", {class: "muted"}, "Chưa có đánh giá · no ratings");
    return g.meets_target
      ? el("span", {class: "badge b-ok"}, "Đạt · met")
      : el("span", {class: "badge b-error"}, "Không đạt · not met");
  }

  function row(g, i, total) {
    return el("tr", total ? {class: "total"} : {},
      el("td", {class: "num"}, total ? "" : String(i + 1)),
      el("td", {}, total ? "Tổng cộng · Total" : g.label),
      el("td", {class: "num"}, num(g.rated)),
      el("td", {class: "num"}, num(g.very_satisfied)),
      el("td", {class: "num"}, num(g.satisfied)),
      el("td", {class: "num"}, num(g.dissatisfied)),
      el("td", {class: "num"}, g.rate === null ? "—" : pct(g.rate)),
      el("td", {}, verdict(g)));
  }

  async function load() {
    const q = Mgr.query(form);
    if (!Mgr.dateFields(q, DATES, $("o-date-msg"))) return;
    history.replaceState(null, "", `${location.pathname}?${q}`);
    const x = new URLSearchParams(q);
    x.set("format", "xlsx");
    $("o-xlsx").href = `/api/v1/halls/${Mgr.hall}/reports/official?${x}`;
    const r = await Layso.api("GET", `/halls/${Mgr.hall}/reports/official?${q}`);
    const body = $("official").querySelector("tbody");
    if (!r.ok) {
      body.replaceChildren(el("tr", {}, el("td", {colspan: 8}, Mgr.errorText(r))));
      return;
    }
    const b = r.body;
    if (!$("o-from").value) $("o-from").value = day(b.from);
    if (!$("o-to").value) $("o-to").value = day(b.to);
    $("o-range").textContent = b.from === b.to ? day(b.from) : `${day(b.from)} – ${day(b.to)}`;
    const [vi, en] = KEY[b.by];
    $("o-key").replaceChildren(vi + " ", el("small", {}, en));
    $("o-target").textContent = pct(b.target);
    body.replaceChildren(...(b.groups.length ? b.groups.map((g, i) => row(g, i, false))
      : [el("tr", {}, el("td", {colspan: 8, class: "muted"},
                          "Chưa có lượt đánh giá nào · no ratings in this period"))]));
    $("official").querySelector("tfoot").replaceChildren(row(b.total, 0, true));
  }

  form.addEventListener("submit", (e) => { e.preventDefault(); load(); });
  $("o-by").addEventListener("change", load);
  load();
})();
