/* The phone page of one ticket: polls GET /api/v1/t/<code> every few seconds and shows where
 * the citizen stands; "SẮP ĐẾN LƯỢT" when few are ahead, "ĐẾN LƯỢT QUÝ KHÁCH — mời đến quầy
 * số N" when the ticket is called. While it waits: "Tôi sẽ đến muộn" (move back, once), "Hủy
 * số" (leave, after a confirmation) and a phone number to be told (POST/PUT /api/v1/t/<code>/…).
 *
 * Polling, not the hub: the page has no token, and a poll survives a phone that sleeps, changes
 * network or sits behind a captive portal. It polls again at once when the page becomes
 * visible or the phone comes back online, slows down once the visit is over.
 */
(function () {
  "use strict";
  const root = document.getElementById("ph");
  if (!root) return;
  const {$, esc} = Layso;
  const code = root.dataset.code;
  const pollMs = Math.max(2, Number(root.dataset.poll) || 5) * 1000;
  const FINAL = ["done", "cancelled", "expired"];

  let lastStatus = root.dataset.status;
  let lastCalledAt = null;
  let timer = null;
  let failures = 0;

  function minutes(s) {
    if (s === null || s === undefined) return "—";
    return "~" + Math.max(1, Math.ceil(s / 60)) + " phút <small>min</small>";
  }

  function hhmmss(d) {
    return d.toLocaleTimeString("vi-VN", {hour: "2-digit", minute: "2-digit", second: "2-digit"});
  }

  function statusHtml(t) {
    const c = esc(t.counter);
    switch (t.status) {
      case "waiting":
        return `<dl class="ph-facts">
          <div><dt>Số người đang chờ trước quý khách <small>People ahead</small></dt>
               <dd id="ph-ahead">${esc(t.ahead)}</dd></div>
          <div><dt>Thời gian chờ dự kiến <small>Estimated wait</small></dt>
               <dd id="ph-wait">${t.ahead ? minutes(t.estimated_wait_s) : "Được gọi ngay <small>Next</small>"}</dd></div>
        </dl>`;
      case "called":
        return t.call_count > 1
          ? `<p class="ph-msg">Đã gọi ${esc(t.call_count)} lần <small>Called ${esc(t.call_count)} times</small></p>`
          : "";
      case "serving":
        return `<p class="ph-msg ph-ok">Đang được phục vụ tại quầy số ${c}
                <small>Being served at counter ${c}</small></p>`;
      case "held":
        return `<p class="ph-msg">Hồ sơ đang tạm chờ — cán bộ sẽ gọi lại số của quý khách.
                <small>On hold — the clerk will call your number again.</small></p>`;
      case "done":
        return `<p class="ph-msg ph-ok">Đã hoàn thành. Cảm ơn quý khách!
                <small>Done. Thank you!</small></p>`;
      case "no_show":
        return `<p class="ph-msg ph-warn">Số của quý khách đã được gọi nhưng quý khách vắng mặt. Vui lòng
                liên hệ quầy hướng dẫn. <small>Your number was called while you were away.
                Please ask at the information desk.</small></p>`;
      case "cancelled":
        return `<p class="ph-msg ph-warn">Số này đã bị hủy. <small>This ticket was cancelled.</small></p>`;
      case "expired":
        return `<p class="ph-msg ph-warn">Hết giờ làm việc: số này đã hết hiệu lực. Vui lòng lấy số mới vào
                ngày làm việc tiếp theo. <small>The hall has closed for the day: this number has
                expired. Please take a new number on the next working day.</small></p>`;
      default:
        return "";
    }
  }

  function render(t) {
    $("ph-number").textContent = t.display_number;
    $("ph-area").innerHTML = esc(t.service_name) +
      (t.service_name_en ? `<small>${esc(t.service_name_en)}</small>` : "");
    const called = t.status === "called";
    $("ph-turn").hidden = !called;
    $("ph-turn-counter").textContent = t.counter || "";
    $("ph-turn-counter-en").textContent = t.counter || "";
    $("ph-status").innerHTML = statusHtml(t);
    root.dataset.status = t.status;
    // the visit is over (or never will be): no more "be near the counters"
    $("ph-note").hidden = !["waiting", "called", "held"].includes(t.status);
    document.title = (called ? "🔔 ĐẾN LƯỢT QUÝ KHÁCH – " : "Số ") + t.display_number;
    if (called && (lastStatus !== "called" || t.called_at !== lastCalledAt)) {
      if (navigator.vibrate) navigator.vibrate([400, 150, 400, 150, 400]);
    }
    lastStatus = t.status;
    lastCalledAt = t.called_at;
  }

  function renderTurn(t, turn) {
    if (!turn) return;
    $("ph-near").hidden = !turn.near;
    $("ph-actions").hidden = !turn.can_leave;
    if (!turn.can_leave) $("ph-leave-confirm").hidden = true;
    const late = $("ph-late");
    late.hidden = !turn.late_places;
    late.disabled = !turn.can_postpone;
    $("ph-late-text").innerHTML = turn.late_used
      ? "Đã lùi lượt <small>Moved back</small>"
      : `Tôi sẽ đến muộn — lùi ${esc(turn.late_places)} lượt
         <small>I'll be late — move back ${esc(turn.late_places)} places</small>`;
    $("ph-phone-form").hidden = !turn.notify;
    $("ph-phone-kept").hidden = !turn.phone;
    $("ph-phone-masked").textContent = turn.phone || "";
  }

  function say(html, error) {
    const box = $("ph-act-msg");
    box.innerHTML = html;
    box.classList.toggle("err", !!error);
    box.hidden = false;
  }

  async function act(path, method, body) {
    try {
      const resp = await fetch(`/api/v1/t/${encodeURIComponent(code)}/${path}`, {
        method, cache: "no-store",
        headers: {"Content-Type": "application/json", "Accept": "application/json"},
        body: JSON.stringify(body || {}),
      });
      const answer = await resp.json().catch(() => ({}));
      if (!resp.ok) {
        say(esc((answer.error && answer.error.message) || "Không thực hiện được. Could not be done."), true);
        return null;
      }
      render(answer.ticket);
      renderTurn(answer.ticket, answer.turn);
      return answer;
    } catch (e) {
      say("Mất kết nối — vui lòng thử lại. <small>No connection — please try again.</small>", true);
      return null;
    }
  }

  $("ph-late").addEventListener("click", async () => {
    const answer = await act("postpone", "POST");
    if (answer) {
      say(`Đã lùi ${esc(answer.moved)} lượt; còn ${esc(answer.ticket.ahead)} người trước quý khách.
           <small>Moved back ${esc(answer.moved)} places; ${esc(answer.ticket.ahead)} ahead of you.</small>`);
    }
  });
  $("ph-leave").addEventListener("click", () => { $("ph-leave-confirm").hidden = false; });
  $("ph-leave-no").addEventListener("click", () => { $("ph-leave-confirm").hidden = true; });
  $("ph-leave-yes").addEventListener("click", async () => {
    const answer = await act("leave", "POST", {confirm: true});
    if (answer) say("Đã hủy số. Cảm ơn quý khách! <small>You have left the queue. Thank you!</small>");
  });
  $("ph-phone-form").addEventListener("submit", async (e) => {
    e.preventDefault();
    const phone = $("ph-phone").value.trim();
    const answer = await act("phone", "PUT", {phone: phone || null});
    if (answer) {
      $("ph-phone").value = "";
      say(answer.turn.phone
        ? `Sẽ nhắn tin đến ${esc(answer.turn.phone)} khi sắp đến lượt. <small>We will text you when your turn is near.</small>`
        : "Đã xóa số điện thoại. <small>Phone number removed.</small>");
    }
  });

  function schedule() {
    clearTimeout(timer);
    let wait = pollMs;
    if (FINAL.includes(lastStatus)) wait = pollMs * 12;
    if (failures) wait = Math.min(30000, pollMs * Math.min(6, failures));
    timer = setTimeout(poll, wait);
  }

  async function poll() {
    clearTimeout(timer);
    try {
      const ctrl = new AbortController();
      const abort = setTimeout(() => ctrl.abort(), 8000);
      const resp = await fetch(`/api/v1/t/${encodeURIComponent(code)}`, {
        headers: {"Accept": "application/json"}, cache: "no-store", signal: ctrl.signal,
      });
      clearTimeout(abort);
      if (resp.status === 404) {
        $("ph-live").innerHTML = "Không còn tìm thấy số này. <small>This ticket is no longer found.</small>";
        return;
      }
      if (!resp.ok) throw new Error("HTTP " + resp.status);
      const body = await resp.json();
      failures = 0;
      render(body.ticket);
      renderTurn(body.ticket, body.turn);
      $("ph-live").classList.remove("off");
      $("ph-live").innerHTML = `Cập nhật lúc ${hhmmss(new Date())} · tự cập nhật mỗi ${pollMs / 1000} giây.
        <small>Updated at ${hhmmss(new Date())}; updates by itself.</small>`;
    } catch (e) {
      failures += 1;
      $("ph-live").classList.add("off");
      $("ph-live").innerHTML = "Mất kết nối — đang thử lại… <small>No connection — retrying…</small>";
    }
    schedule();
  }

  document.addEventListener("visibilitychange", () => { if (!document.hidden) poll(); });
  window.addEventListener("online", poll);
  poll();
})();
