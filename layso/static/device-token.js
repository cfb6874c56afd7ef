/* The first thing a device page (kiosk, wall display, counter display, rating pad) runs, before
 * it asks for any stylesheet, script, image, font or sound: it takes ?token=... out of the
 * address bar, so no later request carries the token in its URL or Referer, and hands the token
 * to hall.js as a candidate (window.LaysoBoot, and sessionStorage for a reload of this tab).
 * hall.js keeps it as the device's token (localStorage "layso.token") only once the server has
 * accepted it: a bad token in the URL never replaces a working saved one.
 * External and synchronous on purpose: the pages' CSP is script-src 'self'. */
(function () {
  "use strict";
  var params = new URLSearchParams(window.location.search);
  if (!params.has("token")) return;
  var token = params.get("token");
  params.delete("token");
  var rest = params.toString();
  try {
    history.replaceState(history.state, "",
      window.location.pathname + (rest ? "?" + rest : "") + window.location.hash);
  } catch (e) { /* an odd browser: hall.js tries again */ }
  if (!token) return;
  window.LaysoBoot = {token: token};
  try { sessionStorage.setItem("layso.token.new", token); } catch (e) { /* private mode */ }
})();
