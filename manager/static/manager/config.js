/* Configuration: the hall, areas, counters, users, devices and ticker notices, through the API. */
(function () {
  "use strict";
  const {el, badge, message, errorText, clock, day} = Mgr;
  const {$} = Layso;
  const base = `/halls/${Mgr.hall}/config`;
  const DEFAULT_LABELS = {
    3: [["Rất hài lòng", "Very satisfied"], ["Hài lòng", "Satisfied"], ["Không hài lòng", "Dissatisfied"]],
    4: [["Rất hài lòng", "Very satisfied"], ["Hài lòng", "Satisfied"], ["Bình thường", "Neutral"],
        ["Không hài lòng", "Dissatisfied"]],
    5: [["Rất hài lòng", "Very satisfied"], ["Hài lòng", "Satisfied"], ["Bình thường", "Neutral"],
        ["Không hài lòng", "Dissatisfied"], ["Rất không hài lòng", "Very dissatisfied"]],
  };
  const KINDS = {
    kiosk: "Kiosk lấy số", display: "Màn hình gọi số", "counter-display": "Màn hình quầy",
    "rating-pad": "Bảng đánh giá", "print-agent": "Máy in của kiosk",
  };
  const ROLES = {clerk: "Cán bộ", manager: "Quản lý", admin: "Quản trị"};
  let cfg = null;
  const editing = {service: null, counter: null, user: null, notice: null};

  Layso.init({device: false});

  // --- tabs ----------------------------------------------------------------------------------
  function showTab(name) {
    const tabs = [...document.querySelectorAll("#cfg-tabs button")];
    if (!tabs.some((b) => b.dataset.tab === name)) name = "hall";
    for (const b of tabs) b.classList.toggle("active", b.dataset.tab === name);
    for (const p of document.querySelectorAll("[data-panel]")) p.hidden = p.dataset.panel !== name;
    history.replaceState(null, "", `#${name}`);
    for (const area of document.querySelectorAll("textarea.fit")) fit(area);  // measurable now
  }
  for (const b of document.querySelectorAll("#cfg-tabs button"))
    b.addEventListener("click", () => showTab(b.dataset.tab));
  showTab(location.hash.slice(1) || "hall");

  // --- helpers -------------------------------------------------------------------------------
  async function send(method, path, body, msg, okText) {
    const r = await Layso.api(method, base + path, body);
    if (r.ok) {
      if (msg) message(msg, okText || "Đã lưu · Saved", true);
      await load();
    } else if (msg) {
      message(msg, errorText(r), false);
    }
    return r;
  }

  function intOrNull(v) { return v === "" || v === null ? null : Number(v); }

  function parseRanges(text) {
    return text.split(/[,;]/).map((s) => s.trim()).filter(Boolean)
      .map((s) => s.split(/\s*[-–]\s*/));
  }

  function writeHours(prefix, always, hours) {
    $(always).checked = !hours;
    $(`${prefix}-hours`).hidden = !hours;
    const days = hours ? (hours.days || [0, 1, 2, 3, 4, 5, 6]) : [0, 1, 2, 3, 4];
    for (const c of $(`${prefix}-days`).querySelectorAll("input"))
      c.checked = days.includes(Number(c.value));
    $(`${prefix}-ranges`).value = hours ? (hours.ranges || []).map((r) => r.join("-")).join(", ")
      : "";
  }

  function readHours(prefix, always) {
    if ($(always).checked) return null;
    const days = [...$(`${prefix}-days`).querySelectorAll("input:checked")].map((c) => Number(c.value));
    return {days, ranges: parseRanges($(`${prefix}-ranges`).value)};
  }

  $("h-always").addEventListener("change", () => { $("h-hours").hidden = $("h-always").checked; });
  $("s-always").addEventListener("change", () => { $("s-hours").hidden = $("s-always").checked; });

  function editButton(text, onclick) {
    return el("button", {type: "button", onclick}, text);
  }

  // --- the hall ------------------------------------------------------------------------------
  const hallForm = $("hall-form");

  function renderLabels(scale, labels) {
    const rows = [];
    for (let i = 0; i < scale; i++) {
      const [vi, en] = labels && labels[i] ? [labels[i].vi, labels[i].en] : DEFAULT_LABELS[scale][i];
      rows.push(el("div", {class: "form-grid"},
        el("label", {}, `Mức ${scale - i} `, el("small", {}, i === 0 ? "tốt nhất · best" : ""),
           el("input", {class: "label-vi", value: vi, maxlength: 60, required: true})),
        el("label", {}, "Tiếng Anh ", el("small", {}, "English"),
           el("input", {class: "label-en", value: en, maxlength: 60}))));
    }
    $("h-labels").replaceChildren(el("strong", {}, "Nhãn đánh giá ", el("small", {class: "sub"}, "Rating labels, best first")), ...rows);
  }

  hallForm.elements.rating_scale.addEventListener("change", () => {
    renderLabels(Number(hallForm.elements.rating_scale.value), null);
  });

  // a one-paragraph text field grows with its text (nothing is cut) and takes no new lines
  function fit(area) {
    if (area.offsetParent === null) return;  // a hidden tab: measured when shown
    area.style.height = "auto";
    area.style.height = `${area.scrollHeight + area.offsetHeight - area.clientHeight}px`;
  }
  for (const area of hallForm.querySelectorAll("textarea.fit")) {
    area.addEventListener("input", () => {
      if (area.value.includes("\n")) area.value = area.value.replace(/\s*\n\s*/g, " ");
      fit(area);
    });
    area.addEventListener("keydown", (e) => { if (e.key === "Enter") e.preventDefault(); });
  }
  window.addEventListener("resize", () => {
    for (const area of hallForm.querySelectorAll("textarea.fit")) fit(area);
  });

  function renderHall(h) {
    renderOps(h);
    const f = hallForm.elements;
    for (const k of ["name", "name_en", "timezone", "greeting", "ticket_footer", "priority_policy",
                     "priority_interleave", "priority_weight", "voice_template"]) f[k].value = h[k] ?? "";
    f.rating_scale.value = String(h.rating_scale);
    f.satisfaction_target.value = Math.round(h.satisfaction_target * 1000) / 10;
    writeHours("h", "h-always", h.hours);
    renderLabels(h.rating_scale, h.rating_labels);
    for (const area of hallForm.querySelectorAll("textarea.fit")) fit(area);
  }

  hallForm.addEventListener("submit", (e) => {
    e.preventDefault();
    const f = hallForm.elements;
    const labels = [...$("h-labels").querySelectorAll(".form-grid")].map((row) => ({
      vi: row.querySelector(".label-vi").value, en: row.querySelector(".label-en").value}));
    send("PATCH", "/hall", {
      name: f.name.value, name_en: f.name_en.value, timezone: f.timezone.value,
      greeting: f.greeting.value, ticket_footer: f.ticket_footer.value,
      hours: readHours("h", "h-always"), priority_policy: f.priority_policy.value,
      priority_interleave: Number(f.priority_interleave.value),
      priority_weight: Number(f.priority_weight.value), voice_template: f.voice_template.value,
      rating_scale: Number(f.rating_scale.value), rating_labels: labels,
      satisfaction_target: Number(f.satisfaction_target.value) / 100,
    }, $("hall-msg"));
  });

  // --- alert thresholds and pause reasons ----------------------------------------------------
  const opsForm = $("ops-form");
  const OPS_NUMBERS = ["wait_warning_factor", "wait_critical_factor", "max_waiting",
                       "idle_counter_min", "pause_max_min", "device_offline_s"];

  function renderOps(h) {
    const f = opsForm.elements;
    const a = h.alert_settings || {};
    for (const k of OPS_NUMBERS) f[k].value = a[k] ?? "";
    f.notify.value = a.notify || "off";
    f.notify_phone.value = a.notify_phone || "";
    f.pause_reasons.value = (h.pause_reasons || [])
      .map((r) => [r.code, r.vi, r.en].join(" | ")).join("\n");
  }

  opsForm.addEventListener("submit", (e) => {
    e.preventDefault();
    const f = opsForm.elements;
    const settings = {notify: f.notify.value, notify_phone: f.notify_phone.value.trim() || null};
    for (const k of OPS_NUMBERS) settings[k] = Number(f[k].value);
    const reasons = f.pause_reasons.value.split("\n").map((line) => line.trim()).filter(Boolean)
      .map((line) => {
        const [code, vi, en] = line.split("|").map((x) => (x || "").trim());
        return {code, vi, en: en || ""};
      });
    send("PATCH", "/hall", {alert_settings: settings, pause_reasons: reasons}, $("ops-msg"));
  });

  // --- areas ---------------------------------------------------------------------------------
  const serviceForm = $("service-form");

  /* the display number as a ticket shows it: prefix + zero-padded to the last number's width */
  function numbered(s, n) {
    return s.prefix + String(n).padStart(String(s.last_number).length, "0");
  }

  function renderServices() {
    $("services").querySelector("tbody").replaceChildren(...cfg.services.map((s) =>
      el("tr", {dataset: {code: s.code}},
        el("td", {}, el("strong", {}, s.code)),
        el("td", {}, s.name, s.name_en ? el("div", {class: "hint"}, s.name_en) : null,
           s.kind === "results" ? el("div", {class: "hint"}, "Trả kết quả · results") : null),
        el("td", {}, `${numbered(s, s.first_number)} – ${numbered(s, s.last_number)}` +
           (s.step !== 1 ? ` (bước ${s.step})` : "")),
        el("td", {class: "num"}, `${s.target_wait_min} phút`),
        el("td", {class: "num"}, s.daily_cap === null ? "—" : s.daily_cap),
        el("td", {class: "num"}, s.issued_today),
        el("td", {class: "num"}, s.procedures.length),
        el("td", {}, s.active ? badge({on: ["Hoạt động", "Active"]}, "on") :
           badge({closed: ["Tạm ngưng", "Inactive"]}, "closed")),
        el("td", {}, editButton("Sửa", () => editService(s))))));
  }

  function editService(s) {
    editing.service = s ? s.code : null;
    const f = serviceForm.elements;
    serviceForm.reset();
    f.code.disabled = !!s;
    if (s) {
      for (const k of ["code", "name", "name_en", "prefix", "first_number", "last_number", "step",
                       "target_wait_min", "position"]) f[k].value = s[k] ?? "";
      f.kind.value = s.kind || "intake";
      f.daily_cap.value = s.daily_cap ?? "";
      f.active.checked = s.active;
      f.procedures.value = s.procedures.join("\n");
    }
    writeHours("s", "s-always", s ? s.hours : null);
    $("service-title").replaceChildren(s ? `Sửa lĩnh vực ${s.code} ` : "Thêm lĩnh vực ",
      el("small", {}, s ? "Edit the area" : "Add an area"));
    $("service-save").replaceChildren(s ? "Lưu thay đổi " : "Thêm lĩnh vực ",
      el("small", {style: "color:#dce8f7"}, s ? "Save" : "Add"));
    $("service-cancel").hidden = !s;
    if (s) serviceForm.scrollIntoView({behavior: "smooth", block: "start"});
  }

  serviceForm.addEventListener("submit", async (e) => {
    e.preventDefault();
    const f = serviceForm.elements;
    const body = {
      name: f.name.value, name_en: f.name_en.value, kind: f.kind.value, prefix: f.prefix.value,
      first_number: intOrNull(f.first_number.value), last_number: intOrNull(f.last_number.value),
      step: intOrNull(f.step.value) ?? 1, daily_cap: intOrNull(f.daily_cap.value),
      target_wait_min: intOrNull(f.target_wait_min.value), active: f.active.checked,
      hours: readHours("s", "s-always"),
      procedures: f.procedures.value.split("\n").map((x) => x.trim()).filter(Boolean),
    };
    if (f.position.value !== "") body.position = Number(f.position.value);
    const code = editing.service;
    if (!code) body.code = f.code.value;
    const r = await send(code ? "PATCH" : "POST", code ? `/services/${encodeURIComponent(code)}` : "/services",
                         body, $("service-msg"), code ? "Đã lưu · Saved" : "Đã thêm lĩnh vực · Area added");
    if (r.ok) editService(null);
  });
  $("service-cancel").addEventListener("click", () => { editService(null); message($("service-msg"), ""); });

  // --- counters ------------------------------------------------------------------------------
  const counterForm = $("counter-form");

  function renderCounters() {
    const names = Object.fromEntries(cfg.services.map((s) => [s.code, s.name]));
    $("counters").querySelector("tbody").replaceChildren(...cfg.counters.map((c) =>
      el("tr", {dataset: {counter: c.number}},
        el("td", {}, el("strong", {}, `Quầy ${c.number}`)),
        el("td", {}, c.name),
        el("td", {}, c.services.map((code, i) => `${i + 1}. ${names[code] || code}`).join(" · ")),
        el("td", {}, badge(Mgr.COUNTER_STATES, c.state)),
        el("td", {}, c.clerk || "—"),
        el("td", {}, editButton("Sửa", () => editCounter(c))))));
  }

  function areaItem(s, checked) {
    const li = el("li", {dataset: {code: s.code}, style: "display:flex;gap:.5rem;align-items:center;margin:.25rem 0"},
      el("input", {type: "checkbox", checked, style: "width:auto;margin:0", "aria-label": s.name}),
      el("span", {style: "flex:1"}, `${s.name} (${s.code})`),
      el("button", {type: "button", title: "Lên", onclick: () => li.previousElementSibling &&
        li.parentNode.insertBefore(li, li.previousElementSibling)}, "↑"),
      el("button", {type: "button", title: "Xuống", onclick: () => li.nextElementSibling &&
        li.parentNode.insertBefore(li.nextElementSibling, li)}, "↓"));
    return li;
  }

  function editCounter(c) {
    editing.counter = c ? c.number : null;
    counterForm.reset();
    const f = counterForm.elements;
    f.number.disabled = !!c;
    if (c) { f.number.value = c.number; f.name.value = c.name; }
    const chosen = c ? c.services : [];
    const items = [
      ...chosen.map((code) => cfg.services.find((s) => s.code === code)).filter(Boolean)
        .map((s) => areaItem(s, true)),
      ...cfg.services.filter((s) => !chosen.includes(s.code)).map((s) => areaItem(s, false)),
    ];
    $("counter-areas").replaceChildren(...items);
    $("counter-title").replaceChildren(c ? `Sửa quầy ${c.number} ` : "Thêm quầy ",
      el("small", {}, c ? "Edit the counter" : "Add a counter"));
    $("counter-save").replaceChildren(c ? "Lưu thay đổi " : "Thêm quầy ",
      el("small", {style: "color:#dce8f7"}, c ? "Save" : "Add"));
    $("counter-cancel").hidden = !c;
    if (c) counterForm.scrollIntoView({behavior: "smooth", block: "start"});
  }

  counterForm.addEventListener("submit", async (e) => {
    e.preventDefault();
    const f = counterForm.elements;
    const services = [...$("counter-areas").querySelectorAll("li")]
      .filter((li) => li.querySelector("input").checked).map((li) => li.dataset.code);
    const number = editing.counter;
    const body = {name: f.name.value, services};
    if (!number) body.number = intOrNull(f.number.value);
    const r = await send(number ? "PATCH" : "POST", number ? `/counters/${number}` : "/counters",
                         body, $("counter-msg"));
    if (r.ok) editCounter(null);
  });
  $("counter-cancel").addEventListener("click", () => { editCounter(null); message($("counter-msg"), ""); });

  // --- users ---------------------------------------------------------------------------------
  const userForm = $("user-form");
  const pwForm = $("password-form");
  let pwUser = null;
  if (Mgr.role !== "admin") userForm.elements.role.querySelector('option[value="admin"]').remove();

  function renderUsers() {
    $("users").querySelector("tbody").replaceChildren(...cfg.users.map((u) => {
      const mayEdit = u.role !== "admin" || Mgr.role === "admin";
      return el("tr", {dataset: {username: u.username}},
        el("td", {}, el("strong", {}, u.username)),
        el("td", {}, u.full_name),
        el("td", {}, ROLES[u.role] || u.role),
        el("td", {}, u.active ? badge({ok: ["Hoạt động", "Active"]}, "ok")
                              : badge({error: ["Đã khóa", "Disabled"]}, "error")),
        el("td", {}, u.counter ? `Quầy ${u.counter}` : ""),
        el("td", {}, el("div", {class: "actions"}, mayEdit ? [
          editButton("Sửa", () => editUser(u)),
          editButton("Đặt lại mật khẩu", () => {
            pwUser = u.username; $("pw-user").textContent = u.username; pwForm.hidden = false;
            pwForm.reset(); pwForm.elements.password.focus();
          }),
          u.username === Mgr.me ? null : el("button", {type: "button", class: u.active ? "danger" : "", onclick: () => {
            if (u.active && !confirm(`Khóa tài khoản ${u.username}? · Disable this user?`)) return;
            send("PATCH", `/users/${encodeURIComponent(u.username)}`, {active: !u.active}, $("user-msg"),
                 u.active ? "Đã khóa tài khoản · Disabled" : "Đã mở khóa · Enabled");
          }}, u.active ? "Khóa" : "Mở khóa"),
        ] : null)));
    }));
  }

  function editUser(u) {
    editing.user = u ? u.username : null;
    userForm.reset();
    const f = userForm.elements;
    f.username.disabled = !!u;
    $("user-password").hidden = !!u;
    f.password.required = !u;
    if (u) { f.username.value = u.username; f.full_name.value = u.full_name; f.role.value = u.role; }
    $("user-title").replaceChildren(u ? `Sửa tài khoản ${u.username} ` : "Thêm tài khoản ",
      el("small", {}, u ? "Edit the user" : "Add a user"));
    $("user-save").replaceChildren(u ? "Lưu thay đổi " : "Thêm tài khoản ",
      el("small", {style: "color:#dce8f7"}, u ? "Save" : "Add"));
    $("user-cancel").hidden = !u;
  }

  userForm.addEventListener("submit", async (e) => {
    e.preventDefault();
    const f = userForm.elements;
    const name = editing.user;
    const body = name ? {full_name: f.full_name.value, role: f.role.value}
      : {username: f.username.value, full_name: f.full_name.value, role: f.role.value,
         password: f.password.value};
    const r = await send(name ? "PATCH" : "POST", name ? `/users/${encodeURIComponent(name)}` : "/users",
                         body, $("user-msg"), name ? "Đã lưu · Saved" : "Đã thêm tài khoản · User added");
    if (r.ok) editUser(null);
  });
  $("user-cancel").addEventListener("click", () => { editUser(null); message($("user-msg"), ""); });
  pwForm.addEventListener("submit", async (e) => {
    e.preventDefault();
    const r = await send("POST", `/users/${encodeURIComponent(pwUser)}/password`,
                         {password: pwForm.elements.password.value}, $("user-msg"),
                         `Đã đặt lại mật khẩu cho ${pwUser} · Password reset`);
    if (r.ok) pwForm.hidden = true;
  });
  $("pw-cancel").addEventListener("click", () => { pwForm.hidden = true; });

  // --- devices -------------------------------------------------------------------------------
  const deviceForm = $("device-form");

  function kindChanged() {
    const kind = $("d-kind").value;
    $("d-counter-label").hidden = !(kind === "rating-pad" || kind === "counter-display");
    $("d-kiosk-label").hidden = kind !== "print-agent";
  }
  $("d-kind").addEventListener("change", kindChanged);

  function renderDevices() {
    $("d-counter").replaceChildren(...cfg.counters.map((c) =>
      el("option", {value: c.number}, `Quầy ${c.number}`)));
    const kiosks = cfg.devices.filter((d) => d.kind === "kiosk" && !d.revoked_at);
    $("d-kiosk").replaceChildren(el("option", {value: ""}, "—"),
      ...kiosks.map((d) => el("option", {value: d.id}, d.name)));
    kindChanged();
    $("devices").querySelector("tbody").replaceChildren(...cfg.devices.map((d) =>
      el("tr", {dataset: {device: d.id}, class: d.revoked_at ? "muted" : ""},
        el("td", {}, el("strong", {}, d.name)),
        el("td", {}, KINDS[d.kind] || d.kind),
        el("td", {}, d.counter ? `Quầy ${d.counter}` : ""),
        el("td", {}, d.printer_state ? badge(Mgr.PRINTER_STATES, d.printer_state) : ""),
        el("td", {}, d.created_at ? `${day(d.created_at.slice(0, 10))} ${clock(d.created_at).slice(0, 5)}` : ""),
        el("td", {}, d.revoked_at ? badge({closed: ["Đã thu hồi", "Revoked"]}, "closed")
                                  : badge({ok: ["Đang dùng", "Active"]}, "ok")),
        el("td", {}, d.revoked_at ? null : el("button", {type: "button", class: "danger", onclick: () => {
          if (!confirm(`Thu hồi mã của "${d.name}"? Thiết bị sẽ không dùng được nữa. · Revoke?`)) return;
          send("POST", `/devices/${d.id}/revoke`, undefined, $("device-msg"), "Đã thu hồi · Revoked");
        }}, "Thu hồi")))));
  }

  deviceForm.addEventListener("submit", async (e) => {
    e.preventDefault();
    const f = deviceForm.elements;
    const kind = f.kind.value;
    const body = {kind, name: f.name.value};
    if (kind === "rating-pad" || kind === "counter-display") body.counter = intOrNull(f.counter.value);
    if (kind === "print-agent" && f.kiosk.value) body.kiosk = Number(f.kiosk.value);
    $("device-result").hidden = true;
    const r = await send("POST", "/devices", body, $("device-msg"), "Đã cấp mã · Token issued");
    if (r.ok) {
      $("device-url").textContent = r.body.url || r.body.command;
      $("device-result").hidden = false;
      f.name.value = "";
    }
  });

  // --- notices -------------------------------------------------------------------------------
  const noticeForm = $("notice-form");

  function renderNotices() {
    $("notices").querySelector("tbody").replaceChildren(...cfg.notices.map((n) =>
      el("tr", {dataset: {notice: n.id}},
        el("td", {class: "num"}, n.position),
        el("td", {}, n.text),
        el("td", {class: "hint"}, n.text_en),
        el("td", {}, n.active ? badge({ok: ["Hiển thị", "Shown"]}, "ok")
                              : badge({closed: ["Ẩn", "Hidden"]}, "closed")),
        el("td", {}, el("div", {class: "actions"}, editButton("Sửa", () => editNotice(n)),
           el("button", {type: "button", class: "danger", onclick: () => {
             if (!confirm("Xóa thông báo này? · Delete this notice?")) return;
             send("DELETE", `/notices/${n.id}`, undefined, $("notice-msg"), "Đã xóa · Deleted");
           }}, "Xóa"))))));
  }

  function editNotice(n) {
    editing.notice = n ? n.id : null;
    noticeForm.reset();
    const f = noticeForm.elements;
    if (n) { f.text.value = n.text; f.text_en.value = n.text_en; f.position.value = n.position;
             f.active.checked = n.active; }
    $("notice-title").replaceChildren(n ? "Sửa thông báo " : "Thêm thông báo chạy chữ ",
      el("small", {}, n ? "Edit the notice" : "Add a ticker notice"));
    $("notice-save").replaceChildren(n ? "Lưu thay đổi " : "Thêm thông báo ",
      el("small", {style: "color:#dce8f7"}, n ? "Save" : "Add"));
    $("notice-cancel").hidden = !n;
  }

  noticeForm.addEventListener("submit", async (e) => {
    e.preventDefault();
    const f = noticeForm.elements;
    const body = {text: f.text.value, text_en: f.text_en.value, active: f.active.checked};
    if (f.position.value !== "") body.position = Number(f.position.value);
    const id = editing.notice;
    const r = await send(id ? "PATCH" : "POST", id ? `/notices/${id}` : "/notices", body,
                         $("notice-msg"));
    if (r.ok) editNotice(null);
  });
  $("notice-cancel").addEventListener("click", () => { editNotice(null); message($("notice-msg"), ""); });

  // --- load ----------------------------------------------------------------------------------
  async function load() {
    const r = await Layso.api("GET", base);
    if (!r.ok) { message($("hall-msg"), errorText(r), false); return; }
    const first = cfg === null;
    cfg = r.body;
    if (first) { renderHall(cfg.hall); editService(null); editCounter(null); editUser(null); editNotice(null); }
    else {
      renderHall(cfg.hall);
      if (editing.counter === null) editCounter(null); // new areas appear in the picker
    }
    renderServices();
    renderCounters();
    renderUsers();
    renderDevices();
    renderNotices();
  }
  load();
})();
