// clawscope dashboard script: theme switch, live updates over the SSE feed, the log
// tail. It never builds markup from data: new content comes as server-rendered,
// escaped HTML, parsed inertly and moved into the page.
"use strict";

(function () {
  const root = document.documentElement;
  const body = document.body;

  // Theme: stored choice, else the system's.
  function applyTheme(t) {
    root.setAttribute("data-theme", t);
  }
  try {
    const saved = localStorage.getItem("clawscope-theme");
    if (saved === "light" || saved === "dark") applyTheme(saved);
  } catch (_) { /* storage may be off */ }
  function currentTheme() {
    const t = root.getAttribute("data-theme");
    if (t === "light" || t === "dark") return t;
    return window.matchMedia && window.matchMedia("(prefers-color-scheme: dark)").matches ? "dark" : "light";
  }
  const toggle = document.getElementById("theme-toggle");
  if (toggle) {
    toggle.addEventListener("click", function () {
      const next = currentTheme() === "dark" ? "light" : "dark";
      applyTheme(next);
      try { localStorage.setItem("clawscope-theme", next); } catch (_) { /* ignore */ }
    });
  }

  // Filters that apply as soon as they change.
  document.querySelectorAll("select[data-autosubmit]").forEach(function (s) {
    s.addEventListener("change", function () { if (s.form) s.form.submit(); });
  });

  // Parse server HTML without running anything in it.
  function parse(html) {
    return new DOMParser().parseFromString(html, "text/html");
  }

  function fetchText(url) {
    return fetch(url, { credentials: "same-origin", headers: { "Accept": "text/html" } }).then(function (r) {
      if (!r.ok) throw new Error("HTTP " + r.status);
      return r.text();
    });
  }

  const status = document.getElementById("live-status");
  function setStatus(s) {
    if (status) { status.textContent = s; status.setAttribute("data-state", s); }
  }

  const main = document.getElementById("page");
  const streamUrl = body ? body.getAttribute("data-stream") : "";
  const mode = body ? body.getAttribute("data-live-mode") : "";

  // Re-render: fetch this page again and swap in the new <main>, at most once a second.
  let refreshTimer = null;
  let lastRefresh = 0;
  function refreshSoon() {
    if (refreshTimer) return;
    const wait = Math.max(0, 1000 - (Date.now() - lastRefresh));
    refreshTimer = setTimeout(function () {
      refreshTimer = null;
      lastRefresh = Date.now();
      // Don't swap under an open <details> or a focused form field.
      const a = document.activeElement;
      if (a && main.contains(a) && (a.tagName === "INPUT" || a.tagName === "SELECT" || a.tagName === "TEXTAREA")) return;
      fetchText(location.href).then(function (html) {
        const fresh = parse(html).getElementById("page");
        if (!fresh) return;
        const open = new Set();
        main.querySelectorAll("details[open][id]").forEach(function (d) { open.add(d.id); });
        main.replaceChildren.apply(main, Array.from(fresh.childNodes).map(function (n) { return document.importNode(n, true); }));
        open.forEach(function (id) { const d = document.getElementById(id); if (d) d.open = true; });
      }).catch(function () { /* next event retries */ });
    }, wait);
  }

  // Append: fetch timeline rows stored after the newest one shown.
  let appending = false;
  let again = false;
  function appendNew() {
    if (!main || main.getAttribute("data-last-page") !== "true") { refreshSoon(); return; }
    if (appending) { again = true; return; }
    appending = true;
    const after = main.getAttribute("data-after-seq") || "0";
    const key = main.getAttribute("data-session-key") || "";
    const url = "/sessions/" + encodeURIComponent(key) + "/events?after=" + encodeURIComponent(after);
    fetchText(url).then(function (html) {
      const doc = parse(html);
      const list = document.getElementById("timeline");
      let maxSeq = parseInt(after, 10) || 0;
      doc.querySelectorAll("li.event").forEach(function (li) {
        const seq = parseInt(li.getAttribute("data-seq"), 10) || 0;
        if (document.getElementById("e" + seq)) return;
        const node = document.importNode(li, true);
        node.classList.add("fresh");
        list.appendChild(node);
        if (seq > maxSeq) maxSeq = seq;
      });
      main.setAttribute("data-after-seq", String(maxSeq));
    }).catch(function () { /* retried on the next event */ }).finally(function () {
      appending = false;
      if (again) { again = false; appendNew(); }
    });
  }

  if (streamUrl && window.EventSource && main) {
    const es = new EventSource(streamUrl);
    es.addEventListener("open", function () { setStatus("live"); });
    es.addEventListener("error", function () { setStatus(es.readyState === 2 ? "offline" : "reconnecting"); });
    const onEvent = function () { if (mode === "append") appendNew(); else refreshSoon(); };
    es.addEventListener("event", onEvent);
    es.addEventListener("session", function () { if (mode !== "append") refreshSoon(); });
    window.addEventListener("pagehide", function () { es.close(); });
  }

  // Log tail: poll for lines written since the last offset.
  if (main && main.getAttribute("data-log-follow") === "1") {
    setStatus("following");
    const list = document.getElementById("log-lines");
    const tick = function () {
      const off = main.getAttribute("data-log-offset") || "0";
      const lvl = main.getAttribute("data-log-level") || "all";
      fetchText("/logs/tail?offset=" + encodeURIComponent(off) + "&level=" + encodeURIComponent(lvl)).then(function (html) {
        const doc = parse(html);
        doc.querySelectorAll("li.log-line").forEach(function (li) { list.appendChild(document.importNode(li, true)); });
        const o = doc.querySelector("li.log-offset");
        if (o) main.setAttribute("data-log-offset", o.getAttribute("data-offset"));
        while (list.children.length > 2000) list.removeChild(list.firstElementChild);
      }).catch(function () { setStatus("log unreadable"); });
    };
    setInterval(tick, 1000);
  }
})();
