/* The kiosk: a touchscreen in the hall where citizens take a number.
 *
 * Screens: home (the areas, with people waiting and the estimated wait; closed or used-up areas
 * say so and cannot be tapped), priority (the hall's priority groups), search (procedures by
 * name with an on-screen keyboard, accent-insensitive: "khai sinh" finds "Đăng ký khai sinh"),
 * suggestion box, and the ticket (number, area, people ahead, estimated wait, QR code, and what
 * the printer did). Everything is in Vietnamese with English beneath; the language button swaps
 * which comes first. Any screen but home goes back to home by itself when nobody touches it.
 *
 * One tap gives one ticket: the first tap sets `busy` and covers the screen until the answer
 * comes. The hub (Layso.connect) keeps the counts live and reconnects by itself; the kiosk hears
 * `ticket.printed` / `print.failed` for its own tickets, and asks the server if it heard nothing.
 *
 * Options in the address (kept by the kiosk browser's start URL): ?idle=SECONDS (30) before an
 * untouched screen goes home, ?ticket_idle=SECONDS (15) for the ticket screen.
 */
(function () {
  "use strict";

  const {$, esc} = Layso;
  const root = $("k");
  const serverPrinter = root.dataset.serverPrinter;

  const seconds = (name, fallback, low) => {
    const v = Number(Layso.params.get(name));
    return Number.isFinite(v) && v >= low ? v : fallback;
  };
  const IDLE_S = seconds("idle", 30, 2);
  const TICKET_IDLE_S = seconds("ticket_idle", 15, 2);
  const THANKS_S = 6;
  const PRINT_CHECK_MS = [4000, 12000];  // ask the server if no print event came by then
  const REFRESH_MS = 60000;             // opening hours change with the clock, not with events

  // --- texts ------------------------------------------------------------------------------
  const m = Layso.waitMinutes;
  const T = {
    greeting: ["Xin kính chào quý khách", "Welcome"],
    loading: ["Đang tải…", "Loading…"],
    setup: ["Kiosk chưa được cài đặt: vui lòng mở trang một lần với mã ?token=… của kiosk.",
            "This kiosk is not set up: open the page once with the kiosk's ?token=…"],
    offline: ["Đang kết nối lại máy chủ…", "Reconnecting to the server…"],
    home_title: ["Mời chọn lĩnh vực cần giải quyết", "Please choose a service"],
    home_title_prio: ["Mời chọn lĩnh vực để lấy số ưu tiên", "Choose a service for your priority number"],
    waiting: (n) => [`${n} người đang chờ`, `${n} waiting`],
    wait_about: (s) => [`Chờ khoảng ${m(s)} phút`, `About ${m(s)} min wait`],
    no_wait: ["Không phải chờ", "No wait"],
    closed: ["Ngoài giờ tiếp nhận", "Closed now"],
    exhausted: ["Đã hết số hôm nay", "No numbers left today"],
    tool_search: ["Tìm theo tên thủ tục", "Find by procedure"],
    tool_prio: ["Tôi thuộc đối tượng ưu tiên", "I have priority"],
    tool_suggest: ["Hòm thư góp ý", "Suggestion box"],
    tool_checkin: ["Đã đặt lịch hẹn", "I have a booking"],
    checkin_title: ["Xác nhận lịch hẹn", "Check in for your booking"],
    checkin_sub: ["Quét mã QR trên điện thoại, hoặc nhập mã đặt lịch (6 ký tự) hay số điện thoại đã đặt.",
                  "Scan the QR on your phone, or type the booking code (6 characters) or the phone number you booked with."],
    checkin_send: ["Xác nhận", "Check in"],
    checkin_busy: ["Đang xác nhận lịch hẹn…", "Checking you in…"],
    booked_at: (t) => [`Giờ hẹn: ${t}`, `Booked time: ${t}`],
    prio_title: ["Quý khách thuộc đối tượng nào?", "Which applies to you?"],
    prio_sub: ["Theo quy định, những người dưới đây được phục vụ trước. Cán bộ có thể đề nghị xuất trình giấy tờ.",
               "By law, these people are served first. Staff may ask for proof."],
    prio_none: ["Không thuộc đối tượng nào — quay lại", "None of these — go back"],
    prio_clear: ["Bỏ chọn ưu tiên", "Cancel priority"],
    back: ["‹ Quay lại", "‹ Back"],
    search_title: ["Tìm thủ tục", "Find a procedure"],
    search_hint: ["Gõ vài chữ trong tên thủ tục, không cần gõ dấu. Ví dụ: khai sinh",
                  "Type a few letters of the procedure's name; accents are optional. E.g. khai sinh"],
    search_none: ["Không tìm thấy thủ tục phù hợp. Hãy thử từ khác, hoặc hỏi cán bộ hướng dẫn.",
                  "Nothing found. Try another word, or ask the staff."],
    search_take: ["Lấy số", "Get a number"],
    search_area: ["Lĩnh vực", "Service"],
    kb_space: ["Dấu cách", "Space"],
    kb_del: ["⌫ Xóa", "⌫ Delete"],
    kb_clear: ["Xóa hết", "Clear"],
    kb_tones: ["Dấu:", "Tone:"],
    suggest_title: ["Hòm thư góp ý", "Suggestion box"],
    suggest_sub: ["Ý kiến của quý khách giúp chúng tôi phục vụ tốt hơn. Không cần ghi tên.",
                  "Your opinion helps us serve you better. No name needed."],
    suggest_text: ["Nội dung góp ý (chạm vào đây để viết)", "Your suggestion (touch here to write)"],
    suggest_contact: ["Số điện thoại, nếu muốn được trả lời (không bắt buộc)",
                      "Phone number, if you want an answer (optional)"],
    suggest_send: ["Gửi góp ý", "Send"],
    suggest_thanks: ["Cảm ơn quý khách đã góp ý!", "Thank you for your suggestion!"],
    busy: ["Đang lấy số…", "Getting your number…"],
    err_title: ["Chưa lấy được số", "Could not get a number"],
    err_net: ["Mất kết nối tới máy chủ. Vui lòng thử lại.", "No connection to the server. Please try again."],
    retry: ["Thử lại", "Try again"],
    t_label: ["Số thứ tự của quý khách", "Your number"],
    t_ahead: (n) => n ? [`${n} người đang chờ trước quý khách`, `${n} people ahead of you`]
                      : ["Quý khách sẽ được gọi ngay", "You will be called next"],
    t_wait: (s) => [`Thời gian chờ dự kiến: khoảng ${m(s)} phút`, `Estimated wait: about ${m(s)} min`],
    t_qr: ["Quét mã để theo dõi lượt trên điện thoại", "Scan to follow your turn on your phone"],
    t_printing: ["Đang in phiếu…", "Printing your ticket…"],
    t_printed: ["Mời quý khách nhận phiếu ở khe máy in", "Please take your ticket from the printer"],
    t_failed: ["Máy in đang gặp sự cố — vui lòng ghi nhớ số của quý khách",
               "The printer has a problem — please remember your number"],
    t_noprint: ["Vui lòng ghi nhớ số của quý khách", "Please remember your number"],
    t_done: ["Xong", "Done"],
    prio_label: ["Ưu tiên", "Priority"],
  };

  let lang = "vi";
  const pick = (pair) => (lang === "vi" ? pair : [pair[1], pair[0]]);
  /* "primary <small>secondary</small>" in the chosen order */
  function bi(pair) {
    const [a, b] = pick(pair);
    return `<span class="t1">${esc(a)}</span>` + (b ? `<span class="t2">${esc(b)}</span>` : "");
  }
  const one = (pair) => pick(pair)[0];

  function applyTexts() {
    document.documentElement.lang = lang;
    document.querySelectorAll("[data-t]").forEach((el) => {
      const pair = T[el.dataset.t];
      if (Array.isArray(pair)) el.innerHTML = bi(pair);
    });
    $("k-lang").textContent = lang === "vi" ? "English" : "Tiếng Việt";
    Layso.setLang(lang);
  }

  // --- state ------------------------------------------------------------------------------
  const st = {
    me: null,
    hall: null,
    info: {},
    services: [],        // summaries in kiosk order
    reasons: [],         // priority groups
    prio: null,          // chosen priority group (code) or null
    screen: "loading",
    busy: false,
    ticket: null,        // the ticket on screen
    print: null,         // printing | printed | failed | none
    printTimers: [],
    lastRequest: null,   // {service, priority} to retry
    retry: null,         // what "Thử lại" does (busy screen and all): issue again, or check in again
    checkin: null,       // the last check-in's answer while its ticket is on screen
    touchedAt: Date.now(),
    conn: null,
    refreshTimer: null,
    offlineTimer: null,
  };

  // taps in the first moments of a new screen were meant for the old one (a double tap on
  // "Xong" must not press what lies beneath): the screen takes no pointer events meanwhile
  const SETTLE_MS = 400;
  let settleTimer = null;

  function settle() {
    root.classList.add("k-settling");
    clearTimeout(settleTimer);
    settleTimer = setTimeout(() => root.classList.remove("k-settling"), SETTLE_MS);
  }

  function show(screen) {
    if (screen !== st.screen) settle();
    st.screen = screen;
    document.querySelectorAll(".k-screen").forEach((el) => { el.hidden = el.id !== "s-" + screen; });
    root.dataset.screen = screen;
    st.touchedAt = Date.now();
  }

  // the end of a ticket or an idle kiosk: the next citizen starts in Vietnamese
  function backToVietnamese() {
    if (lang === "vi") return;
    lang = "vi";
    applyState({info: st.info, services: st.services, priority_reasons: st.reasons});
    search.render();
  }

  function goHome(fresh) {
    if (fresh) backToVietnamese();
    clearPrintTimers();
    st.ticket = null;
    st.checkin = null;
    st.print = null;
    st.busy = false;
    search.clear();
    checkin.clear();
    suggestion.reset();
    renderHome();
    show("home");
  }

  // --- the areas --------------------------------------------------------------------------
  function serviceByCode(code) { return st.services.find((s) => s.code === code) || null; }
  function tappable(s) { return s.open && !s.exhausted; }

  function areaInfo(s) {
    if (!s.open) return `<span class="k-badge">${bi(T.closed)}</span>`;
    if (s.exhausted) return `<span class="k-badge">${bi(T.exhausted)}</span>`;
    if (!s.waiting) return `<span class="k-info"><b>${esc(one(T.no_wait))}</b></span>`;
    return `<span class="k-info"><b>${esc(one(T.waiting(s.waiting)))}</b>` +
      `${esc(one(T.wait_about(s.estimated_wait_s)))}</span>`;
  }

  function renderHome() {
    const box = $("areas");
    const codes = st.services.map((s) => s.code).join(",");
    if (box.dataset.codes !== codes) {
      box.innerHTML = "";
      st.services.forEach((s) => {
        const b = document.createElement("button");
        b.type = "button";
        b.className = "k-area";
        b.dataset.code = s.code;
        b.addEventListener("click", () => takeNumber(s.code));
        box.appendChild(b);
      });
      box.dataset.codes = codes;
      box.dataset.count = String(st.services.length);
    }
    box.querySelectorAll(".k-area").forEach((b) => {
      const s = serviceByCode(b.dataset.code);
      if (!s) return;
      const ok = tappable(s);
      b.disabled = !ok;
      b.classList.toggle("off", !ok);
      b.setAttribute("aria-disabled", String(!ok));
      const names = [s.name, s.name_en || ""];
      const purpose = s.kind === "results"
        ? `<span class="k-purpose">${bi(["Nhận kết quả", "Collect results"])}</span>` : "";
      b.innerHTML = `<span class="k-area-name">${bi(names)}</span>${purpose}${areaInfo(s)}`;
    });
    const reason = st.reasons.find((r) => r.code === st.prio);
    $("prio-banner").hidden = !reason;
    root.classList.toggle("prio-mode", !!reason);
    if (reason) {
      $("prio-text").innerHTML = bi([`${T.prio_label[0]}: ${reason.name}`,
                                      `${T.prio_label[1]}: ${reason.name_en || reason.name}`]);
    }
    $("home-title").innerHTML = bi(reason ? T.home_title_prio : T.home_title);
    $("go-prio").hidden = !st.reasons.length;
  }

  function applyState(state) {
    st.info = state.info || {};
    st.services = state.services || [];
    st.reasons = state.priority_reasons || [];
    $("k-hall").textContent = lang === "en" && st.info.name_en ? st.info.name_en : (st.info.name || "");
    if (st.info.greeting) T.greeting = [st.info.greeting, "Welcome"];
    applyTexts();
    renderHome();
    renderReasons();
    if (st.screen === "search") search.render();
    tick();  // the clock in the hall's time zone at once
  }

  async function refreshServices() {
    const r = await Layso.api("GET", `/halls/${st.hall}/services`);
    if (r.ok && r.body && Array.isArray(r.body.services)) {
      st.services = r.body.services;
      renderHome();
      if (st.screen === "search") search.render();
    }
  }

  let refreshSoon = null;
  function refreshLater(ms) {
    clearTimeout(refreshSoon);
    refreshSoon = setTimeout(refreshServices, ms);
  }

  async function refreshAll() {
    const r = await Layso.api("GET", `/halls/${st.hall}/state`);
    if (r.ok && r.body) applyState(r.body);
  }

  // --- priority ---------------------------------------------------------------------------
  function renderReasons() {
    const box = $("reasons");
    box.innerHTML = "";
    st.reasons.forEach((r) => {
      const b = document.createElement("button");
      b.type = "button";
      b.className = "k-reason";
      b.dataset.code = r.code;
      b.innerHTML = bi([r.name, r.name_en || ""]);
      b.addEventListener("click", () => { st.prio = r.code; renderHome(); show("home"); });
      box.appendChild(b);
    });
  }

  // --- taking a number ----------------------------------------------------------------------
  async function takeNumber(code) {
    if (st.busy) return;        // a second tap while the first is in flight does nothing
    const s = serviceByCode(code);
    if (!s || !tappable(s)) return;
    st.busy = true;
    st.lastRequest = {service: code, priority: st.prio};
    st.tapKey = Layso.uuid();   // one key per tap, kept across "Thử lại": never two tickets
    st.retry = () => { st.busy = true; show("busy"); return issue(); };
    await st.retry();
  }

  async function issue() {
    const req = st.lastRequest;
    const r = await Layso.api("POST", `/halls/${st.hall}/tickets`, req,
                              {timeout: 10000, key: st.tapKey});
    if (r.ok && r.body) {
      st.prio = null;
      showTicket(r.body.ticket);
      return;
    }
    st.busy = false;
    $("error-msg").innerHTML = r.status === 0 ? bi(T.err_net)
      : esc((r.error && r.error.message) || one(T.err_net));
    show("error");
    if (r.status === 409) refreshServices();
  }

  // --- check-in of a booking: typed on the on-screen keyboard, or scanned -------------------
  /* A USB 2D scanner is a keyboard that types fast and ends with Enter: keystrokes closer than
   * SCAN_GAP_MS to each other, at least SCAN_MIN of them, then Enter, anywhere on the kiosk,
   * are a scanned booking (its QR holds the booking page's address ending in the code). */
  const SCAN_GAP_MS = 60;
  const SCAN_MIN = 6;
  const scan = {chars: [], at: 0};

  function looksLikePhone(v) {
    const digits = v.replace(/[\s.\-()]/g, "");
    return /^(\+?84|0)\d{8,10}$/.test(digits);
  }

  async function checkIn(value) {
    value = String(value || "").trim();
    if (!value || st.busy) return;
    st.busy = true;
    st.retry = () => checkIn(value);
    $("busy-text").innerHTML = bi(T.checkin_busy);
    show("busy");
    const body = looksLikePhone(value) ? {phone: value} : {code: value};
    const r = await Layso.api("POST", `/halls/${st.hall}/check-in`, body, {timeout: 10000});
    st.busy = false;
    $("busy-text").innerHTML = bi(T.busy);
    if (r.ok && r.body) {
      checkin.clear();
      showTicket(r.body.ticket, r.body);
      return;
    }
    if (st.screen === "busy" && r.status !== 0 && r.status < 500 && checkinFrom === "checkin") {
      checkin.error(r.error);  // stay on the keyboard: a wrong code is typed again
      show("checkin");
      return;
    }
    $("error-msg").innerHTML = r.status === 0 ? bi(T.err_net) : refusal(r.error);
    show("error");
  }

  /* a check-in refusal says both languages (the bookings API gives message_vi / message_en) */
  function refusal(err) {
    if (err && err.message_vi && err.message_en) return bi([err.message_vi, err.message_en]);
    return esc((err && err.message) || one(T.err_net));
  }

  let checkinFrom = null;
  const checkin = {
    text: "",
    clear() { this.text = ""; $("checkin-error").hidden = true; this.render(); },
    type(ch) { if (this.text.length < 40) { this.text += ch; this.render(); } },
    del() { this.text = Array.from(this.text).slice(0, -1).join(""); this.render(); },
    render() {
      $("checkin-text").textContent = this.text.toUpperCase();
      $("checkin-send").disabled = !this.text.trim() || st.busy;
    },
    error(err) {
      const el = $("checkin-error");
      el.innerHTML = refusal(err);
      el.hidden = false;
    },
    send() { checkinFrom = "checkin"; checkIn(this.text); },
  };

  function onKey(e) {
    if (e.ctrlKey || e.altKey || e.metaKey) return;
    const now = Date.now();
    if (now - scan.at > SCAN_GAP_MS) scan.chars = [];
    scan.at = now;
    if (e.key === "Enter") {
      const burst = scan.chars.join("");
      scan.chars = [];
      if (burst.length >= SCAN_MIN) {
        e.preventDefault();
        checkinFrom = st.screen === "checkin" ? "checkin" : "scan";
        checkin.clear();
        checkIn(burst);
      } else if (st.screen === "checkin") {
        e.preventDefault();
        checkin.send();
      }
      return;
    }
    if (e.key.length === 1) {
      scan.chars.push(e.key);
      if (st.screen === "checkin") { e.preventDefault(); checkin.type(e.key); }
    } else if (e.key === "Backspace" && st.screen === "checkin") {
      e.preventDefault();
      checkin.del();
    }
    st.touchedAt = now;
  }

  function showCheckinTexts(c) {
    const t = c ? c.ticket : null;
    const booked = t && t.booked_for ? t.booked_for.slice(11, 16) : null;
    $("t-booked").hidden = !booked;
    $("t-booked").innerHTML = booked ? bi(T.booked_at(booked)) : "";
    $("t-msg").hidden = !c;
    $("t-msg").className = "k-t-msg" + (c && c.late ? " late" : "");
    $("t-msg").innerHTML = c ? bi([c.message.vi, c.message.en]) : "";
  }

  function clearPrintTimers() {
    st.printTimers.forEach(clearTimeout);
    st.printTimers = [];
  }

  function showTicket(t, checkin) {
    st.ticket = t;
    st.checkin = checkin || null;
    st.busy = false;
    $("t-number").textContent = t.display_number;
    $("t-number").style.setProperty("--chars", String(Math.max(3, Array.from(t.display_number).length)));
    $("t-prio").hidden = !t.priority;
    $("t-wait").hidden = !t.ahead;
    showTicketTexts(t);
    $("t-qr").src = `/t/${encodeURIComponent(t.code)}/qr.svg`;
    if (checkin && checkin.already) {  // checked in before: nothing is printed again
      setPrint(t.print_state === "printed" ? "printed" : "none");
      show("ticket");
      return;
    }
    setPrint("printing");
    clearPrintTimers();
    PRINT_CHECK_MS.forEach((ms, i) => {
      st.printTimers.push(setTimeout(() => checkPrint(i === PRINT_CHECK_MS.length - 1), ms));
    });
    show("ticket");
  }

  function setPrint(state) {
    st.print = state;
    const el = $("t-print");
    el.className = "k-print " + state;
    const text = {printing: T.t_printing, printed: T.t_printed, failed: T.t_failed,
                  none: T.t_noprint}[state];
    const icon = state === "printing" ? '<span class="k-dot" aria-hidden="true"></span>'
      : state === "failed" ? '<svg class="k-warn" viewBox="0 0 24 24" aria-hidden="true">' +
        '<path d="M12 3L2 20h20z"/><path d="M12 10v4.5M12 17.2v.1"/></svg>' : "";
    el.innerHTML = icon +
      `<span class="k-print-text">${bi(text)}</span>`;
    st.touchedAt = Date.now();  // give the citizen time to read what happened
  }

  /* No event yet: ask the server. At the last check, still pending means the printer failed. */
  async function checkPrint(last) {
    const t = st.ticket;
    if (!t || st.print !== "printing") return;
    const r = await Layso.api("GET", `/halls/${st.hall}/tickets/${t.id}`);
    if (st.ticket !== t || st.print !== "printing") return;
    const state = r.ok && r.body ? r.body.ticket.print_state : null;
    if (state === "printed") setPrint("printed");
    else if (state === "failed") setPrint("failed");
    else if (state === "none") setPrint("none");
    else if (last) setPrint(serverPrinter === "none" && state !== "pending" ? "none" : "failed");
  }

  function onPrintEvent(name, body) {
    const t = st.ticket;
    if (!t || body.ticket !== t.id) return;
    if (name === "ticket.printed") setPrint("printed");
    else if (st.print !== "printed") setPrint("failed");
  }

  // --- on-screen keyboard -------------------------------------------------------------------
  const VOWELS = "aăâeêioôơuưy";
  const TONES = ["\u0301", "\u0300", "\u0309", "\u0303", "\u0323"];  // sắc huyền hỏi ngã nặng
  const TONE_SHOW = ["á", "à", "ả", "ã", "ạ"];
  const stripTone = (ch) => ch.normalize("NFD").replace(/[\u0300\u0301\u0303\u0309\u0323]/g, "").normalize("NFC");
  const isVowel = (ch) => VOWELS.includes(stripTone(ch).toLowerCase());

  /* Put a tone on the current word's vowel as Vietnamese spells it: on the vowel with a
   * shape mark (ơ in ươ), else the last vowel before a final consonant, else the first of two
   * final vowels (mùa, tài) except oa/oe/uy (hoà, khuỷ), "qu" and "gi" not counting. */
  function addTone(text, tone) {
    const start = Math.max(text.lastIndexOf(" "), text.lastIndexOf("\n")) + 1;
    const word = Array.from(text.slice(start));
    const plain = word.map((c) => stripTone(c).toLowerCase());
    let first = 0;
    if ((plain[0] === "q" && plain[1] === "u") || (plain[0] === "g" && plain[1] === "i" && plain.length > 2 && isVowel(plain[2]))) first = 2;
    const vowels = [];
    for (let i = first; i < word.length; i++) if (isVowel(word[i])) vowels.push(i);
    if (!vowels.length) return null;
    let at = vowels.find((i) => "ăâêôơư".includes(plain[i]) && plain[i] !== "ư") ;
    if (at === undefined) at = vowels.find((i) => "ăâêôơư".includes(plain[i]));
    if (at === undefined) {
      const last = vowels[vowels.length - 1];
      const endsWithVowel = last === word.length - 1;
      if (endsWithVowel && vowels.length >= 2 && vowels[vowels.length - 2] === last - 1) {
        const pair = plain[last - 1] + plain[last];
        at = ["oa", "oe", "uy"].includes(pair) ? last : last - 1;
      } else {
        at = last;
      }
    }
    word[at] = (stripTone(word[at]).normalize("NFD") + tone).normalize("NFC");
    return text.slice(0, start) + word.join("");
  }

  function keyboard(box, opts) {
    const rows = [
      Array.from("1234567890"),
      Array.from("qwertyuiop"),
      Array.from("asdfghjkl"),
      Array.from("zxcvbnm").concat(opts.punct ? [",", ".", "?"] : []),
      Array.from("ăâđêôơư"),
    ];
    box.innerHTML = "";
    const add = (row, cls) => {
      const line = document.createElement("div");
      line.className = "k-kb-row" + (cls ? " " + cls : "");
      row.forEach((k) => line.appendChild(k));
      box.appendChild(line);
    };
    const key = (label, onPress, cls) => {
      const b = document.createElement("button");
      b.type = "button";
      b.className = "k-key" + (cls ? " " + cls : "");
      b.innerHTML = label;
      b.addEventListener("click", onPress);
      return b;
    };
    rows.forEach((row, i) => add(row.map((ch) => {
      const b = key(esc(ch), () => opts.type(ch), i === 4 ? "k-key-vn" : "");
      b.dataset.key = ch;
      return b;
    }), i === 4 ? "k-kb-vn" : ""));
    if (opts.tones) {
      const label = document.createElement("span");
      label.className = "k-kb-label";
      label.dataset.t = "kb_tones";
      add([label].concat(TONES.map((tone, i) => {
        const b = key(TONE_SHOW[i], () => opts.tone(tone), "k-key-tone");
        b.dataset.key = "tone" + i;
        return b;
      })), "k-kb-tones");
    }
    const space = key("", () => opts.type(" "), "k-key-space");
    space.dataset.t = "kb_space";
    space.dataset.key = "space";
    const del = key("", opts.del, "k-key-del");
    del.dataset.t = "kb_del";
    del.dataset.key = "del";
    const clr = key("", opts.clear, "k-key-clear");
    clr.dataset.t = "kb_clear";
    clr.dataset.key = "clear";
    add([space, del, clr], "k-kb-last");
  }

  // --- search -------------------------------------------------------------------------------
  const fold = (s) => String(s || "").normalize("NFD").replace(/[\u0300-\u036f]/g, "")
    .replace(/[đĐ]/g, "d").toLowerCase().replace(/[^a-z0-9]+/g, " ").trim();

  const search = {
    text: "",
    clear() { this.text = ""; this.render(); },
    type(ch) { if (this.text.length < 60) { this.text += ch; this.render(); } },
    del() { this.text = Array.from(this.text).slice(0, -1).join(""); this.render(); },
    items() {
      const out = [];
      st.services.forEach((s) => {
        out.push({name: s.name, sub: s.name_en, service: s, key: fold(s.name + " " + (s.name_en || ""))});
        (s.procedures || []).forEach((p) => out.push({name: p, service: s, key: fold(p)}));
      });
      return out;
    },
    matches() {
      const words = fold(this.text).split(" ").filter(Boolean);
      if (!words.length) return null;
      const hits = [];
      this.items().forEach((it) => {
        const names = it.key.split(" ");
        if (words.every((w) => names.some((n) => n.startsWith(w)))) {
          const first = Math.min(...words.map((w) => names.findIndex((n) => n.startsWith(w))));
          hits.push({it, rank: first * 100 + it.key.length});
        }
      });
      hits.sort((a, b) => a.rank - b.rank);
      return hits.slice(0, 6).map((h) => h.it);
    },
    render() {
      $("search-text").textContent = this.text;
      const box = $("results");
      const found = this.matches();
      if (found === null) {
        box.innerHTML = `<p class="k-hint">${bi(T.search_hint)}</p>`;
        return;
      }
      if (!found.length) {
        box.innerHTML = `<p class="k-hint">${bi(T.search_none)}</p>`;
        return;
      }
      box.innerHTML = "";
      found.forEach((it) => {
        const s = it.service;
        const ok = tappable(s);
        const b = document.createElement("button");
        b.type = "button";
        b.className = "k-result" + (ok ? "" : " off");
        b.disabled = !ok;
        b.dataset.code = s.code;
        const area = `${one(T.search_area)}: ${lang === "en" && s.name_en ? s.name_en : s.name}`;
        const state = ok ? `<span class="k-take">${esc(one(T.search_take))} ›</span>`
          : `<span class="k-badge">${esc(one(s.open ? T.exhausted : T.closed))}</span>`;
        b.innerHTML = `<span class="k-result-text"><span class="k-result-name">${esc(it.name)}</span>` +
          `<span class="k-result-area">${esc(area)}</span></span>${state}`;
        b.addEventListener("click", () => takeNumber(s.code));
        box.appendChild(b);
      });
    },
  };

  // --- suggestion box -----------------------------------------------------------------------
  const suggestion = {
    text: "",
    contact: "",
    field: "text",
    sending: false,
    reset() {
      this.text = ""; this.contact = ""; this.field = "text"; this.sending = false;
      $("suggest-error").hidden = true;
      this.render();
    },
    limit() { return this.field === "text" ? 2000 : 200; },
    type(ch) {
      if (this[this.field].length >= this.limit()) return;
      this[this.field] += ch;
      this.render();
    },
    tone(mark) {
      const next = addTone(this[this.field], mark);
      if (next !== null) { this[this.field] = next; this.render(); }
    },
    del() { this[this.field] = Array.from(this[this.field]).slice(0, -1).join(""); this.render(); },
    clear() { this[this.field] = ""; this.render(); },
    focus(field) { this.field = field; this.render(); },
    render() {
      $("suggest-text").textContent = this.text;
      $("contact-text").textContent = this.contact;
      $("suggest-field").classList.toggle("k-field-active", this.field === "text");
      $("contact-field").classList.toggle("k-field-active", this.field === "contact");
      $("suggest-send").disabled = !this.text.trim() || this.sending;
    },
    async send() {
      if (this.sending || !this.text.trim()) return;
      this.sending = true;
      this.render();
      const r = await Layso.api("POST", `/halls/${st.hall}/suggestions`,
                                {text: this.text.trim(), contact: this.contact.trim() || null});
      this.sending = false;
      if (r.ok) {
        this.reset();
        show("thanks");
        return;
      }
      const el = $("suggest-error");
      el.innerHTML = r.status === 0 ? bi(T.err_net) : esc((r.error && r.error.message) || "");
      el.hidden = false;
      this.render();
    },
  };

  // --- idle, clock, connection --------------------------------------------------------------
  function idleLimit() {
    if (st.screen === "ticket") return st.print === "failed" || st.print === "none"
      ? Math.max(30, TICKET_IDLE_S * 2) : TICKET_IDLE_S;
    if (st.screen === "thanks") return THANKS_S;
    return IDLE_S;
  }

  function tick() {
    const idle = (Date.now() - st.touchedAt) / 1000;
    if (["prio", "search", "suggest", "checkin", "thanks", "ticket", "error"].includes(st.screen)) {
      if (idle >= idleLimit()) goHome(true);
    } else if (st.screen === "home" && (st.prio || lang !== "vi") && idle >= IDLE_S) {
      st.prio = null;
      backToVietnamese();
      renderHome();
    }
    const tz = st.info.timezone;
    try {
      $("k-clock").textContent = new Date().toLocaleTimeString("vi-VN",
        {hour: "2-digit", minute: "2-digit", timeZone: tz || undefined});
    } catch (e) {
      $("k-clock").textContent = new Date().toLocaleTimeString("vi-VN", {hour: "2-digit", minute: "2-digit"});
    }
  }

  function onStatus(online) {
    clearTimeout(st.offlineTimer);
    if (online) {
      $("k-offline").hidden = true;
      return;
    }
    st.offlineTimer = setTimeout(() => { $("k-offline").hidden = false; }, 2500);
  }

  function onEvent(name, body) {
    switch (name) {
      case "queue.changed": {
        const s = serviceByCode(body.service);
        if (s) {
          s.waiting = body.waiting;
          s.estimated_wait_s = body.estimated_wait_s;
          renderHome();
        }
        refreshLater(1500);  // numbers left, open flags
        break;
      }
      case "config.changed":
        refreshAll();
        break;
      case "ticket.printed":
      case "print.failed":
        if (PAPER_STATES.includes(body.printer)) st.paper = body.printer;
        onPrintEvent(name, body);
        break;
      default:
        break;
    }
  }

  const PAPER_STATES = ["ok", "paper_low", "paper_out", "offline", "error", "unknown"];

  // --- wiring -------------------------------------------------------------------------------
  function wire() {
    document.addEventListener("pointerdown", () => { st.touchedAt = Date.now(); }, true);
    document.addEventListener("contextmenu", (e) => e.preventDefault());
    document.querySelectorAll("[data-go]").forEach((b) => b.addEventListener("click", () => goHome()));
    $("k-lang").addEventListener("click", () => {
      lang = lang === "vi" ? "en" : "vi";
      applyState({info: st.info, services: st.services, priority_reasons: st.reasons});
      if (st.ticket) {
        const t = st.ticket;
        const state = st.print;
        showTicketTexts(t);
        setPrint(state);
      }
      search.render();
    });
    $("go-prio").addEventListener("click", () => show("prio"));
    $("go-search").addEventListener("click", () => { search.clear(); show("search"); });
    $("go-suggest").addEventListener("click", () => { suggestion.reset(); show("suggest"); });
    $("go-checkin").addEventListener("click", () => { checkin.clear(); show("checkin"); });
    $("checkin-send").addEventListener("click", () => checkin.send());
    document.addEventListener("keydown", onKey);
    keyboard($("checkin-kb"), {
      type: (ch) => checkin.type(ch), del: () => checkin.del(), clear: () => checkin.clear(),
    });
    $("prio-clear").addEventListener("click", () => { st.prio = null; renderHome(); });
    $("t-done").addEventListener("click", () => goHome(true));
    $("error-retry").addEventListener("click", async () => {
      if (st.busy || !st.retry) return;
      await st.retry();  // it shows the busy screen itself
    });
    $("suggest-field").addEventListener("click", () => suggestion.focus("text"));
    $("contact-field").addEventListener("click", () => suggestion.focus("contact"));
    $("suggest-send").addEventListener("click", () => suggestion.send());
    keyboard($("search-kb"), {
      type: (ch) => search.type(ch), del: () => search.del(), clear: () => search.clear(),
    });
    keyboard($("suggest-kb"), {
      punct: true, tones: true,
      type: (ch) => suggestion.type(ch), tone: (t) => suggestion.tone(t),
      del: () => suggestion.del(), clear: () => suggestion.clear(),
    });
    applyTexts();
  }

  function showTicketTexts(t) {
    showCheckinTexts(st.checkin);
    $("t-area").innerHTML = bi([t.service_name || "", t.service_name_en || ""]) +
      (t.service_kind === "results"
        ? `<span class="k-purpose">${bi(["Nhận kết quả", "Collect results"])}</span>` : "");
    $("t-ahead").innerHTML = bi(T.t_ahead(t.ahead || 0));
    $("t-wait").innerHTML = t.ahead ? bi(T.t_wait(t.estimated_wait_s)) : "";
    const reason = t.priority ? st.reasons.find((r) => r.code === t.priority) : null;
    if (t.priority) {
      $("t-prio").innerHTML = bi([`${T.prio_label[0]}: ${reason ? reason.name : t.priority}`,
                                   `${T.prio_label[1]}: ${reason ? (reason.name_en || reason.name) : t.priority}`]);
    }
  }

  async function start() {
    wire();
    Layso.setLang(lang);
    if (!Layso.init({device: true})) { show("setup"); return; }
    const me = await Layso.whoami({retry: true});  // the server may not be up yet: keep trying
    if (!me || me.kind !== "device" || me.role !== "kiosk") { show("setup"); return; }
    st.me = me;
    st.hall = me.hall;
    $("k-hall").textContent = me.hall_name || "";
    let started = false;
    st.conn = Layso.connect({
      hall: st.hall,
      /* the heartbeat carries the printer's paper state as the last print told it */
      health: () => (st.paper ? {paper: st.paper} : {}),
      onSnapshot(state) {
        applyState(state);
        if (!started) { started = true; show("home"); }
      },
      onEvent,
      onStatus,
    });
    st.refreshTimer = setInterval(refreshServices, REFRESH_MS);
    setInterval(tick, 1000);
    tick();
    window.LaysoKiosk = {state: st, fold, addTone, checkIn};  // for tests and the curious
  }

  start();
})();
