/* The board's end-of-day control: today's closing time, and "keep the queue open today". */
(function () {
  "use strict";
  const {$} = Layso;
  const box = $("keep-open");
  const note = $("day-end-note");

  function show(d) {
    box.checked = !!d.keep_open;
    const at = d.closing_time ? d.closing_time.slice(11, 16) : "";
    note.textContent = d.keep_open
      ? `Hàng chờ mở tới hết ngày (không đóng lúc ${at}) · open until midnight, not closed at ${at}`
      : `Số còn chờ sẽ hết giờ lúc ${at} · waiting tickets expire at ${at}`;
  }

  async function load() {
    const r = await Layso.api("GET", `/halls/${Mgr.hall}/day`);
    if (r.ok) show(r.body);
  }

  box.addEventListener("change", async () => {
    box.disabled = true;
    const r = await Layso.api("POST", `/halls/${Mgr.hall}/day/keep-open`, {keep_open: box.checked});
    box.disabled = false;
    if (r.ok) show(r.body);
    else { note.textContent = Mgr.errorText ? Mgr.errorText(r) : "Lỗi · error"; load(); }
  });
  load();
  setInterval(load, 60000);
})();
