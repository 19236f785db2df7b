// trail dashboard: plain JavaScript over the JSON API, no build step, no dependencies.
// Every node is built with textContent (never innerHTML), since event bodies are untrusted.
"use strict";

(() => {
  const KEY = "trail_key";
  const TAIL_COOKIE = "trail_key";
  const PAGE = 100;
  const state = { log: null, logs: [], authRequired: false, tail: null, view: null };
  window.trailErrors = [];
  window.addEventListener("error", (e) => { window.trailErrors.push(String(e.message)); });
  window.addEventListener("securitypolicyviolation", (e) => { window.trailErrors.push("csp: " + e.violatedDirective + " " + e.blockedURI); });
  window.addEventListener("unhandledrejection", (e) => {
    window.trailErrors.push(String(e.reason && e.reason.message || e.reason));
  });

  // ---- small helpers -------------------------------------------------------------------

  function h(tag, attrs, ...kids) {
    const el = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === undefined || v === null || v === false) continue;
      if (k === "class") el.className = v;
      // CSSOM, not the style attribute, which the page's CSP refuses.
      else if (k === "style") el.style.cssText = v;
      else if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
      else el.setAttribute(k, v === true ? "" : String(v));
    }
    for (const kid of kids.flat()) {
      if (kid === undefined || kid === null || kid === false) continue;
      el.append(kid instanceof Node ? kid : document.createTextNode(String(kid)));
    }
    return el;
  }
  const svg = (tag, attrs, ...kids) => {
    const el = document.createElementNS("http://www.w3.org/2000/svg", tag);
    for (const [k, v] of Object.entries(attrs || {})) el.setAttribute(k, String(v));
    for (const kid of kids) el.append(kid instanceof Node ? kid : document.createTextNode(String(kid)));
    return el;
  };
  const main = () => document.getElementById("main");
  const fmtInt = (n) => (n || 0).toLocaleString("en-US");
  const fmtCost = (c) => "$" + (c || 0).toFixed(c >= 100 ? 0 : c >= 1 ? 2 : 4);
  function fmtDur(ms) {
    if (ms === undefined || ms === null) return "";
    if (ms < 1000) return ms + " ms";
    if (ms < 60000) return (ms / 1000).toFixed(ms < 10000 ? 2 : 1) + " s";
    if (ms < 3600000) return Math.floor(ms / 60000) + "m " + Math.round((ms % 60000) / 1000) + "s";
    return Math.floor(ms / 3600000) + "h " + Math.round((ms % 3600000) / 60000) + "m";
  }
  function fmtTime(t) {
    const d = new Date(t);
    if (isNaN(d)) return t || "";
    return d.toLocaleString("en-GB", { year: "numeric", month: "short", day: "2-digit",
      hour: "2-digit", minute: "2-digit", second: "2-digit", hour12: false });
  }
  function ago(t) {
    const s = (Date.now() - new Date(t).getTime()) / 1000;
    if (!isFinite(s)) return "";
    if (s < 60) return "just now";
    if (s < 3600) return Math.floor(s / 60) + " min ago";
    if (s < 86400) return Math.floor(s / 3600) + " h ago";
    return Math.floor(s / 86400) + " d ago";
  }
  function toast(msg, err) {
    const t = document.getElementById("toast");
    t.textContent = msg;
    t.className = "show" + (err ? " err" : "");
    clearTimeout(toast.timer);
    toast.timer = setTimeout(() => { t.className = ""; }, err ? 6000 : 2500);
  }
  const statusClass = (s) => (s === "ok" || s === "success") ? "ok"
    : (s === "error" || s === "failed" || s === "failure") ? "error"
    : (s === "denied" || s === "blocked" || s === "refused") ? "denied" : "";
  const statusBadge = (s) => s ? h("span", { class: "badge " + statusClass(s) }, s) : h("span", { class: "muted" }, "–");

  // ---- API -----------------------------------------------------------------------------

  class ApiError extends Error {
    constructor(status, code, message) { super(message); this.status = status; this.code = code; }
  }
  function key() { return sessionStorage.getItem(KEY) || ""; }
  function setKey(k) {
    if (k) {
      sessionStorage.setItem(KEY, k);
      // EventSource cannot send headers: the server reads this cookie on /v1/tail only.
      document.cookie = `${TAIL_COOKIE}=${encodeURIComponent(k)}; path=/v1/tail; SameSite=Strict`;
    } else {
      sessionStorage.removeItem(KEY);
      document.cookie = `${TAIL_COOKIE}=; path=/v1/tail; SameSite=Strict; max-age=0`;
    }
  }
  function url(path, params) {
    const u = new URL(path, location.origin);
    if (state.log && state.logs.length > 1) u.searchParams.set("log", state.log);
    for (const [k, v] of Object.entries(params || {})) {
      if (v !== undefined && v !== null && v !== "") u.searchParams.set(k, v);
    }
    return u.pathname + u.search;
  }
  async function api(path, params, opts) {
    const headers = {};
    if (key()) headers.Authorization = "Bearer " + key();
    const resp = await fetch(url(path, params), Object.assign({ headers }, opts || {}));
    if (!resp.ok) {
      let code = "http_" + resp.status, message = resp.statusText;
      try { const e = await resp.json(); code = e.error.code; message = e.error.message; } catch (_) { /* not JSON */ }
      if (resp.status === 401) { showLogin(message); }
      throw new ApiError(resp.status, code, message);
    }
    const ct = resp.headers.get("content-type") || "";
    return ct.includes("json") ? resp.json() : resp.text();
  }

  // ---- login ---------------------------------------------------------------------------

  function showLogin(message) {
    const d = document.getElementById("login");
    document.getElementById("login-error").textContent = key() ? message || "" : "";
    if (!d.open) d.showModal();
    document.getElementById("login-key").focus();
  }
  document.getElementById("login-form").addEventListener("submit", (e) => {
    e.preventDefault();
    setKey(document.getElementById("login-key").value.trim());
    document.getElementById("login").close();
    boot();
  });
  document.getElementById("logout").addEventListener("click", () => { setKey(""); location.hash = "#/sessions"; location.reload(); });
  document.getElementById("help-btn").addEventListener("click", () => document.getElementById("help").showModal());

  // ---- routing -------------------------------------------------------------------------

  function parseHash() {
    const raw = location.hash.replace(/^#\/?/, "");
    const [path, qs] = raw.split("?");
    const parts = path.split("/").map(decodeURIComponent);
    return { page: parts[0] || "sessions", arg: parts[1], params: new URLSearchParams(qs || "") };
  }
  function go(page, arg, params) {
    let hsh = "#/" + page + (arg !== undefined ? "/" + encodeURIComponent(arg) : "");
    const qs = new URLSearchParams();
    for (const [k, v] of Object.entries(params || {})) if (v) qs.set(k, v);
    if ([...qs].length) hsh += "?" + qs.toString();
    location.hash = hsh;
  }
  function route() {
    if (state.tail) { state.tail.close(); state.tail = null; }
    const r = parseHash();
    for (const a of document.querySelectorAll("#nav a")) {
      const tab = r.page === "session" ? "sessions" : r.page;
      a.classList.toggle("active", a.dataset.tab === tab);
    }
    // Each render gets a container of its own: a view still awaiting an earlier render's data
    // fills its own detached container, never the page now shown (it printed its rows twice).
    const m = h("div", { class: "view" });
    main().replaceChildren(m);
    main().dataset.page = r.page;
    window.scrollTo(0, 0);
    const pages = { sessions: viewSessions, session: viewSession, events: viewEvents, live: viewLive, integrity: viewIntegrity, report: viewReport };
    (pages[r.page] || viewSessions)(m, r).catch(fail);
  }
  function fail(e) {
    if (e && e.status === 401) return;
    console.warn(e);
    toast(e && e.message ? e.message : String(e), true);
  }

  // ---- sessions ------------------------------------------------------------------------

  async function viewSessions(m, r) {
    const limit = Number(r.params.get("limit")) || 50;
    m.append(h("h1", {}, "Sessions"));
    const cards = h("div", { class: "cards" });
    const charts = h("div", { class: "charts" });
    m.append(cards, charts);
    const wrap = h("div", { class: "table-wrap" });
    m.append(wrap);
    const [stats, list] = await Promise.all([api("/v1/stats"), api("/v1/sessions", { limit })]);
    renderStats(cards, charts, stats);
    const sessions = list.sessions;
    if (!sessions.length) {
      wrap.append(h("div", { class: "empty" }, "No sessions yet. Post events with a session field to POST /v1/events."));
      return;
    }
    const tbody = h("tbody");
    for (const s of sessions) {
      const status = s.errors ? "error" : s.denials ? "denied" : "ok";
      const tr = h("tr", { class: "row" + (s.errors ? " is-error" : s.denials ? " is-denied" : ""), tabindex: 0,
        "data-session": s.session, onclick: () => go("session", s.session) },
        h("td", {}, h("a", { href: "#/session/" + encodeURIComponent(s.session) }, s.session)),
        h("td", {}, statusBadge(status)),
        h("td", {}, s.agent || h("span", { class: "muted" }, "–")),
        h("td", { title: s.start }, fmtTime(s.start), h("div", { class: "muted" }, ago(s.end))),
        h("td", { class: "num" }, fmtDur(s.duration_ms)),
        h("td", { class: "num" }, fmtInt(s.events)),
        h("td", { class: "num" }, s.errors ? h("span", { class: "badge error" }, s.errors) : "0"),
        h("td", { class: "num" }, s.denials ? h("span", { class: "badge denied" }, s.denials) : "0"),
        h("td", { class: "num", title: `${fmtInt(s.input_tokens)} in / ${fmtInt(s.output_tokens)} out` },
          fmtInt(s.input_tokens + s.output_tokens)),
        h("td", { class: "num" }, fmtCost(s.cost_usd)));
      tbody.append(tr);
    }
    wrap.append(h("table", { class: "grid", id: "sessions-table" },
      h("thead", {}, h("tr", {}, h("th", {}, "Session"), h("th", {}, "Status"), h("th", {}, "Agent"),
        h("th", {}, "Started"), h("th", { class: "num" }, "Duration"), h("th", { class: "num" }, "Events"),
        h("th", { class: "num" }, "Errors"), h("th", { class: "num" }, "Denials"),
        h("th", { class: "num" }, "Tokens"), h("th", { class: "num" }, "Cost"))), tbody));
    const pager = h("div", { class: "pager" }, h("span", {}, `${sessions.length} most recent sessions`));
    if (sessions.length >= limit && limit < 10000) {
      pager.append(h("button", { onclick: () => go("sessions", undefined, { limit: String(Math.min(limit * 2, 10000)) }) }, "Show more"));
    }
    m.append(pager);
  }

  function renderStats(cards, charts, st) {
    const errors = st.by_status.error || 0, denied = st.by_status.denied || 0;
    const card = (label, value, cls) => h("div", { class: "card " + (cls || "") }, h("div", { class: "label" }, label), h("div", { class: "value" }, value));
    cards.append(card("Events", fmtInt(st.events)), card("Errors", fmtInt(errors), errors ? "err" : ""),
      card("Denials", fmtInt(denied), denied ? "deny" : ""),
      card("Tokens", fmtInt(st.input_tokens + st.output_tokens)), card("Cost", fmtCost(st.cost_usd)),
      card("Signed", `${fmtInt(st.checkpoint_size)} / ${fmtInt(st.size)}`));
    const buckets = hourBuckets(st.per_hour);
    charts.append(barChart("Events", "events", buckets, (b) => b.events, fmtInt),
      barChart("Tokens", "tokens", buckets, (b) => b.input_tokens + b.output_tokens, fmtInt),
      barChart("Cost", "cost", buckets, (b) => b.cost_usd, fmtCost));
  }

  // Fills the hours between the first and last with zeroes, then merges neighbours so at
  // most 96 bars remain (a long log shows days instead of hours).
  function hourBuckets(perHour) {
    const keys = Object.keys(perHour || {}).sort();
    if (!keys.length) return { step: 1, list: [] };
    const H = 3600000;
    const first = new Date(keys[0]).getTime(), last = new Date(keys[keys.length - 1]).getTime();
    const hours = Math.max(1, Math.round((last - first) / H) + 1);
    const step = Math.max(1, Math.ceil(Math.max(hours, 24) / 96));
    const n = Math.ceil(Math.max(hours, 24) / step);
    const start = last - (n * step - 1) * H;
    const list = Array.from({ length: n }, (_, i) => ({ t: start + i * step * H, events: 0, input_tokens: 0, output_tokens: 0, cost_usd: 0 }));
    for (const k of keys) {
      const i = Math.floor((new Date(k).getTime() - start) / (step * H));
      if (i < 0 || i >= n) continue;
      const v = perHour[k], b = list[i];
      b.events += v.events; b.input_tokens += v.input_tokens; b.output_tokens += v.output_tokens; b.cost_usd += v.cost_usd;
    }
    return { step, list };
  }

  function barChart(title, cls, buckets, value, fmt) {
    const W = 600, Hh = 100, pad = 1;
    const vals = buckets.list.map(value);
    const max = Math.max(0, ...vals);
    const total = vals.reduce((a, b) => a + b, 0);
    const s = svg("svg", { viewBox: `0 0 ${W} ${Hh}`, preserveAspectRatio: "none", role: "img", "aria-label": title + " over time" });
    if (buckets.list.length) {
      const bw = W / buckets.list.length;
      buckets.list.forEach((b, i) => {
        const v = vals[i];
        const bh = max ? Math.max(v ? 2 : 0, (v / max) * (Hh - pad - 4)) : 0;
        const r = svg("rect", { class: "bar", x: (i * bw + 0.5).toFixed(1), y: (Hh - pad - bh).toFixed(1),
          width: Math.max(1, bw - 1).toFixed(1), height: bh.toFixed(1) });
        r.append(svg("title", {}, `${new Date(b.t).toLocaleString("en-GB", { hour12: false })} (${buckets.step} h): ${fmt(v)}`));
        s.append(r);
      });
      s.append(svg("line", { x1: 0, x2: W, y1: Hh - pad, y2: Hh - pad, stroke: "#e3e7ec" }));
    }
    // Axis labels in HTML: the SVG stretches to the card's width, which would distort text.
    const lbl = (t) => new Date(t).toLocaleString("en-GB", { month: "short", day: "2-digit", hour: "2-digit", minute: "2-digit", hour12: false });
    const axis = buckets.list.length ? h("div", { class: "axis" }, h("span", {}, lbl(buckets.list[0].t)),
      h("span", {}, max ? "max " + fmt(max) : ""), h("span", {}, lbl(buckets.list[buckets.list.length - 1].t))) : h("div", { class: "axis" }, "no data");
    return h("div", { class: "chart " + cls }, h("h3", {}, title, h("span", {}, `total ${fmt(total)}` + (buckets.step > 1 ? ` · ${buckets.step} h bars` : " · per hour"))), s, axis);
  }

  // ---- one session: the timeline ---------------------------------------------------------

  async function viewSession(m, r) {
    const id = r.arg;
    m.append(h("div", { class: "crumbs" }, h("a", { href: "#/sessions" }, "Sessions"), " / ", id));
    const title = h("h1", {}, "Session ", h("span", { class: "mono" }, id));
    const summary = h("div", { class: "summary-line" });
    const list = h("ol", { class: "timeline", id: "timeline" });
    const pager = h("div", { class: "pager" });
    m.append(title, summary, list, pager);
    const [ss] = await Promise.all([api("/v1/sessions", { session: id, limit: 1 })]);
    const s = ss.sessions[0];
    if (s) {
      summary.append(h("span", {}, "Agent ", h("b", {}, s.agent || "–")),
        h("span", {}, "Started ", h("b", {}, fmtTime(s.start))), h("span", {}, "Duration ", h("b", {}, fmtDur(s.duration_ms))),
        h("span", {}, "Events ", h("b", {}, fmtInt(s.events))),
        h("span", {}, "Errors ", h("b", {}, fmtInt(s.errors))), h("span", {}, "Denials ", h("b", {}, fmtInt(s.denials))),
        h("span", {}, "Tokens ", h("b", {}, fmtInt(s.input_tokens + s.output_tokens))), h("span", {}, "Cost ", h("b", {}, fmtCost(s.cost_usd))),
        h("a", { href: "#/events?session=" + encodeURIComponent(id) }, "as a table"));
    }
    const t0 = s ? new Date(s.start).getTime() : null;
    let maxDur = 1;
    const load = async (cursor) => {
      const page = await api("/v1/events", { session: id, order: "asc", limit: 200, cursor });
      for (const ev of page.events) maxDur = Math.max(maxDur, ev.record.duration_ms || 0);
      for (const ev of page.events) list.append(timelineItem(ev, t0, maxDur));
      pager.replaceChildren(h("span", {}, `${fmtInt(list.children.length)} of ${fmtInt(page.total)} events`));
      if (page.next_cursor !== undefined) {
        pager.append(h("button", { onclick: () => load(page.next_cursor).catch(fail) }, "Load more"));
      }
      if (!list.children.length) list.append(h("li", { class: "empty" }, "No events in this session."));
    };
    await load();
  }

  function timelineItem(ev, t0, maxDur) {
    const rec = ev.record;
    const cls = statusClass(rec.status);
    const off = t0 !== null ? "+" + fmtDur(Math.max(0, new Date(rec.time).getTime() - t0)) : "";
    const details = h("div", { class: "details", hidden: true });
    const card = h("div", { class: "tl-card", tabindex: 0, role: "button", "aria-expanded": "false",
      onclick: (e) => { if (!e.target.closest(".details")) toggle(); },
      onkeydown: (e) => { if (e.key === "Enter" && e.target === card) toggle(); } },
      h("div", { class: "tl-head" },
        h("span", { class: "badge kind" }, rec.kind),
        rec.action && h("span", { class: "action" }, rec.action),
        rec.status && statusBadge(rec.status),
        piiBadge(rec.findings),
        ev.erased && h("span", { class: "badge erased" }, "body erased"),
        h("span", { class: "right" },
          rec.usage && (rec.usage.input_tokens || rec.usage.output_tokens) && h("span", {}, `${fmtInt((rec.usage.input_tokens || 0) + (rec.usage.output_tokens || 0))} tok`),
          rec.usage && rec.usage.cost_usd && h("span", {}, fmtCost(rec.usage.cost_usd)),
          rec.duration_ms !== undefined && h("span", {}, h("span", { class: "dur", style: `width:${Math.max(2, Math.round(80 * rec.duration_ms / maxDur))}px` }), " ", fmtDur(rec.duration_ms)),
          h("span", { class: "mono" }, "#" + rec.seq))),
      details);
    function toggle() {
      const open = details.hidden;
      if (open && !details.children.length) details.append(...eventDetails(ev));
      details.hidden = !open;
      card.setAttribute("aria-expanded", String(open));
    }
    return h("li", { class: "tl-item " + cls, "data-seq": rec.seq },
      h("div", { class: "tl-time", title: rec.time }, off, h("div", {}, new Date(rec.time).toLocaleTimeString("en-GB", { hour12: false }))),
      h("div", { class: "tl-rail" }, h("span", { class: "tl-dot" })), card);
  }

  function piiBadge(findings) {
    if (!findings || !findings.length) return null;
    const types = [...new Set(findings.map((f) => f.type))];
    const n = findings.reduce((a, f) => a + f.count, 0);
    return h("span", { class: "badge pii", title: findings.map((f) => `${f.type} ×${f.count} at ${f.path}`).join("\n") },
      `PII: ${types.join(", ")}` + (n > 1 ? ` ×${n}` : ""));
  }

  // Record fields, body (or the erased notice) and the receipt button.
  function eventDetails(ev) {
    const rec = ev.record;
    const kv = h("dl", { class: "kv" });
    const add = (k, v) => { if (v !== undefined && v !== null && v !== "") kv.append(h("dt", {}, k), h("dd", {}, v)); };
    add("id", rec.id); add("seq", rec.seq); add("time", rec.time); add("kind", rec.kind); add("category", rec.category);
    add("action", rec.action); add("status", rec.status); add("agent", rec.agent); add("session", rec.session);
    add("conversation", rec.conversation); add("actor", rec.actor); add("source", rec.source);
    add("trace", rec.trace_id && rec.trace_id + (rec.span_id ? " / " + rec.span_id : ""));
    add("duration", rec.duration_ms !== undefined ? fmtDur(rec.duration_ms) : undefined);
    if (rec.usage) {
      const u = rec.usage;
      add("usage", [u.model, u.input_tokens !== undefined && `${u.input_tokens} in`, u.output_tokens !== undefined && `${u.output_tokens} out`,
        u.cost_usd !== undefined && fmtCost(u.cost_usd)].filter(Boolean).join(" · "));
    }
    for (const f of rec.findings || []) add("PII finding", `${f.type} ×${f.count} at ${f.path}`);
    add("hash", ev.hash); add("prev", rec.prev); add("body digest", rec.body_digest);
    let body;
    if (ev.erased) {
      body = h("div", { class: "erased-box" }, "Body erased. The record, its hash and its proofs stay valid; the body and its salt were deleted.");
    } else if (ev.body !== undefined) {
      body = h("pre", { class: "body" }, JSON.stringify(ev.body, null, 2));
    } else {
      body = h("div", { class: "muted" }, "No body.");
    }
    const out = h("span", { class: "receipt-status muted" });
    const btn = h("button", { class: "receipt-btn", onclick: (e) => { e.stopPropagation(); downloadReceipt(ev, out, btn).catch(fail); } }, "Download receipt");
    return [kv, body, h("div", { class: "hrow" }, btn,
      h("a", { href: "#/events?session=" + encodeURIComponent(rec.session || "") , hidden: !rec.session }, "session events"), out)];
  }

  async function downloadReceipt(ev, out, btn) {
    btn.disabled = true;
    try {
      const text = await api("/v1/receipt/" + encodeURIComponent(ev.record.id));
      const blob = new Blob([text], { type: "text/plain" });
      const a = h("a", { href: URL.createObjectURL(blob), download: `event-${ev.seq}.tlog-proof` });
      document.body.append(a); a.click(); a.remove();
      setTimeout(() => URL.revokeObjectURL(a.href), 10000);
      out.textContent = `saved event-${ev.seq}.tlog-proof: ${text.split("\n")[0]}`;
      out.dataset.receipt = text;
    } catch (e) {
      out.textContent = e.code === "not_checkpointed" ? "not covered by a signed checkpoint yet; try again in a moment" : e.message;
      if (e.status === 401) throw e;
    } finally {
      btn.disabled = false;
    }
  }

  // ---- events: search and filters ------------------------------------------------------

  const FILTERS = ["kind", "status", "agent", "session", "search", "from", "to"];

  async function viewEvents(m, r) {
    const p = Object.fromEntries(FILTERS.map((k) => [k, r.params.get(k) || ""]));
    m.append(h("h1", {}, "Events"));
    const field = (name, label, attrs) => h("label", {}, label, h("input", Object.assign({ name, value: p[name] }, attrs || {})));
    const local = (iso) => { if (!iso) return ""; const d = new Date(iso); return isNaN(d) ? "" : new Date(d.getTime() - d.getTimezoneOffset() * 60000).toISOString().slice(0, 16); };
    const stats = await api("/v1/stats").catch(() => null);
    const datalist = (id, obj) => h("datalist", { id }, Object.keys(obj || {}).map((k) => h("option", { value: k })));
    const form = h("form", { class: "filters", id: "filters" },
      field("search", "Full text", { class: "search", type: "search", placeholder: "words in the body", id: "search" }),
      field("kind", "Kind", { list: "dl-kind", size: 12 }), field("status", "Status", { list: "dl-status", size: 9 }),
      field("agent", "Agent", { list: "dl-agent", size: 12 }), field("session", "Session", { size: 14 }),
      h("label", {}, "From", h("input", { name: "from", type: "datetime-local", value: local(p.from) })),
      h("label", {}, "To", h("input", { name: "to", type: "datetime-local", value: local(p.to) })),
      h("button", { class: "primary", type: "submit" }, "Apply"),
      h("button", { type: "button", onclick: () => go("events") }, "Clear"),
      datalist("dl-kind", stats && stats.by_kind), datalist("dl-status", stats && stats.by_status), datalist("dl-agent", stats && stats.by_agent));
    form.addEventListener("submit", (e) => {
      e.preventDefault();
      const fd = new FormData(form), q = {};
      for (const k of FILTERS) {
        let v = String(fd.get(k) || "").trim();
        if ((k === "from" || k === "to") && v) v = new Date(v).toISOString();
        q[k] = v;
      }
      go("events", undefined, q);
    });
    m.append(form);
    const tbody = h("tbody");
    const wrap = h("div", { class: "table-wrap" }, h("table", { class: "grid", id: "events-table" },
      h("thead", {}, h("tr", {}, h("th", { class: "num" }, "Seq"), h("th", {}, "Time"), h("th", {}, "Kind"), h("th", {}, "Action"),
        h("th", {}, "Status"), h("th", {}, "Agent"), h("th", {}, "Session"), h("th", { class: "num" }, "Duration"),
        h("th", { class: "num" }, "Tokens"), h("th", {}, ""))), tbody));
    const pager = h("div", { class: "pager" });
    m.append(wrap, pager);
    const load = async (cursor) => {
      const page = await api("/v1/events", Object.assign({}, p, { limit: PAGE, cursor }));
      for (const ev of page.events) appendEventRow(tbody, ev);
      if (!tbody.children.length) tbody.append(h("tr", {}, h("td", { colspan: 10, class: "empty" }, "No events match these filters.")));
      pager.replaceChildren(h("span", { id: "events-count" }, `${fmtInt(tbody.querySelectorAll("tr.row").length)} of ${fmtInt(page.total)} matching events`));
      if (page.next_cursor !== undefined) pager.append(h("button", { onclick: (e) => { e.target.remove(); load(page.next_cursor).catch(fail); } }, "Load more"));
    };
    await load();
  }

  function eventRow(ev) {
    const rec = ev.record;
    const cls = statusClass(rec.status);
    const tok = rec.usage ? (rec.usage.input_tokens || 0) + (rec.usage.output_tokens || 0) : 0;
    return h("tr", { class: "row" + (cls === "error" ? " is-error" : cls === "denied" ? " is-denied" : ""), tabindex: 0,
      "data-seq": rec.seq, "data-status": rec.status || "", "data-id": rec.id },
      h("td", { class: "num mono" }, rec.seq),
      h("td", { title: rec.time }, fmtTime(rec.time)),
      h("td", {}, h("span", { class: "badge kind" }, rec.kind)),
      h("td", { class: "truncate" }, rec.action || ""),
      h("td", {}, statusBadge(rec.status)),
      h("td", {}, rec.agent || ""),
      h("td", { class: "truncate" }, rec.session ? h("a", { href: "#/session/" + encodeURIComponent(rec.session), onclick: (e) => e.stopPropagation() }, rec.session) : ""),
      h("td", { class: "num" }, fmtDur(rec.duration_ms)),
      h("td", { class: "num" }, tok ? fmtInt(tok) : ""),
      h("td", {}, piiBadge(rec.findings), ev.erased && h("span", { class: "badge erased" }, "erased")));
  }

  function appendEventRow(tbody, ev, prepend) {
    const tr = eventRow(ev);
    const toggle = () => {
      const next = tr.nextElementSibling;
      if (next && next.classList.contains("detail")) { next.remove(); return; }
      tr.after(h("tr", { class: "detail" }, h("td", { colspan: 10 }, h("div", { class: "details" }, eventDetails(ev)))));
    };
    tr.addEventListener("click", toggle);
    tr.addEventListener("keydown", (e) => { if (e.key === "Enter") toggle(); });
    if (prepend) tbody.prepend(tr); else tbody.append(tr);
    return tr;
  }

  // ---- live tail -----------------------------------------------------------------------

  async function viewLive(m, r) {
    const p = { kind: r.params.get("kind") || "", status: r.params.get("status") || "", agent: r.params.get("agent") || "", session: r.params.get("session") || "" };
    const status = h("span", { class: "live-status", id: "live-status" }, h("span", { class: "dot" }), "connecting…");
    let paused = false;
    const pauseBtn = h("button", { onclick: () => { paused = !paused; pauseBtn.textContent = paused ? "Resume" : "Pause"; } }, "Pause");
    const form = h("form", { class: "filters" },
      ...["kind", "status", "agent", "session"].map((k) => h("label", {}, k[0].toUpperCase() + k.slice(1), h("input", { name: k, value: p[k], size: 12 }))),
      h("button", { class: "primary", type: "submit" }, "Follow"), pauseBtn, status);
    form.addEventListener("submit", (e) => {
      e.preventDefault();
      const fd = new FormData(form);
      go("live", undefined, Object.fromEntries(["kind", "status", "agent", "session"].map((k) => [k, String(fd.get(k) || "").trim()])));
    });
    const tbody = h("tbody", { id: "live-body" });
    m.append(h("h1", {}, "Live tail"), form, h("div", { class: "table-wrap" }, h("table", { class: "grid", id: "live-table" },
      h("thead", {}, h("tr", {}, h("th", { class: "num" }, "Seq"), h("th", {}, "Time"), h("th", {}, "Kind"), h("th", {}, "Action"),
        h("th", {}, "Status"), h("th", {}, "Agent"), h("th", {}, "Session"), h("th", { class: "num" }, "Duration"),
        h("th", { class: "num" }, "Tokens"), h("th", {}, ""))), tbody)));
    const src = new EventSource(url("/v1/tail", Object.assign({ n: 20 }, p)));
    state.tail = src;
    const setStatus = (on, text) => { status.className = "live-status" + (on ? " on" : ""); status.lastChild.textContent = text; };
    src.onopen = () => setStatus(true, "live");
    src.onerror = () => setStatus(false, src.readyState === EventSource.CLOSED ? "closed" : "reconnecting…");
    src.addEventListener("record", (e) => {
      if (paused) return;
      const ev = JSON.parse(e.data);
      const tr = appendEventRow(tbody, ev, true);
      tr.classList.add("flash");
      while (tbody.querySelectorAll("tr.row").length > 500) tbody.lastElementChild.remove();
    });
    src.addEventListener("checkpoint", (e) => {
      const c = JSON.parse(e.data);
      setStatus(true, `live · signed checkpoint at size ${fmtInt(c.size)}`);
    });
  }

  // ---- report --------------------------------------------------------------------------

  // The auditor's report, as `trail report` writes it: fetched whole from /v1/report, previewed
  // here from the data it embeds (parsed, never run), and offered as the file itself.
  async function viewReport(m, r) {
    m.append(h("h1", {}, "Auditor's report"));
    const from = h("input", { id: "report-from", placeholder: "2026-11-01T00:00:00Z", value: r.params.get("from") || "" });
    const to = h("input", { id: "report-to", placeholder: "2026-12-01T00:00:00Z", value: r.params.get("to") || "" });
    const make = h("button", { class: "primary", id: "report-make" }, "Make the report");
    const form = h("div", { class: "panel" },
      h("p", { class: "muted" }, "One self-contained HTML file: the integrity verdict and the checkpoint it rests on, coverage, risk, retention, tokens and cost. Leave a bound empty for no bound."),
      h("div", { class: "hrow" }, h("label", {}, "From ", from), h("label", {}, "To ", to), make));
    const out = h("div", { id: "report-preview" });
    m.append(form, out);
    make.addEventListener("click", () => go("report", undefined, { from: from.value.trim(), to: to.value.trim(), go: String(Date.now()) }));
    if (!r.params.has("from") && !r.params.has("to") && !r.params.has("go")) {
      out.append(h("p", { class: "muted" }, "Choose a period (or none) and make the report."));
      return;
    }
    out.append(h("p", { class: "muted" }, "Verifying the log and folding its records…"));
    const html = await api("/v1/report", { from: r.params.get("from"), to: r.params.get("to") });
    // The embedded data and the verdict line, cut from the text: parsing the file as a document
    // would have this page's policy refuse its inline style.
    const open = '<script type="application/json" id="trail-report">';
    const start = html.indexOf(open) + open.length;
    const data = JSON.parse(html.slice(start, html.indexOf("</script>", start)));
    const verdictLine = (html.match(/id="verdict">([^<]*)</) || ["", ""])[1]
      .replace(/&lt;/g, "<").replace(/&gt;/g, ">").replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&amp;/g, "&");
    const meta = data.meta, f = data.figures, i = meta.integrity;
    const cls = i.verdict === "intact" ? "intact" : (i.verdict === "unsigned_records" || i.verdict === "empty") ? "pending" : "broken";
    const link = h("a", { class: "button primary", id: "report-download", download: "trail-report.html",
      href: URL.createObjectURL(new Blob([html], { type: "text/html" })) }, "Download the report");
    const kv = h("dl", { class: "kv" });
    const add = (k, v) => kv.append(h("dt", {}, k), h("dd", {}, String(v)));
    add("events in the period", fmtInt(f.events)); add("agents", Object.keys(f.agents).length);
    add("sessions", fmtInt(f.sessions)); add("sessions without an end", fmtInt(f.open_sessions_total));
    add("gaps", fmtInt(f.gaps_total)); add("denials", fmtInt(f.denials)); add("errors", fmtInt(f.errors));
    add("findings", Object.entries(f.findings).map(([k, n]) => k + " " + n).join(", ") || "none");
    add("erasures", f.erasures.length); add("prunes", f.prunes.length);
    add("covered by a signed checkpoint", fmtInt(i.verified_size) + " of " + fmtInt(i.records));
    const agents = h("tbody");
    for (const [a, v] of Object.entries(f.agents)) {
      agents.append(h("tr", {}, h("td", {}, a || "(none)"), h("td", { class: "num" }, fmtInt(v.events)),
        h("td", { class: "num" }, fmtInt(v.denials)), h("td", { class: "num" }, fmtInt(v.errors))));
    }
    out.replaceChildren(
      h("p", { class: "verdict " + cls, id: "report-verdict" }, verdictLine),
      h("div", { class: "hrow" }, link),
      h("div", { class: "panel" }, kv),
      h("div", { class: "table-wrap" }, h("table", {},
        h("thead", {}, h("tr", {}, h("th", {}, "Agent"), h("th", {}, "Events"), h("th", {}, "Denials"), h("th", {}, "Errors"))), agents)),
      h("p", { class: "muted" }, "Check the file anywhere: ", h("code", {}, "trail verify --report FILE --key log.vkey"), "."));
  }

  // ---- integrity -----------------------------------------------------------------------

  async function viewIntegrity(m) {
    m.append(h("h1", {}, "Integrity"));
    const left = h("div", { class: "panel", id: "checkpoint-panel" }, h("h2", {}, "Latest signed checkpoint"));
    const right = h("div", { class: "panel", id: "verify-panel" }, h("h2", {}, "Verification"));
    m.append(h("div", { class: "integrity" }, left, right));
    const receipt = h("div", { class: "panel" }, h("h2", {}, "Receipt for one event"));
    m.append(receipt);
    const info = state.logs.find((l) => l.name === state.log) || {};
    let note = null;
    try { note = await api("/v1/checkpoint"); } catch (e) { if (e.code !== "no_checkpoint") throw e; }
    if (note) {
      const lines = note.split("\n");
      const kv = h("dl", { class: "kv" });
      const add = (k, v) => kv.append(h("dt", {}, k), h("dd", {}, v));
      add("origin", lines[0]); add("tree size", h("span", { id: "cp-size" }, lines[1]));
      add("root", lines[2]); add("log size", fmtInt(info.size)); add("signer key", info.verifier_key || "unknown");
      left.append(kv, h("h2", { style: "margin-top:14px" }, "Signed note"), h("pre", { class: "note", id: "cp-note" }, note),
        h("p", { class: "muted" }, "Check it offline: save the note and run ", h("code", {}, "trail verify --receipt FILE --key log.vkey"), " on any receipt."));
    } else {
      left.append(h("p", { class: "muted" }, "The log has no signed checkpoint yet."));
    }
    const result = h("div", { id: "verify-result" });
    const btn = h("button", { class: "primary", id: "verify-now" }, "Verify now");
    btn.addEventListener("click", async () => {
      btn.disabled = true; btn.textContent = "Verifying…";
      try { showVerify(result, await api("/v1/verify", {}, { method: "POST" })); } catch (e) { fail(e); }
      btn.disabled = false; btn.textContent = "Verify now";
    });
    right.append(h("p", { class: "muted" }, "Re-reads every record, body and checkpoint of this log and checks hashes, chain, Merkle roots and signatures with the log's verifier key."), h("div", { class: "hrow" }, btn), result);
    showVerify(result, await api("/v1/verify"));
    const input = h("input", { placeholder: "event id", size: 36, id: "receipt-id" });
    const out = h("span", { class: "receipt-status muted" });
    const get = h("button", { type: "submit" }, "Download receipt");
    const f = h("form", { class: "hrow" }, input, get, out);
    f.addEventListener("submit", async (e) => {
      e.preventDefault();
      const id = input.value.trim();
      if (!id) return;
      try {
        const ev = await api("/v1/events/" + encodeURIComponent(id));
        await downloadReceipt(ev, out, get);
      } catch (err) { out.textContent = err.message; }
    });
    receipt.append(h("p", { class: "muted" }, "A receipt (C2SP tlog-proof) proves one event is in the log, offline, with only the log's public key. Every event's details have the same button."), f);
  }

  function showVerify(el, v) {
    el.replaceChildren();
    if (!v) {
      el.append(h("div", { class: "verdict unknown" }, h("span", { class: "big" }, "○"), "Not verified since the server started"));
      return;
    }
    // Intact only when every record is covered by a valid signed checkpoint; a live log's
    // newest records, not yet signed, are said to be so, never called intact.
    const pending = !v.intact && v.problems_total === 0 && v.records > 0;
    el.append(h("div", { class: "verdict " + (v.intact ? "intact" : pending ? "pending" : "broken"), id: "verdict" },
      h("span", { class: "big" }, v.intact ? "✓" : pending ? "○" : "✗"),
      v.intact ? "Intact: every record, body and checkpoint checks out"
        : pending ? `No problems; the newest ${fmtInt(v.unsigned_tail)} record${v.unsigned_tail === 1 ? " is" : "s are"} not yet covered by a signed checkpoint (the next one will cover ${v.unsigned_tail === 1 ? "it" : "them"})`
        : v.problems_total === 0 ? "The log holds no record yet: nothing to verify"
        : `${fmtInt(v.problems_total)} problem${v.problems_total === 1 ? "" : "s"} found`));
    const kv = h("dl", { class: "kv" });
    const add = (k, val) => kv.append(h("dt", {}, k), h("dd", {}, val));
    add("verified at", `${fmtTime(v.at)} (${fmtDur(v.elapsed_ms)})`);
    add("records", fmtInt(v.records) + (v.first_seq !== null && v.first_seq !== undefined ? ` (seq ${v.first_seq}–${v.last_seq})` : ""));
    add("checkpoints", `${fmtInt(v.checkpoints_valid)} of ${fmtInt(v.checkpoints_checked)} valid`);
    add("verified tree size", fmtInt(v.verified_size));
    add("not yet signed", fmtInt(v.unsigned_tail));
    add("bodies", `${fmtInt(v.bodies_checked)} checked, ${fmtInt(v.bodies_erased)} erased`);
    if (v.anchor !== null && v.anchor !== undefined) add("pruned below", fmtInt(v.anchor));
    el.append(kv);
    for (const n of v.notes) el.append(h("p", { class: "muted" }, "note: " + n));
    if (v.problems.length) {
      el.append(h("table", { class: "grid" }, h("tbody", {}, v.problems.map((p) =>
        h("tr", {}, h("td", { class: "mono" }, p.seq !== undefined ? "seq " + p.seq : "log"), h("td", {}, h("span", { class: "badge error" }, p.code)), h("td", {}, p.message))))));
    }
  }

  // ---- keyboard ------------------------------------------------------------------------

  document.addEventListener("keydown", (e) => {
    if (e.ctrlKey || e.metaKey || e.altKey) return;
    const typing = /^(INPUT|SELECT|TEXTAREA)$/.test(e.target.tagName);
    if (e.key === "Escape" && typing) { e.target.blur(); return; }
    if (typing || document.querySelector("dialog[open]")) return;
    const tabs = { "1": "sessions", "2": "events", "3": "live", "4": "integrity", "5": "report" };
    if (tabs[e.key]) { go(tabs[e.key]); return; }
    if (e.key === "?") { document.getElementById("help").showModal(); return; }
    if (e.key === "/") {
      e.preventDefault();
      if (parseHash().page !== "events") { go("events"); setTimeout(() => { const s = document.getElementById("search"); if (s) s.focus(); }, 300); }
      else { const s = document.getElementById("search"); if (s) s.focus(); }
      return;
    }
    if (e.key === "j" || e.key === "k") {
      const rows = [...document.querySelectorAll("tr.row, .tl-card")];
      if (!rows.length) return;
      const i = rows.indexOf(document.activeElement);
      const next = e.key === "j" ? Math.min(rows.length - 1, i + 1) : Math.max(0, i - 1);
      rows[next].focus();
      e.preventDefault();
    } else if (e.key === "Enter" && document.activeElement && document.activeElement.matches("tr.row[data-session]")) {
      document.activeElement.click();
    }
  });

  // ---- start ---------------------------------------------------------------------------

  async function boot() {
    try {
      const cfg = await fetch("/dashboard/config").then((r) => r.json());
      state.authRequired = cfg.auth_required;
      document.getElementById("logout").hidden = !state.authRequired;
      if (state.authRequired && !key()) { showLogin(); return; }
      const info = await api("/v1/info");
      state.logs = info.logs;
      const saved = sessionStorage.getItem("trail_log");
      state.log = (state.logs.find((l) => l.name === saved) || state.logs[0] || {}).name || null;
      const sel = document.getElementById("log-select");
      sel.replaceChildren(...state.logs.map((l) => h("option", { value: l.name }, l.name)));
      sel.value = state.log || "";
      sel.hidden = state.logs.length < 2;
      sel.onchange = () => { state.log = sel.value; sessionStorage.setItem("trail_log", sel.value); showSize(); route(); };
      showSize();
      if (!location.hash) location.replace("#/sessions");
      window.onhashchange = route;
      route();
      document.body.dataset.ready = "1";
    } catch (e) { fail(e); }
  }
  function showSize() {
    const l = state.logs.find((x) => x.name === state.log);
    document.getElementById("log-size").textContent = l ? `${l.name} · ${fmtInt(l.size)} events` : "";
  }
  boot();
})();
