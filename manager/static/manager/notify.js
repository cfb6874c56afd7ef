/* The notifier: settings (N ahead, late places), channels, and the sent and failed messages,
   through /api/v1/halls/<hall>/notify… */
(function () {
  "use strict";
  const {el, message, errorText, clock, day} = Mgr;
  const {$} = Layso;
  const base = `/halls/${Mgr.hall}/notify`;
  const KINDS = {webhook: "Webhook", sms: "SMS", zns: "Zalo ZNS"};
  const EXAMPLES = {
    webhook: [{url: "https://he-thong-cua-don-vi.example/layso"},
      "Ký HMAC-SHA256 bằng LAYSO_WEBHOOK_SECRET. · Signed with LAYSO_WEBHOOK_SECRET."],
    sms: [{url: "https://sms-gateway.example/send", sender: "UBND-PHUONG", format: "json",
      kinds: ["turn."]},
      "Khóa: LAYSO_SMS_API_KEY; đổi tên trường bằng \"fields\". · Key: LAYSO_SMS_API_KEY."],
    zns: [{kinds: ["turn."], templates: {"turn.near": "123456", "turn.called": "123457"},
      template_data: {so_ve: "number", so_nguoi_truoc: "ahead", quay: "counter"}},
      "Mã truy cập: LAYSO_ZALO_ACCESS_TOKEN. · Access token: LAYSO_ZALO_ACCESS_TOKEN."],
  };
  const NOTICE_STATES = {pending: "Đang chờ gửi", sent: "Đã gửi", failed: "Thất bại"};
  let editing = null;  // the channel being changed, or null: the form adds one

  function editChannel(c) {
    editing = c.id;
    const f = $("nt-channel-form");
    f.kind.value = c.kind;
    f.kind.disabled = true;  // a channel keeps its kind
    f.name.value = c.name;
    const {secret_variable: _v, secret_set: _s, ...settings} = c.settings;
    f.settings.value = JSON.stringify(settings, null, 2);
    $("nt-channel-add").firstChild.textContent = "Lưu kênh ";
    $("nt-channel-cancel").hidden = false;
  }

  function stopEditing() {
    editing = null;
    const f = $("nt-channel-form");
    f.kind.disabled = false;
    f.name.value = "";
    example();
    $("nt-channel-add").firstChild.textContent = "Thêm kênh ";
    $("nt-channel-cancel").hidden = true;
  }

  Layso.init({device: false});

  function example() {
    const [settings, hint] = EXAMPLES[$("nt-kind").value];
    $("nt-settings-json").value = JSON.stringify(settings, null, 2);
    $("nt-kind-hint").textContent = hint;
  }

  async function loadChannels() {
    const r = await Layso.api("GET", base);
    if (!r.ok) { message($("nt-channel-msg"), errorText(r), false); return; }
    const form = $("nt-settings-form");
    form.near_ahead.value = r.body.settings.near_ahead;
    form.late_places.value = r.body.settings.late_places;
    $("nt-channels").tBodies[0].replaceChildren(...r.body.channels.map((c) => {
      const s = c.settings;
      const where = s.url || [s.base_url, s.template_id || JSON.stringify(s.templates || {})]
        .filter(Boolean).join(" · ");
      return el("tr", {"data-id": c.id},
        el("td", {}, c.name), el("td", {}, KINDS[c.kind] || c.kind), el("td", {}, where),
        el("td", {class: "nw"}, s.secret_variable, " ",
          el("span", {class: `badge ${s.secret_set ? "b-ok" : "b-error"}`},
            s.secret_set ? "đã đặt · set" : "chưa đặt · missing")),
        el("td", {}, el("input", {type: "checkbox", checked: c.active, onchange: async (e) => {
          const x = await Layso.api("PATCH", `${base}/channels/${c.id}`, {active: e.target.checked});
          if (!x.ok) message($("nt-channel-msg"), errorText(x), false);
        }})),
        el("td", {class: "nw"},
          el("button", {type: "button", onclick: () => editChannel(c)}, "Sửa · edit"), " ",
          el("button", {type: "button", class: "danger", onclick: async () => {
            const x = await Layso.api("DELETE", `${base}/channels/${c.id}`);
            if (x.ok) loadChannels(); else message($("nt-channel-msg"), errorText(x), false);
          }}, "Xóa · delete")));
    }));
  }

  async function loadNotices() {
    const state = $("nt-state").value;
    const r = await Layso.api("GET", `${base}/notices${state ? `?state=${state}` : ""}`);
    if (!r.ok) { message($("nt-notices-msg"), errorText(r), false); return; }
    $("nt-counts").replaceChildren(...Object.entries(r.body.counts).map(([s, n]) =>
      el("span", {class: "bk-count", "data-state": s}, `${NOTICE_STATES[s] || s}: ${n}`)));
    const rows = r.body.notices.map((n) => el("tr", {"data-id": n.id, class: n.state === "failed" ? "late" : ""},
      el("td", {class: "nw"}, `${day(n.created_at.slice(0, 10))} ${clock(n.created_at)}`),
      el("td", {}, n.channel || "—"), el("td", {class: "nw"}, n.kind),
      el("td", {class: "nw"}, n.to || "—"), el("td", {}, n.text),
      el("td", {class: "num"}, String(n.attempts)), el("td", {}, n.last_error || ""),
      el("td", {}, n.state === "failed" && !(n.to || "").includes("*")
        ? el("button", {type: "button", onclick: async () => {
            const x = await Layso.api("POST", `${base}/notices/${n.id}/retry`);
            if (x.ok) loadNotices(); else message($("nt-notices-msg"), errorText(x), false);
          }}, "Gửi lại · resend")
        : "")));
    $("nt-notices").tBodies[0].replaceChildren(...(rows.length ? rows :
      [el("tr", {}, el("td", {colspan: 8, class: "empty"}, "Không có tin nào · none"))]));
  }

  $("nt-kind").addEventListener("change", example);
  $("nt-channel-cancel").addEventListener("click", stopEditing);
  $("nt-state").addEventListener("change", loadNotices);

  $("nt-settings-form").addEventListener("submit", async (e) => {
    e.preventDefault();
    const f = e.target;
    const r = await Layso.api("PATCH", `${base}/settings`,
      {near_ahead: Number(f.near_ahead.value), late_places: Number(f.late_places.value)});
    if (r.ok) message($("nt-settings-msg"), "Đã lưu · Saved", true);
    else message($("nt-settings-msg"), errorText(r), false);
  });

  $("nt-channel-form").addEventListener("submit", async (e) => {
    e.preventDefault();
    const f = e.target;
    let settings;
    try { settings = JSON.parse(f.settings.value || "{}"); }
    catch (err) {
      message($("nt-channel-msg"), "Cấu hình không phải JSON hợp lệ. · The settings are not valid JSON.", false);
      return;
    }
    const r = editing
      ? await Layso.api("PATCH", `${base}/channels/${editing}`, {name: f.name.value.trim(), settings})
      : await Layso.api("POST", `${base}/channels`,
        {kind: f.kind.value, name: f.name.value.trim(), settings});
    if (r.ok) {
      message($("nt-channel-msg"), editing ? "Đã lưu · Saved" : "Đã thêm · Added", true);
      stopEditing();
      loadChannels();
    } else message($("nt-channel-msg"), errorText(r), false);
  });

  example();
  loadChannels();
  loadNotices();
})();
