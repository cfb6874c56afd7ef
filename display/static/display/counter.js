/* The small screen over one counter: the number it serves now, "Tạm dừng — <reason>" while
 * paused, "Quầy đóng" when closed. The counter is the one its device token is bound to. */
(function () {
  "use strict";
  const S = window.LaysoScreen;
  const {$, el} = Layso;
  const state = {hall: null, number: null, counter: null, clerkName: null, clerk: null};

  function render() {
    const c = state.counter;
    const box = $("cd");
    const label = $("cd-label");
    const num = $("cd-number");
    const sub = $("cd-sub");
    $("counter-title").textContent = c && c.name ? c.name : `Quầy ${state.number}`;
    sub.replaceChildren();
    if (!c) return;
    const t = c.ticket && (c.ticket.status === "called" || c.ticket.status === "serving")
      ? c.ticket : null;
    if (c.state === "closed") {
      box.dataset.state = "closed";
      label.textContent = "\u00a0";
      num.textContent = "Quầy đóng";
      sub.append(el("span", null, "Xin vui lòng đến quầy khác"), el("small", null, "Closed"));
    } else if (c.state === "paused") {
      box.dataset.state = "paused";
      label.textContent = "\u00a0";
      num.textContent = c.pause_reason ? `Tạm dừng — ${c.pause_reason}` : "Tạm dừng";
      sub.append(el("span", null, "Xin vui lòng chờ trong giây lát"),
                 el("small", null, c.pause_reason_en ? `Paused — ${c.pause_reason_en}` : "Paused"));
    } else if (t) {
      box.dataset.state = t.status;
      // the English beside the Vietnamese it translates, not after the area's name
      label.replaceChildren(t.status === "called" ? "Mời quý khách có số " : "Đang phục vụ số ",
        el("small", null, t.status === "called" ? "Now calling" : "Now serving"));
      num.textContent = t.display_number;
      sub.append(el("span", null, t.service_name || ""));
      if (t.service_kind === "results") {
        sub.append(el("span", {class: "purpose"}, "Nhận kết quả"), el("small", null, "Collect results"));
      }
    } else {
      box.dataset.state = "idle";
      // nobody is called: say so, never "Xin mời số tiếp theo" as if calling
      label.replaceChildren("Quầy sẵn sàng ", el("small", null, "Ready"));
      num.textContent = "—";
      sub.append(el("span", null, "Vui lòng theo dõi màn hình gọi số"),
                 el("small", null, "Please watch the hall's display"));
    }
    const name = state.clerkName || "";
    // "Cán bộ quầy 1" already says who it is: no "Cán bộ: Cán bộ quầy 1"
    const clerk = c.state === "closed" || !name ? ""
      : (/^cán bộ/i.test(name) ? name : `Cán bộ: ${name}`);
    $("cd-clerk").textContent = clerk;
  }

  async function refreshClerk() {
    const r = await Layso.api("GET",
      `/halls/${encodeURIComponent(state.hall)}/counters/${state.number}`);
    if (r.ok && r.body && r.body.counter) {
      state.clerk = r.body.counter.clerk;
      state.clerkName = r.body.counter.clerk_name || null;
      render();
    }
  }

  function onSnapshot(s) {
    S.clock.setZone(s.info.timezone);
    S.clock.sync(s.at);
    S.clock.start();
    state.counter = s.counters.find((c) => c.number === state.number) || null;
    state.clerk = state.counter ? state.counter.clerk : null;
    state.clerkName = state.counter ? state.counter.clerk_name : null;
    render();
    document.body.dataset.ready = "1";
  }

  function onEvent(name, body) {
    if (body.counter !== state.number) return;
    if (name === "counter.changed") {
      const old = state.counter || {number: state.number};
      state.counter = Object.assign({}, old, {
        state: body.state, ticket: body.ticket,
        pause_reason: body.pause_reason === undefined ? old.pause_reason : body.pause_reason,
        pause_reason_en: body.pause_reason_en === undefined ? old.pause_reason_en
          : body.pause_reason_en,
      });
      if (body.clerk_name !== undefined) {  // the clerk's full name comes with the event
        state.clerk = body.clerk;
        state.clerkName = body.clerk_name || null;
      } else if (body.clerk !== state.clerk) {  // an older server: ask for the name
        state.clerk = body.clerk;
        state.clerkName = null;
        if (body.clerk) refreshClerk();
      }
      render();
    } else if (name === "ticket.called" || name === "ticket.recalled") {
      state.counter = Object.assign({}, state.counter || {}, {ticket: body.ticket});
      render();
      S.flash($("cd"));
    }
  }

  async function start() {
    Layso.init({device: true});
    Layso.setLang("vi");
    const me = await S.whoami();
    if (!me || !me.hall || me.counter === null || me.counter === undefined) {
      S.showSetup();
      return;
    }
    state.hall = me.hall;
    state.number = me.counter;
    $("counter-title").textContent = `Quầy ${me.counter}`;
    Layso.connect({hall: me.hall, onSnapshot, onEvent, onStatus: S.status});
  }

  start();
})();
