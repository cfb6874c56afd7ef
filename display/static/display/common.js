/* Shared by the wall display and the counter display: start-up, offline badge, clock, flash.
 *
 *   const me = await LaysoScreen.whoami();   // retries while the server is unreachable
 *   LaysoScreen.clock.start();               // fills #clock-time / #clock-date each second
 *   LaysoScreen.status(online);              // the "Mất kết nối / Offline" badge
 */
(function () {
  "use strict";
  const $ = (id) => document.getElementById(id);
  const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

  /* The badge waits a moment before it shows, so a resync or a blip does not blink it. */
  const OFFLINE_GRACE_MS = 1200;
  let offTimer = null;
  function status(online) {
    const el = $("offline");
    if (!el) return;
    if (online) {
      clearTimeout(offTimer);
      offTimer = null;
      el.hidden = true;
      document.body.classList.remove("is-offline");
    } else if (el.hidden && offTimer === null) {
      offTimer = setTimeout(() => {
        offTimer = null;
        el.hidden = false;
        document.body.classList.add("is-offline");
      }, OFFLINE_GRACE_MS);
    }
  }

  /* Who this screen is. A TV may boot before the server does: keep trying, with back-off,
     until the server answers; null when it refuses the token. */
  async function whoami() {
    let delay = 1000;
    for (;;) {
      const r = await Layso.api("GET", "/me");
      if (r.ok && r.body) return r.body;
      if (r.status === 401 || r.status === 403 || r.status === 404) return null;
      status(false);
      await sleep(delay);
      delay = Math.min(delay * 2, 15000);
    }
  }

  function showSetup() {
    const el = $("setup");
    if (el) el.hidden = false;
    document.body.classList.add("needs-setup");
  }

  /* The hall's clock: the server's time (offset learnt from each snapshot) in the hall's zone. */
  const clock = {
    offset: 0,
    zone: "Asia/Ho_Chi_Minh",
    timer: null,
    fmtTime: null,
    fmtDate: null,
    setZone(zone) {
      if (!zone || zone === this.zone && this.fmtTime) return;
      this.zone = zone;
      this.fmtTime = null;
    },
    sync(serverIso) {
      const t = Date.parse(serverIso);
      if (!Number.isNaN(t)) this.offset = t - Date.now();
    },
    now() { return new Date(Date.now() + this.offset); },
    tick() {
      if (!this.fmtTime) {
        try {
          this.fmtTime = new Intl.DateTimeFormat("vi-VN",
            {timeZone: this.zone, hour: "2-digit", minute: "2-digit", hour12: false});
          this.fmtDate = new Intl.DateTimeFormat("vi-VN",
            {timeZone: this.zone, weekday: "long", day: "2-digit", month: "2-digit",
             year: "numeric"});
        } catch (e) {  /* unknown zone: the screen's own */
          this.fmtTime = new Intl.DateTimeFormat("vi-VN",
            {hour: "2-digit", minute: "2-digit", hour12: false});
          this.fmtDate = new Intl.DateTimeFormat("vi-VN",
            {weekday: "long", day: "2-digit", month: "2-digit", year: "numeric"});
        }
      }
      const now = this.now();
      const t = $("clock-time");
      const d = $("clock-date");
      if (t) t.textContent = this.fmtTime.format(now);
      if (d) {
        const text = this.fmtDate.format(now);
        d.textContent = text.charAt(0).toUpperCase() + text.slice(1);
      }
    },
    start() {
      this.tick();
      if (this.timer === null) this.timer = setInterval(() => this.tick(), 1000);
    },
    /* the hall's local date, YYYY-MM-DD, to notice a new business day */
    today() {
      try {
        return new Intl.DateTimeFormat("en-CA", {timeZone: this.zone}).format(this.now());
      } catch (e) {
        return new Intl.DateTimeFormat("en-CA").format(this.now());
      }
    },
  };

  /* Restart the element's "flash" animation (a new call). */
  function flash(el) {
    if (!el) return;
    el.classList.remove("flash");
    void el.offsetWidth;  // reflow, so the animation starts again
    el.classList.add("flash");
  }

  function fmtWait(seconds) {
    if (seconds === null || seconds === undefined) return "";
    if (seconds <= 0) return "Không phải chờ";
    const m = Math.max(1, Math.round(seconds / 60));
    if (m < 60) return `~${m} phút`;
    const h = Math.floor(m / 60);
    const rest = m % 60;
    return rest ? `~${h} giờ ${rest} phút` : `~${h} giờ`;
  }

  function fmtWaitEn(seconds) {
    if (seconds === null || seconds === undefined) return "";
    if (seconds <= 0) return "no wait";
    const m = Math.max(1, Math.round(seconds / 60));
    return m < 60 ? `~${m} min` : `~${Math.floor(m / 60)} h ${m % 60} min`;
  }

  /* socket.io retries a lost transport by itself, but not a connection the server refused
     (e.g. its database was restarting): try that again too, with back-off. */
  function el(tag, cls, text) {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined && text !== null) e.textContent = text;
    return e;
  }

  window.LaysoScreen = {$, sleep, status, whoami, showSetup, clock, flash, fmtWait, fmtWaitEn, el};
})();
