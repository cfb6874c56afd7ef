/* Shared by the wall display and the counter display: start-up, offline badge, clock, flash.
 *
 *   const me = await LaysoScreen.whoami();   // retries while the server is unreachable
 *                                            // (showing the offline badge meanwhile)
 *   LaysoScreen.clock.start();               // fills #clock-time / #clock-date each second
 *   LaysoScreen.status(online);              // the "Mất kết nối / Offline" badge
 */
(function () {
  "use strict";
  const {$} = Layso;

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
  function whoami() {
    return Layso.whoami({retry: true, onRetry: () => status(false)});
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

  window.LaysoScreen = {status, whoami, showSetup, clock, flash};
})();
