/* Helpers shared by the manager pages: DOM building, formats, labels. */
(function () {
  "use strict";
  const main = document.getElementById("main");

  const {el, dur} = Layso;  /* shared with every page (hall.js) */

  function pad(n) { return String(n).padStart(2, "0"); }

  /* 754 → "12,6 phút"; 40 → "40 giây" */
  function minutes(s) {
    if (s === null || s === undefined) return "—";
    if (s < 60) return `${Math.round(s)} giây`;
    return `${num(s / 60, 1)} phút`;
  }

  /* 196200 → "54,5 giờ" */
  function hours(s) {
    if (s === null || s === undefined) return "—";
    return `${num(s / 3600, 1)} giờ`;
  }

  /* 12.345 → "12,3" (Vietnamese decimal comma) */
  function num(x, digits) {
    if (x === null || x === undefined) return "—";
    return Number(x).toLocaleString("vi-VN", {maximumFractionDigits: digits || 0,
                                              minimumFractionDigits: 0});
  }

  function pct(x) {
    if (x === null || x === undefined) return "—";
    return `${num(x * 100, 1)} %`;
  }

  /* "2026-11-21T08:05:30+07:00" → "08:05:30" (the hall's local time as sent) */
  function clock(iso) { return iso ? iso.slice(11, 19) : ""; }

  /* "2026-11-21" → "21/11/2026" */
  function day(iso) { return iso ? `${iso.slice(8, 10)}/${iso.slice(5, 7)}/${iso.slice(0, 4)}` : ""; }

  /* "21/11/2026" (also 21-11-2026, 21.11.2026, 2026-11-21) → "2026-11-21"; "" → ""; a day
     that does not exist → null. Dates are typed and shown dd/mm/yyyy whatever the browser's
     locale (an <input type=date> follows the locale: mm/dd/yyyy in an en-US browser). */
  function isoDay(text) {
    text = (text || "").trim();
    if (!text) return "";
    let d, m, y;
    let g = text.match(/^(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})$/);
    if (g) [d, m, y] = [g[1], g[2], g[3]].map(Number);
    else if ((g = text.match(/^(\d{4})-(\d{2})-(\d{2})$/))) [y, m, d] = [g[1], g[2], g[3]].map(Number);
    else return null;
    const t = new Date(Date.UTC(y, m - 1, d));
    if (y < 2000 || t.getUTCFullYear() !== y || t.getUTCMonth() !== m - 1 || t.getUTCDate() !== d)
      return null;
    return `${y}-${pad(m)}-${pad(d)}`;
  }

  /* the form's date fields (dd/mm/yyyy) as ISO in q; false (and a message) when one is wrong */
  function dateFields(q, fields, msg) {
    for (const [name, input] of Object.entries(fields)) {
      const iso = isoDay(input.value);
      input.classList.toggle("invalid", iso === null);
      if (iso === null) {
        msg.textContent = `Ngày không hợp lệ: «${input.value}». Nhập theo dạng ngày/tháng/năm, ví dụ ` +
          `${day(Mgr.today || "2026-11-21")}. · Not a valid date: use dd/mm/yyyy.`;
        input.focus();
        return false;
      }
      if (iso) q.set(name, iso); else q.delete(name);
    }
    msg.textContent = "";
    return true;
  }

  const STATES = {
    waiting: ["Đang chờ", "Waiting"],
    called: ["Đang gọi", "Called"],
    serving: ["Đang phục vụ", "Serving"],
    held: ["Tạm giữ", "On hold"],
    done: ["Đã xong", "Done"],
    no_show: ["Vắng mặt", "No-show"],
    cancelled: ["Đã hủy", "Cancelled"],
    expired: ["Hết giờ", "Expired"],
  };
  const COUNTER_STATES = {
    open: ["Đang mở", "Open"], paused: ["Tạm dừng", "Paused"], closed: ["Đóng", "Closed"],
  };
  const PRINTER_STATES = {
    ok: ["Bình thường", "OK"], paper_low: ["Sắp hết giấy", "Paper low"],
    paper_out: ["Hết giấy", "Paper out"], offline: ["Mất kết nối", "Offline"],
    error: ["Lỗi", "Error"], unknown: ["Không rõ trạng thái", "Status unknown"],
  };
  const POLICIES = {
    strict: ["Ưu tiên tuyệt đối", "Strict: priority always first"],
    interleaved: ["Xen kẽ", "Interleaved"],
    weighted: ["Theo thời gian chờ có trọng số", "Weighted by waiting time"],
  };

  function badge(map, key) {
    const label = (map[key] || [key || "—"])[0];
    return el("span", {class: `badge b-${key || "none"}`, title: (map[key] || [])[1] || ""}, label);
  }

  function message(node, text, ok) {
    node.textContent = text || "";
    node.className = "msg " + (ok ? "ok" : "err");
  }

  function errorText(r) {
    return (r.error && r.error.message) || `Lỗi ${r.status}`;
  }

  function query(form) {
    const q = new URLSearchParams();
    for (const [k, v] of new FormData(form).entries()) if (v !== "") q.set(k, v);
    return q;
  }

  window.Mgr = {
    hall: main ? main.dataset.hall : null,
    role: main ? main.dataset.role : null,
    today: main ? main.dataset.today : null,
    me: main ? main.dataset.user : null,
    el, dur, minutes, hours, num, pct, clock, day, pad, badge, message, errorText, query,
    isoDay, dateFields,
    STATES, COUNTER_STATES, PRINTER_STATES, POLICIES,
  };
})();
