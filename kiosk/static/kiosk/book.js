/* The public booking page (/dat-lich): area → day → time slot (or a remote number for today)
 * → phone (+ CCCD where the hall asks for it) → the booking code and its QR on screen.
 * And the page of one booking (/dat-lich/ma/<code>): its state, and cancelling it.
 * Public API only (layso/booking_api.py); refusals are shown as the server words them.
 */
(function () {
  "use strict";
  const {$, esc} = Layso;

  function showError(err) {
    const box = $("bk-error");
    if (!err) { box.hidden = true; return; }
    const vi = err.message_vi || err.message || "Có lỗi, vui lòng thử lại.";
    const en = err.message_en && err.message_en !== vi ? err.message_en : "";
    box.innerHTML = esc(vi) + (en ? `<small>${esc(en)}</small>` : "");
    box.dataset.code = err.code || "";
    box.hidden = false;
    box.scrollIntoView({block: "nearest"});
  }

  function dayName(iso) {
    const d = new Date(iso + "T00:00:00");
    const vi = ["CN", "T2", "T3", "T4", "T5", "T6", "T7"][d.getDay()];
    const en = d.toLocaleDateString("en-GB", {weekday: "short"});
    return [`${vi} ${iso.slice(8, 10)}/${iso.slice(5, 7)}`, en];
  }

  function press(list, button) {
    for (const b of list.querySelectorAll("button")) b.setAttribute("aria-pressed", "false");
    if (button) button.setAttribute("aria-pressed", "true");
  }

  /* --- /dat-lich ------------------------------------------------------------------------- */
  const root = $("bk");
  if (root) {
    const hall = root.dataset.hall;
    const base = `/halls/${encodeURIComponent(hall)}`;
    const choice = {area: null, day: null, slot: null, remote: false};
    let today = null;

    function hideFrom(step) {
      const order = ["bk-days-step", "bk-slots-step", "bk-form-step"];
      for (const id of order.slice(order.indexOf(step))) $(id).hidden = true;
      $("bk-done").hidden = true;
      showError(null);
    }

    async function loadAreas() {
      const r = await Layso.api("GET", `${base}/booking`);
      const list = $("bk-areas");
      if (!r.ok) { list.innerHTML = ""; showError(r.error); return; }
      list.innerHTML = "";
      today = r.body.today;
      if (!r.body.areas.length) {
        list.innerHTML = "<p>Hiện chưa có lĩnh vực nhận đặt lịch. <small>No area takes bookings now.</small></p>";
      }
      for (const a of r.body.areas) {
        const b = Layso.el("button", {type: "button", "data-area": a.code});
        b.innerHTML = `<b>${esc(a.name)}</b><small>${esc(a.name_en)}</small>`;
        b.addEventListener("click", () => { press(list, b); pickArea(a); });
        list.append(b);
      }
    }

    async function pickArea(area) {
      choice.area = area; choice.day = null; choice.slot = null;
      hideFrom("bk-days-step");
      $("bk-id-row").hidden = !area.require_id;
      $("bk-id").required = !!area.require_id;
      const remote = $("bk-remote");
      remote.hidden = !area.remote_number;
      remote.setAttribute("aria-pressed", "false");
      const list = $("bk-days");
      list.innerHTML = "";
      $("bk-days-step").hidden = false;
      if (!area.has_slots) return;
      const r = await Layso.api("GET", `${base}/booking/${encodeURIComponent(area.code)}/days`);
      if (!r.ok) { showError(r.error); return; }
      for (const d of r.body.days) {
        const [vi, en] = dayName(d.date);
        const b = Layso.el("button", {type: "button", "data-day": d.date});
        b.innerHTML = `<b>${esc(vi)}</b>` + (d.closed
          ? `Nghỉ: ${esc(d.reason || "")}<small>Closed ${esc(d.reason_en || "")}</small>`
          : `Còn ${esc(d.free)} chỗ<small>${esc(en)} · ${esc(d.free)} free</small>`);
        b.disabled = d.closed || !d.free;
        b.addEventListener("click", () => { press(list, b); remote.setAttribute("aria-pressed", "false"); pickDay(d.date); });
        list.append(b);
      }
    }

    $("bk-remote").addEventListener("click", (ev) => {
      press($("bk-days"), null);
      ev.currentTarget.setAttribute("aria-pressed", "true");
      choice.day = null; choice.slot = null;
      hideFrom("bk-slots-step");
      showForm("Số từ xa hôm nay <small>Remote number for today</small>");
      choice.remote = true;
    });

    async function pickDay(day) {
      choice.day = day; choice.slot = null; choice.remote = false;
      hideFrom("bk-slots-step");
      const r = await Layso.api("GET",
        `${base}/booking/${encodeURIComponent(choice.area.code)}/days/${day}`);
      if (!r.ok) { showError(r.error); return; }
      const list = $("bk-slots");
      list.innerHTML = "";
      for (const s of r.body.slots) {
        const b = Layso.el("button", {type: "button", "data-slot": s.time});
        b.innerHTML = `<b>${esc(s.time)}</b>` + (s.free
          ? `Còn ${esc(s.free)} chỗ<small>${esc(s.free)} free</small>`
          : "Hết chỗ<small>Full</small>");
        b.disabled = !s.free;
        b.addEventListener("click", () => {
          press(list, b);
          choice.slot = s.time;
          const [vi] = dayName(day);
          showForm(`${esc(choice.area.name)} · ${esc(vi)} · ${esc(s.time)}`);
        });
        list.append(b);
      }
      if (!r.body.slots.length) list.innerHTML = "<p>Không còn giờ trống. <small>No time left.</small></p>";
      $("bk-slots-step").hidden = false;
    }

    function showForm(chosen) {
      $("bk-chosen").innerHTML = chosen;
      $("bk-form-step").hidden = false;
      $("bk-done").hidden = true;
      showError(null);
      $("bk-phone").focus();
    }

    let pendingKey = null;
    $("bk-form").addEventListener("submit", async (ev) => {
      ev.preventDefault();
      showError(null);
      const body = {
        service: choice.area.code,
        date: choice.remote ? today : choice.day,  /* the hall's today, from the server */
        slot: choice.remote ? null : choice.slot,
        phone: $("bk-phone").value,
        id_number: choice.area.require_id ? $("bk-id").value : null,
      };
      const sig = JSON.stringify(body);
      if (!pendingKey || pendingKey.sig !== sig) pendingKey = {sig, key: crypto.randomUUID ? crypto.randomUUID() : String(Math.random()).slice(2) + Date.now()};
      $("bk-submit").disabled = true;
      const r = await Layso.api("POST", `${base}/bookings`, body, {key: pendingKey.key});
      $("bk-submit").disabled = false;
      if (!r.ok) { showError(r.error); return; }
      pendingKey = null;
      done(r.body.booking);
    });

    function done(b) {
      for (const id of ["bk-areas-step", "bk-days-step", "bk-slots-step", "bk-form-step"]) $(id).hidden = true;
      $("bk-code").textContent = b.code;
      $("bk-qr").src = b.qr_url;
      const [vi, en] = dayName(b.date);
      $("bk-when").innerHTML = `${esc(b.service_name)} · ${esc(vi)} · ` +
        (b.slot ? esc(b.slot) : "Số từ xa <small>Remote number</small>") +
        `<small>${esc(b.service_name_en)} · ${esc(en)}</small>`;
      $("bk-window").innerHTML = b.slot && choice.area
        ? `Xác nhận tại kiosk từ ${esc(choice.area.checkin_before_min)} phút trước đến ${esc(choice.area.checkin_after_min)} phút sau giờ hẹn; đến muộn hơn sẽ xếp như khách đến trực tiếp. ` +
          `<small>Check in at the kiosk from ${esc(choice.area.checkin_before_min)} min before to ${esc(choice.area.checkin_after_min)} min after your time; later you join as a walk-in.</small>`
        : "";
      $("bk-link").href = new URL(b.page_url).pathname;
      $("bk-done").hidden = false;
      $("bk-done").scrollIntoView({block: "start"});
    }

    loadAreas();
  }

  /* --- /dat-lich/ma/<code> ---------------------------------------------------------------- */
  const one = $("bk-one");
  if (one && $("bk-cancel")) {
    $("bk-cancel").addEventListener("click", async () => {
      if (!window.confirm("Hủy lịch hẹn này? / Cancel this booking?")) return;
      const r = await Layso.api("DELETE",
        `/halls/${encodeURIComponent(one.dataset.hall)}/bookings/${encodeURIComponent(one.dataset.code)}`);
      if (!r.ok) { showError(r.error); return; }
      window.location.reload();
    });
  }
})();
