// sqlgate dashboard: renders /api/state and polls it about every second.
// Everything is built with DOM calls and textContent, never innerHTML, so
// nothing a table holds (digest texts, error messages) can become markup.
"use strict";

(function () {
  const POLL_MS = 1000;

  function el(tag, attrs, ...children) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (k === "class") e.className = v;
      else if (k === "title") e.title = v;
      else if (k.startsWith("data-")) e.setAttribute(k, v);
      else e[k] = v;
    }
    for (const c of children) {
      if (c === null || c === undefined) continue;
      e.append(c instanceof Node ? c : String(c));
    }
    return e;
  }

  function table(id, head, rows, empty) {
    const t = document.getElementById(id);
    if (!t) return;
    const thead = el("thead", null, el("tr", null, ...head.map((h) => el("th", null, h))));
    const tbody = el("tbody");
    if (rows.length === 0) {
      tbody.append(el("tr", null, el("td", { colSpan: head.length, class: "empty" }, empty)));
    }
    for (const r of rows) tbody.append(r);
    t.replaceChildren(thead, tbody);
  }

  function fmtInt(n) {
    return Number(n || 0).toLocaleString("en-US");
  }

  function fmtUs(us) {
    us = Number(us || 0);
    if (us >= 1e6) return (us / 1e6).toFixed(2) + " s";
    if (us >= 1e3) return (us / 1e3).toFixed(1) + " ms";
    return us.toFixed(0) + " µs";
  }

  function fmtAge(unixS) {
    if (!unixS) return "";
    const s = Math.max(0, Math.round(Date.now() / 1000 - unixS));
    if (s < 60) return s + " s ago";
    if (s < 3600) return Math.floor(s / 60) + " min ago";
    if (s < 86400) return Math.floor(s / 3600) + " h ago";
    return Math.floor(s / 86400) + " d ago";
  }

  function fmtTime(unixS) {
    return new Date(unixS * 1000).toISOString().replace("T", " ").replace(/\.\d+Z$/, " UTC");
  }

  function fmtDuration(s) {
    s = Number(s || 0);
    const d = Math.floor(s / 86400), h = Math.floor((s % 86400) / 3600), m = Math.floor((s % 3600) / 60);
    return (d ? d + "d " : "") + (d || h ? h + "h " : "") + m + "m " + (s % 60) + "s";
  }

  function shortSum(c) {
    return c ? c.replace(/^0x/, "").slice(0, 8) : "–";
  }

  function spark(id, values) {
    const svg = document.getElementById(id);
    if (!svg) return;
    const ns = "http://www.w3.org/2000/svg";
    const W = 300, H = 60, pad = 3;
    svg.replaceChildren();
    if (values.length < 2) {
      const t = document.createElementNS(ns, "text");
      t.setAttribute("x", "6");
      t.setAttribute("y", "34");
      t.setAttribute("class", "spark-wait");
      t.textContent = "collecting samples…";
      svg.append(t);
      return;
    }
    const maxV = Math.max(...values, 1e-9);
    const step = (W - 2 * pad) / (values.length - 1);
    const pts = values.map((v, i) => (pad + i * step).toFixed(1) + "," + (H - pad - (v / maxV) * (H - 2 * pad)).toFixed(1));
    const area = document.createElementNS(ns, "polygon");
    area.setAttribute("points", pad + "," + (H - pad) + " " + pts.join(" ") + " " + (W - pad) + "," + (H - pad));
    area.setAttribute("class", "spark-area");
    const line = document.createElementNS(ns, "polyline");
    line.setAttribute("points", pts.join(" "));
    line.setAttribute("class", "spark-line");
    svg.append(area, line);
  }

  function renderTraffic(st) {
    const s = st.series || [];
    spark("spark-qps", s.map((p) => p.qps));
    spark("spark-lat", s.map((p) => p.latency_us));
    const last = s[s.length - 1];
    document.getElementById("qps-now").textContent = last ? last.qps.toFixed(1) : "";
    document.getElementById("lat-now").textContent = last ? fmtUs(last.latency_us) : "";
  }

  function renderCluster(st) {
    const c = st.cluster || {};
    const nodes = c.nodes || [];
    const mods = c.modules || [];
    document.getElementById("cluster-source").textContent = nodes.length === 0
      ? "No peers: proxysql_servers is empty on this node."
      : "Peers of proxysql_servers as this node checks them (stats_proxysql_servers_status); modules compared with this node's (stats_sqlgate_cluster_drift).";
    const box = document.getElementById("cluster-nodes");
    box.replaceChildren(...nodes.map((n) => {
      const addr = n.host + ":" + n.port;
      const what = n.state === "up" ? "up" : n.state === "down" ? "down" : "not checked yet";
      return el("div", { class: "node node-" + n.state, "data-node": addr, "data-state": n.state,
        title: n.status === "OK" ? "checks OK: " + n.checks_ok + ", failed: " + n.checks_err : n.status },
        el("div", { class: "node-addr" }, addr, n.self ? el("span", { class: "self" }, "this node") : null),
        el("div", { class: "node-state" }, what),
        el("div", { class: "node-detail" }, n.state === "down" ? n.status
          : "ping " + fmtUs(n.ping_us) + (n.uptime_s ? " · up " + fmtDuration(n.uptime_s) : "")),
        n.comment ? el("div", { class: "node-comment" }, n.comment) : null);
    }));
    // The module matrix: one row per module, one column per peer.
    const peers = nodes.map((n) => n.host + ":" + n.port + (n.self ? " (this node)" : ""));
    const keys = nodes.map((n) => n.host + ":" + n.port);
    const names = [...new Set(mods.map((m) => m.module))].sort();
    const cell = {};
    for (const m of mods) cell[m.module + "|" + m.host + ":" + m.port] = m;
    const rows = names.map((name) => el("tr", null, el("th", { class: "mod" }, name), ...keys.map((p) => {
      const m = cell[name + "|" + p];
      if (!m) return el("td", { class: "cell-none" }, "–");
      const cls = m.state === "in sync" ? "ok" : m.state === "differs" ? "warn" : "bad";
      return el("td", { class: "cell cell-" + cls, "data-state": m.state,
        title: m.state + (m.reason ? ": " + m.reason : "") + "\nchecksum " + m.peer_checksum },
        "v" + m.peer_version + " · " + shortSum(m.peer_checksum), el("span", { class: "epoch" }, "epoch " + m.peer_epoch));
    })));
    table("cluster-modules", ["module", ...peers], rows, "no checksums from peers yet");
    const drift = mods.filter((m) => m.state !== "in sync");
    const list = document.getElementById("cluster-drift");
    list.replaceChildren(...drift.map((m) => el("li", { class: m.state === "differs" ? "warn" : "bad" },
      el("b", null, m.host + ":" + m.port), " " + m.module + " " + m.state,
      m.differs_since ? " since " + fmtAge(m.differs_since) : "",
      m.reason ? ": " + m.reason : "")));
    if (drift.length === 0 && mods.length > 0) list.replaceChildren(el("li", { class: "ok" }, "every peer has every module this node has"));
  }

  function renderBackends(st) {
    const rows = (st.backends || []).map((b) => {
      const cls = b.status === "ONLINE" ? "ok" : b.status === "SHUNNED" ? "warn" : "bad";
      const use = b.conn_used + " used / " + b.conn_free + " free" + (b.max_connections ? " of " + b.max_connections : "");
      let lag = "–";
      if (b.lag_error) lag = el("span", { class: "bad", title: b.lag_error }, "error");
      else if (b.lag_s !== null && b.lag_s !== undefined) lag = b.lag_s + " s";
      return el("tr", { "data-backend": b.hostgroup + ":" + b.host + ":" + b.port },
        el("td", { class: "num" }, b.hostgroup), el("td", null, b.host + ":" + b.port),
        el("td", null, el("span", { class: "pill pill-" + cls, title: b.ping_error || "" }, b.status)),
        el("td", null, use), el("td", { class: "num" }, fmtInt(b.conn_ok) + " / " + fmtInt(b.conn_err)),
        el("td", { class: "num" }, fmtInt(b.queries)), el("td", { class: "num" }, fmtUs(b.latency_us)), el("td", { class: "num" }, lag));
    });
    table("backend-table", ["hostgroup", "server", "status", "pool", "conn ok / err", "queries", "latency", "replication lag"], rows,
      "no servers in runtime_mysql_servers");
  }

  function renderDigests(st) {
    const rows = (st.digests || []).map((d) => el("tr", null,
      el("td", { class: "num" }, d.hostgroup), el("td", null, d.user + "@" + d.schema),
      el("td", { class: "sql", title: d.digest }, d.text), el("td", { class: "num" }, fmtInt(d.count)),
      el("td", { class: "num" }, fmtUs(d.sum_us)), el("td", { class: "num" }, fmtUs(d.count ? d.sum_us / d.count : 0)),
      el("td", { class: "num" }, fmtUs(d.max_us))));
    table("digest-table", ["hg", "user@schema", "digest text", "count", "total", "mean", "max"], rows, "no statements yet");
  }

  function renderMonitor(st) {
    const rows = (st.monitor_errors || []).map((e) => el("tr", null,
      el("td", null, fmtAge(e.time_us / 1e6)), el("td", null, e.check), el("td", null, e.host + ":" + e.port),
      el("td", { class: "bad" }, e.error)));
    table("monitor-table", ["when", "check", "server", "error"], rows, "no failed checks in the monitor's logs");
  }

  function renderHistory(st) {
    if (!st.history) return;
    const rows = st.history.map((h) => el("tr", null,
      el("td", { class: "num" }, h.revision), el("td", { title: fmtTime(h.time) }, fmtAge(h.time)), el("td", null, h.source),
      el("td", null, h.module), el("td", { class: "num" }, h.version), el("td", { title: h.checksum }, shortSum(h.checksum))));
    table("history-table", ["revision", "when", "source", "module", "version", "checksum"], rows, "no revisions");
  }

  function render(st) {
    const banner = document.getElementById("banner");
    if (st.error) {
      banner.textContent = "The node could not read its state: " + st.error;
      banner.hidden = false;
    } else {
      banner.hidden = true;
    }
    const n = st.node || {};
    document.getElementById("uptime").textContent = "up " + fmtDuration(n.uptime_s) + " · " + fmtInt(n.client_connections) + " clients";
    document.getElementById("updated").textContent = "updated " + new Date(st.generated || Date.now()).toLocaleTimeString();
    renderTraffic(st);
    renderCluster(st);
    renderBackends(st);
    renderDigests(st);
    renderMonitor(st);
    renderHistory(st);
    document.body.dataset.generated = String(st.generated || 0);
  }

  async function poll() {
    try {
      const r = await fetch("/api/state", { cache: "no-store", credentials: "same-origin" });
      const st = await r.json();
      if (!r.ok) throw new Error(st.error || "HTTP " + r.status);
      render(st);
    } catch (err) {
      const banner = document.getElementById("banner");
      banner.textContent = "Cannot reach this node's dashboard: " + err.message + " (retrying)";
      banner.hidden = false;
    } finally {
      setTimeout(poll, POLL_MS);
    }
  }

  const initial = document.getElementById("initial-state");
  if (initial) render(JSON.parse(initial.textContent));
  setTimeout(poll, POLL_MS);
})();
