/* Bookings: the day's bookings (masked), the merge rule in words, the hall's rules, slot
   templates and closures, through /api/v1/halls/<hall>/bookings… */
(function () {
  "use strict";
  const {el, message, errorText, clock, day, isoDay} = Mgr;
  const {$} = Layso;
  const base = `/halls/${Mgr.hall}/config/bookings`;
  const dayBase = `/halls/${Mgr.hall}/reports/bookings`;
  const WEEKDAYS = ["T2", "T3", "T4", "T5", "T6", "T7", "CN"];
  const BOOKING_STATES = {
    booked: ["Đã đặt", "Booked"], checked_in: ["Đã xác nhận", "Checked in"],
    called: ["Đã gọi", "Called"], served: ["Đã phục vụ", "Served"],
    no_show: ["Vắng mặt", "No-show"], cancelled: ["Đã hủy", "Cancelled"],
  };
  let areas = [];
  let rules = null;
  let editing = null;  // the slot template being changed, or null: the form adds one

  Layso.init({device: false});

  function stateBadge(state) {
    const [vi, en] = BOOKING_STATES[state] || [state, state];
    return el("span", {class: `badge b-${state}`, title: en}, vi);
  }

  function dayQuery() {
    const iso = isoDay($("bk-date").value) || Mgr.today;
    const q = new URLSearchParams({date: iso});
    if ($("bk-area").value) q.set("service", $("bk-area").value);
    return q;
  }

  async function loadDay() {
    const iso = isoDay($("bk-date").value);
    if (iso === null) {
      message($("bk-day-msg"), "Ngày không hợp lệ (dd/mm/yyyy). · Not a valid date.", false);
      return;
    }
    const q = dayQuery();
    $("bk-csv").href = `/api/v1${dayBase}?${q}&format=csv`;
    $("bk-xlsx").href = `/api/v1${dayBase}?${q}&format=xlsx`;
    const r = await Layso.api("GET", `${dayBase}?${q}`);
    if (!r.ok) { message($("bk-day-msg"), errorText(r), false); return; }
    message($("bk-day-msg"), "", true);
    const counts = $("bk-counts");
    counts.replaceChildren(...Object.entries(r.body.counts).map(([s, n]) =>
      el("span", {class: "bk-count", "data-state": s}, stateBadge(s), ` ${n}`)));
    const rows = r.body.bookings.map((b) => el("tr", {"data-code": b.code},
      el("td", {class: "nw"}, b.slot || "Số từ xa · remote"),
      el("td", {class: "nw"}, b.code),
      el("td", {}, b.service_name),
      el("td", {}, stateBadge(b.state), b.late ? " (muộn · late)" : ""),
      el("td", {class: "nw"}, b.phone || "—"),
      el("td", {class: "nw"}, b.id_number || "—"),
      el("td", {class: "nw"}, b.ticket || "—"),
      el("td", {class: "nw"}, clock(b.checked_in_at))));
    $("bk-day").tBodies[0].replaceChildren(...(rows.length ? rows :
      [el("tr", {}, el("td", {colspan: 8, class: "empty"}, "Không có lịch hẹn · no bookings"))]));
  }

  function fillAreas(list) {
    areas = list;
    for (const [id, first] of [["bk-area", "Tất cả · all"], ["bk-closure-area", "Cả đơn vị · whole hall"],
                               ["bk-rules-scope", "Cả đơn vị · the whole hall"]]) {
      const keep = $(id).value;
      $(id).replaceChildren(el("option", {value: ""}, first),
        ...list.map((a) => el("option", {value: a.service}, `${a.service} – ${a.name}`)));
      $(id).value = keep;
    }
    const keep = $("bk-template-area").value;
    $("bk-template-area").replaceChildren(
      ...list.map((a) => el("option", {value: a.service}, `${a.service} – ${a.name}`)));
    if (keep) $("bk-template-area").value = keep;
  }

  function delButton(label, path, msg) {
    return el("button", {type: "button", class: "danger", onclick: async () => {
      const r = await Layso.api("DELETE", base + path);
      if (r.ok) await loadSetup(); else message(msg, errorText(r), false);
    }}, label);
  }

  async function loadSetup() {
    const r = await Layso.api("GET", base);
    if (!r.ok) { message($("bk-rules-msg"), errorText(r), false); return; }
    const s = r.body;
    fillAreas(s.rules.areas);
    $("bk-rule-vi").replaceChildren(...s.merge_rule.vi.map((t) => el("li", {}, t)));
    $("bk-rule-en").replaceChildren(...s.merge_rule.en.map((t) => el("li", {}, t)));
    rules = s.rules;
    fillRules();
    const names = Object.fromEntries(s.rules.areas.map((a) => [a.service, a.name]));
    $("bk-templates").tBodies[0].replaceChildren(...s.templates.map((t) => el("tr", {"data-id": t.id},
      el("td", {}, `${t.service} – ${names[t.service] || ""}`),
      el("td", {}, t.weekdays.map((d) => WEEKDAYS[d]).join(", ")),
      el("td", {class: "nw"}, `${t.start}–${t.end}`),
      el("td", {class: "num"}, String(t.slot_min)),
      el("td", {class: "num"}, String(t.capacity)),
      el("td", {class: "nw"},
        el("button", {type: "button", onclick: () => editTemplate(t)}, "Sửa · edit"), " ",
        delButton("Xóa · delete", `/templates/${t.id}`, $("bk-template-msg"))))));
    $("bk-closures").tBodies[0].replaceChildren(...s.closures.map((c) => el("tr", {"data-id": c.id},
      el("td", {class: "nw"}, day(c.day)),
      el("td", {}, c.service ? `${c.service} – ${names[c.service] || ""}` : "Cả đơn vị · whole hall"),
      el("td", {}, [c.reason, c.reason_en].filter(Boolean).join(" / ")),
      el("td", {}, delButton("Mở lại · reopen", `/closures/${c.id}`, $("bk-closure-msg"))))));
  }

  function scopeRules() {
    const code = $("bk-rules-scope").value;
    return code ? rules.areas.find((a) => a.service === code) : rules.hall;
  }

  function fillRules() {
    const shown = scopeRules() || rules.hall;
    for (const input of $("bk-rules-form").querySelectorAll("input")) {
      const v = shown[input.name];
      if (input.type === "checkbox") input.checked = !!v; else input.value = v ?? "";
    }
  }

  function editTemplate(t) {
    editing = t.id;
    const f = $("bk-template-form");
    f.service.value = t.service;
    f.service.disabled = true;  // a template stays with its area
    for (const c of $("bk-template-days").querySelectorAll("input"))
      c.checked = t.weekdays.includes(Number(c.value));
    f.start.value = t.start; f.end.value = t.end;
    f.slot_min.value = t.slot_min; f.capacity.value = t.capacity;
    $("bk-template-add").firstChild.textContent = "Lưu khung giờ ";
    $("bk-template-cancel").hidden = false;
    f.scrollIntoView({block: "nearest"});
  }

  function stopEditing() {
    editing = null;
    const f = $("bk-template-form");
    f.service.disabled = false;
    $("bk-template-add").firstChild.textContent = "Thêm khung giờ ";
    $("bk-template-cancel").hidden = true;
  }

  $("bk-template-cancel").addEventListener("click", stopEditing);
  $("bk-rules-scope").addEventListener("change", fillRules);
  $("bk-day-form").addEventListener("submit", (e) => { e.preventDefault(); loadDay(); });

  $("bk-rules-form").addEventListener("submit", async (e) => {
    e.preventDefault();
    const code = $("bk-rules-scope").value;
    const body = {};
    for (const input of e.target.querySelectorAll("input")) {
      if (input.type === "checkbox") body[input.name] = input.checked;
      else body[input.name] = input.value === "" ? null : Number(input.value);
      // an area: what equals the hall's value follows the hall (null), the rest is its own
      if (code && body[input.name] === rules.hall[input.name]) body[input.name] = null;
    }
    const path = code ? `${base}/rules?service=${encodeURIComponent(code)}` : `${base}/rules`;
    const r = await Layso.api("PATCH", path, body);
    if (r.ok) { message($("bk-rules-msg"), "Đã lưu · Saved", true); await loadSetup(); }
    else message($("bk-rules-msg"), errorText(r), false);
  });

  $("bk-template-form").addEventListener("submit", async (e) => {
    e.preventDefault();
    const f = e.target;
    const body = {
      weekdays: [...$("bk-template-days").querySelectorAll("input:checked")].map((c) => Number(c.value)),
      start: f.start.value.trim(), end: f.end.value.trim(),
      slot_min: Number(f.slot_min.value), capacity: Number(f.capacity.value),
    };
    const r = editing
      ? await Layso.api("PATCH", `${base}/templates/${editing}`, body)
      : await Layso.api("POST", `${base}/templates`, {service: f.service.value, ...body});
    if (r.ok) {
      message($("bk-template-msg"), editing ? "Đã lưu · Saved" : "Đã thêm · Added", true);
      stopEditing();
      await loadSetup();
    }
    else message($("bk-template-msg"), errorText(r), false);
  });

  $("bk-closure-form").addEventListener("submit", async (e) => {
    e.preventDefault();
    const f = e.target;
    const iso = isoDay(f.day.value);
    if (!iso) {
      message($("bk-closure-msg"), "Ngày không hợp lệ (dd/mm/yyyy). · Not a valid date.", false);
      return;
    }
    const body = {day: iso, reason: f.reason.value, reason_en: f.reason_en.value};
    if (f.service.value) body.service = f.service.value;
    const r = await Layso.api("POST", `${base}/closures`, body);
    if (r.ok) { message($("bk-closure-msg"), "Đã thêm · Added", true); f.reset(); await loadSetup(); }
    else message($("bk-closure-msg"), errorText(r), false);
  });

  $("bk-date").value = day(Mgr.today);
  loadSetup().then(loadDay);
})();
