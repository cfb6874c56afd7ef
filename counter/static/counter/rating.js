/* The citizen's rating pad: a tablet at one counter, bound to it by its device token.
 *
 * Idle shows the hall's greeting and the counter. On `rating.requested` for this counter it asks
 * with large smileys (the hall's scale and labels, best first); a low score offers reason chips;
 * then a thank-you, and back to idle. One tap rates once: the screen leaves the question at the
 * first tap, and the server refuses a second rating of the same visit anyway.
 */
(function () {
  "use strict";

  const {$, esc} = Layso;

  const QUESTION_MS = 20000;   // no tap on the question or the reasons: back to idle
  const THANKS_MS = 5000;
  const STALE_MS = 10 * 60 * 1000;  // a request replayed after a long outage is not asked

  const DEFAULT_LABELS = {
    // the state's official evaluation: three levels
    3: [["Rất hài lòng", "Very satisfied"], ["Hài lòng", "Satisfied"],
        ["Không hài lòng", "Dissatisfied"]],
    4: [["Rất hài lòng", "Very satisfied"], ["Hài lòng", "Satisfied"],
        ["Bình thường", "Neutral"], ["Không hài lòng", "Dissatisfied"]],
    5: [["Rất hài lòng", "Very satisfied"], ["Hài lòng", "Satisfied"],
        ["Bình thường", "Neutral"], ["Không hài lòng", "Dissatisfied"],
        ["Rất không hài lòng", "Very dissatisfied"]],
  };
  const DEFAULT_REASONS = [
    ["Thái độ phục vụ", "Staff attitude"], ["Thời gian chờ lâu", "Long wait"],
    ["Hướng dẫn chưa rõ", "Unclear guidance"], ["Thủ tục phức tạp", "Complicated procedure"],
    ["Cơ sở vật chất", "Facilities"],
  ];
  // faces from very happy (4) to very unhappy (0), chosen per scale, best first
  const MOODS = {3: [4, 3, 0], 4: [4, 3, 2, 0], 5: [4, 3, 2, 1, 0]};
  const COLORS = {4: ["#43a047", "#2e7d32"], 3: ["#9ccc65", "#689f38"], 2: ["#fdd835", "#c9a600"],
                  1: ["#fb8c00", "#c26a00"], 0: ["#e53935", "#b71c1c"]};

  const THANKS_ICON = `<svg viewBox="0 0 100 100" width="150" height="150" aria-hidden="true">
    <circle cx="50" cy="50" r="46" fill="#2e7d32"/>
    <path d="M29 52 L44 67 L72 37" fill="none" stroke="#fff" stroke-width="9"
          stroke-linecap="round" stroke-linejoin="round"/></svg>`;

  const st = {
    hall: null, counter: null, info: {}, scale: 4, labels: [], reasons: [],
    ticket: null, score: null, chosen: new Set(), sending: false, timer: null,
    skew: 0, rated: new Set(), screen: "setup",
  };

  Layso.init({device: true});
  Layso.setLang("vi");

  function face(mood, size) {
    const [fill, edge] = COLORS[mood];
    const ink = "#3a2a12";
    let mouth;
    if (mood === 4) mouth = `<path d="M27 57 C31 86 69 86 73 57 Z" fill="${ink}"/>` +
      `<path d="M36 72 C42 80 58 80 64 72 C58 76 42 76 36 72 Z" fill="#ef6c6c"/>`;
    else if (mood === 3) mouth = `<path d="M30 60 Q50 80 70 60" fill="none" stroke="${ink}" stroke-width="6" stroke-linecap="round"/>`;
    else if (mood === 2) mouth = `<path d="M33 67 L67 67" fill="none" stroke="${ink}" stroke-width="6" stroke-linecap="round"/>`;
    else if (mood === 1) mouth = `<path d="M32 72 Q50 60 68 72" fill="none" stroke="${ink}" stroke-width="6" stroke-linecap="round"/>`;
    else mouth = `<path d="M30 75 Q50 54 70 75" fill="none" stroke="${ink}" stroke-width="6" stroke-linecap="round"/>` +
      `<path d="M24 33 L40 27 M76 33 L60 27" stroke="${ink}" stroke-width="5" stroke-linecap="round"/>`;
    const eyes = mood === 4
      ? `<path d="M28 42 Q35 32 42 42 M58 42 Q65 32 72 42" fill="none" stroke="${ink}" stroke-width="5" stroke-linecap="round"/>`
      : `<ellipse cx="36" cy="42" rx="5" ry="7" fill="${ink}"/><ellipse cx="64" cy="42" rx="5" ry="7" fill="${ink}"/>`;
    return `<svg viewBox="0 0 100 100" width="${size}" height="${size}" aria-hidden="true" focusable="false">
      <circle cx="50" cy="50" r="46" fill="${fill}" stroke="${edge}" stroke-width="3"/>
      <ellipse cx="36" cy="22" rx="14" ry="7" fill="#fff" opacity=".22"/>
      ${eyes}${mouth}</svg>`;
  }

  function show(screen) {
    st.screen = screen;
    document.body.dataset.screen = screen;
    for (const el of document.querySelectorAll(".pad-screen")) {
      el.hidden = el.dataset.screen !== screen;
    }
  }

  function setError(text) {
    const el = $("pad-error");
    el.hidden = !text;
    el.innerHTML = text || "";
  }

  function arm(ms, fn) {
    clearTimeout(st.timer);
    st.timer = setTimeout(fn, ms);
  }

  function idle() {
    clearTimeout(st.timer);
    st.ticket = null;
    st.score = null;
    st.chosen.clear();
    st.sending = false;
    setError("");
    show("idle");
  }

  // --- the hall's scale, labels and reasons ---------------------------------------------------

  function pair(item) {
    if (typeof item === "string") return [item, ""];
    if (item && typeof item.vi === "string") return [item.vi, item.en || ""];
    return null;
  }

  function configure(info) {
    st.info = info || {};
    const scale = [3, 4, 5].includes(st.info.rating_scale) ? st.info.rating_scale : 4;
    st.scale = scale;
    const given = Array.isArray(st.info.rating_labels) ? st.info.rating_labels.map(pair) : [];
    st.labels = given.length === scale && given.every((p) => p && p[0])
      ? given : DEFAULT_LABELS[scale];
    const reasons = Array.isArray(st.info.rating_reasons) ? st.info.rating_reasons.map(pair) : [];
    st.reasons = reasons.length && reasons.every((p) => p && p[0]) ? reasons : DEFAULT_REASONS;

    $("idle-hall").textContent = st.info.name || "";
    $("idle-greeting").textContent = st.info.greeting || "Xin kính chào quý khách";
    $("smileys").className = `smileys n${scale}`;
    $("smileys").innerHTML = st.labels.map(([vi, en], i) => {
      const score = scale - i;
      return `<button type="button" class="smiley" data-score="${score}"
                      aria-label="${esc(vi)} (${score}/${scale})">
        ${face(MOODS[scale][i], scale === 5 ? 168 : 200)}
        <span class="label">${esc(vi)}</span><span class="label-en">${esc(en)}</span>
      </button>`;
    }).join("");
  }

  // below the top two levels (the ones the reports count as satisfied): ask what was not good
  function isLow(score) { return score < st.scale - 1; }

  // --- asking --------------------------------------------------------------------------------

  function ask(ticket) {
    st.ticket = ticket;
    st.score = null;
    st.chosen.clear();
    st.sending = false;
    setError("");
    $("q-ticket").textContent = ticket.display_number ? `số ${ticket.display_number}` : "";
    for (const b of document.querySelectorAll(".smiley")) b.disabled = false;
    show("question");
    arm(QUESTION_MS, idle);
  }

  function chooseScore(score) {
    if (st.screen !== "question" || st.sending || !st.ticket) return;
    st.score = score;
    if (isLow(score)) {
      const i = st.scale - score;
      $("r-chosen").innerHTML = face(MOODS[st.scale][i], 110) +
        `<span>${esc(st.labels[i][0])}</span>`;
      $("chips").innerHTML = st.reasons.map(([vi, en]) => `
        <button type="button" class="chip" data-reason="${esc(vi)}" aria-pressed="false">
          <span class="tick" aria-hidden="true"></span>
          <span class="chip-text">${esc(vi)}<small>${esc(en)}</small></span></button>`).join("");
      $("r-send").disabled = false;
      show("reasons");
      arm(QUESTION_MS, send);  // walking away still leaves the score
      return;
    }
    send();
  }

  async function send() {
    if (st.sending || !st.ticket || st.score === null) return;
    st.sending = true;
    clearTimeout(st.timer);
    for (const b of document.querySelectorAll(".smiley, #r-send, #r-back")) b.disabled = true;
    const ticket = st.ticket;
    const score = st.score;
    const r = await Layso.api("POST", `/halls/${st.hall}/tickets/${ticket.id}/rating`,
                              {score, reasons: [...st.chosen]});
    if (r.ok || (r.error && r.error.code === "already_rated")) {
      st.rated.add(ticket.id);
      $("t-face").innerHTML = THANKS_ICON;
      $("t-note").innerHTML = r.ok
        ? "Ý kiến của quý khách giúp chúng tôi phục vụ tốt hơn. <small>Your feedback helps us serve you better.</small>"
        : "Lượt phục vụ này đã được đánh giá trước đó. <small>This visit was already rated.</small>";
      st.ticket = null;
      show("thanks");
      arm(THANKS_MS, idle);
      return;
    }
    st.sending = false;
    if (r.status === 401) {
      setup("Mã thiết bị không còn hiệu lực", "This pad's token is no longer valid.");
      return;
    }
    if (r.status === 0) {
      // no connection: let the citizen try again on the same screen
      setError(`Chưa gửi được đánh giá, vui lòng chạm lại. <small>Not sent; please tap again.</small>`);
      for (const b of document.querySelectorAll(".smiley, #r-send, #r-back")) b.disabled = false;
      arm(QUESTION_MS, idle);
      return;
    }
    // refused for good (not served here, off the scale …): say so briefly, then idle
    setError(esc(r.error ? r.error.message : "Không gửi được đánh giá."));
    show("idle");
    arm(THANKS_MS, idle);
  }

  // --- the hub -------------------------------------------------------------------------------

  function onSnapshot(state) {
    st.skew = Date.parse(state.at) - Date.now();
    configure(state.info);
    const c = (state.counters || []).find((x) => x.number === st.counter);
    const names = new Map((state.services || []).map((s) => [s.code, s.name]));
    $("idle-areas").textContent = c ? (c.services || []).map((code) => names.get(code) || code)
      .join(" · ") : "";
    if (st.screen === "setup") idle();
  }

  function onEvent(name, body) {
    if (name !== "rating.requested" || body.counter !== st.counter || !body.ticket) return;
    if (st.rated.has(body.ticket.id)) return;
    const age = Date.now() + st.skew - Date.parse(body.at);
    if (age > STALE_MS) return;
    if (st.sending) return;
    ask(body.ticket);
  }

  function setup(vi, en) {
    if (st.conn) st.conn.close();
    $("setup-title").innerHTML = `${esc(vi)} <small>${esc(en)}</small>`;
    $("setup-text").innerHTML =
      "Mở trang này một lần với mã thiết bị của bảng đánh giá: <code>/rating?token=…</code>" +
      " <small>Open this page once with the rating pad's device token.</small>";
    show("setup");
  }

  // --- wiring --------------------------------------------------------------------------------

  document.addEventListener("click", (e) => {
    const target = e.target instanceof Element ? e.target : null;
    if (!target) return;
    const smiley = target.closest(".smiley");
    if (smiley && !smiley.disabled) { chooseScore(parseInt(smiley.dataset.score, 10)); return; }
    const chip = target.closest(".chip");
    if (chip && !st.sending) {
      const reason = chip.dataset.reason;
      if (st.chosen.has(reason)) st.chosen.delete(reason); else st.chosen.add(reason);
      chip.classList.toggle("on", st.chosen.has(reason));
      chip.setAttribute("aria-pressed", st.chosen.has(reason) ? "true" : "false");
      arm(QUESTION_MS, send);
      return;
    }
    if (target.closest("#r-send")) { send(); return; }
    if (target.closest("#r-back") && !st.sending) {
      st.score = null;
      st.chosen.clear();
      show("question");
      arm(QUESTION_MS, idle);
    }
  });
  document.addEventListener("contextmenu", (e) => e.preventDefault());

  async function start() {
    if (!Layso.token) {
      setup("Bảng đánh giá chưa được kích hoạt", "This rating pad is not set up.");
      return;
    }
    const me = await Layso.whoami();
    if (!me) {
      setup("Mã thiết bị không hợp lệ", "The device token is not valid.");
      return;
    }
    if (me.kind !== "device" || me.role !== "rating-pad" || me.counter === null) {
      setup("Mã này không phải của bảng đánh giá tại quầy",
            "This token is not a rating pad's bound to a counter.");
      return;
    }
    st.hall = me.hall;
    st.counter = me.counter;
    $("idle-counter").textContent = String(me.counter);
    $("idle-hall").textContent = me.hall_name || "";
    st.conn = Layso.connect({
      hall: me.hall, onSnapshot, onEvent,
      onStatus(online) { $("pad-conn").className = "pad-conn " + (online ? "on" : "off"); },
    });
    try {
      if (navigator.wakeLock) await navigator.wakeLock.request("screen");
    } catch (e) { /* the screen may sleep; the pad still works */ }
  }

  start();
})();
