// resi epoch dashboard: fetches /dashboard/api/epochs[/{id}] and renders the epoch view.
// Every value from the API (hotkeys, zipcodes, reasons, hashes) is data from outside: it goes
// into the DOM as text nodes and attribute values only, never as markup.
"use strict";

(function () {
  const API = "/dashboard/api/epochs";
  const PALETTE = ["#2f5fd0", "#d2452b", "#1a7f37", "#b26a00", "#7b3fc4", "#0e8a8a", "#c2185b",
    "#5d6b00", "#8d5524", "#3f51b5", "#e07b00", "#00796b"];

  // el("td", {class: "num", dataset: {rank: 1}}, "text", child, ...)
  function el(tag, attrs, ...children) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === undefined || v === null) continue;
      if (k === "dataset") {
        for (const [dk, dv] of Object.entries(v)) {
          if (dv !== undefined && dv !== null) e.dataset[dk] = String(dv);
        }
      } else if (k === "class") {
        e.className = String(v);
      } else {
        e.setAttribute(k, String(v));
      }
    }
    for (const c of children) {
      if (c === undefined || c === null) continue;
      e.appendChild(c instanceof Node ? c : document.createTextNode(String(c)));
    }
    return e;
  }

  function clear(id) {
    const e = document.getElementById(id);
    while (e.firstChild) e.removeChild(e.firstChild);
    return e;
  }

  function short(s) {
    s = String(s || "");
    return s.length > 14 ? s.slice(0, 6) + "…" + s.slice(-5) : s;
  }

  function hotkeyCell(hk, color) {
    return el("td", { class: "mono", title: hk },
      color ? el("span", { class: "swatch", style: "background:" + color }) : null, short(hk));
  }

  function time(ms) {
    if (ms === undefined || ms === null) return "";
    return new Date(ms).toISOString().replace("T", " ").replace(/\.\d+Z$/, "Z");
  }

  function duration(ms) {
    const s = Math.round(ms / 1000);
    const a = Math.abs(s);
    const t = a < 120 ? a + " s" : a < 7200 ? Math.round(a / 60) + " min" : a < 172800 ? (a / 3600).toFixed(1) + " h" : Math.round(a / 86400) + " d";
    return (s < 0 ? "-" : "") + t;
  }

  function pct(ppb) {
    return (ppb / 1e7).toFixed(2) + " %";
  }

  function header(table, cols) {
    table.appendChild(el("thead", {}, el("tr", {}, ...cols.map((c) =>
      el("th", { class: c.endsWith("#") ? "num" : "" }, c.replace(/#$/, ""))))));
    const body = el("tbody");
    table.appendChild(body);
    return body;
  }

  function empty(body, n, text) {
    body.appendChild(el("tr", {}, el("td", { colspan: n, class: "dim" }, text)));
  }

  function colors(view) {
    const keys = new Set();
    ((view.report && view.report.miners) || []).forEach((m) => keys.add(m.hotkey));
    (view.deliveries || []).forEach((d) => keys.add(d.hotkey));
    const out = new Map();
    [...keys].forEach((k, i) => out.set(k, PALETTE[i % PALETTE.length]));
    return out;
  }

  function card(k, v, cls, data) {
    return el("div", { class: "card", dataset: data }, el("div", { class: "k" }, k),
      el("div", { class: "v " + (cls || "") }, v));
  }

  function renderSummary(view) {
    const s = clear("summary");
    const r = view.report;
    const a = view.agreement;
    s.appendChild(card("epoch", view.epoch_id, "mono", { epoch: view.epoch_id }));
    if (view.status) s.appendChild(card("status", view.status));
    if (view.deadline_ms) s.appendChild(card("deadline", time(view.deadline_ms)));
    s.appendChild(card("zipcodes", view.assignments.length));
    s.appendChild(card("deliveries", view.deliveries.length));
    if (r) {
      s.appendChild(card("policy", r.policy.name + " " + r.policy.version));
      s.appendChild(card("outcome hash", short(r.outcome_hash), "mono"));
      s.appendChild(card("submissions scored", r.submissions));
    }
    if (a) {
      const cls = a.level === "strong" ? "ok" : a.level === "consensus" ? "warn" : "bad";
      s.appendChild(card("agreement", a.agreeing + "/" + a.validators + " (" + a.agree_pct + " %) " + a.level, cls));
    }
  }

  function renderAgreement(view) {
    const t = clear("agreement");
    const a = view.agreement;
    if (!a) {
      empty(header(t, ["validator"]), 1, "no validator report found for this epoch");
      return;
    }
    t.dataset.validators = a.validators;
    t.dataset.agreeing = a.agreeing;
    t.dataset.agreePct = a.agree_pct;
    t.dataset.level = a.level;
    t.dataset.majorityHash = a.majority_hash || "";
    t.dataset.permitsChecked = a.permits_checked;
    const b = header(t, ["validator", "outcome hash", "input hash", "policy", "counted", "why"]);
    for (const p of a.reports) {
      b.appendChild(el("tr", {
        dataset: {
          row: "peer", validator: p.validator, outcomeHash: p.outcome_hash || "",
          inputHash: p.input_hash || "", counted: p.counted, majority: p.majority,
        },
      },
      hotkeyCell(p.validator),
      el("td", { class: "mono", title: p.outcome_hash || "" }, short(p.outcome_hash || "")),
      el("td", { class: "mono", title: p.input_hash || "" }, short(p.input_hash || "")),
      el("td", {}, p.policy_version || ""),
      el("td", {}, el("span", { class: "badge " + (p.counted ? (p.majority ? "ok" : "bad") : "warn") },
        p.counted ? (p.majority ? "majority" : "outlier") : "ignored")),
      el("td", { class: "dim" }, p.why || "")));
    }
    const note = a.permits_checked ? "" : " (validator permits not checked: every validly signed report counts)";
    t.appendChild(el("caption", { class: "dim", style: "caption-side:bottom;text-align:left" },
      "level " + a.level + ": " + a.agreeing + " of " + a.validators + " counted reports share the majority hash" + note));
    // Chart: counted reports per outcome hash.
    const hashes = new Map();
    a.reports.filter((p) => p.counted).forEach((p) => hashes.set(p.outcome_hash, (hashes.get(p.outcome_hash) || 0) + 1));
    const labels = [...hashes.keys()];
    barChart("chart-agreement", "counted reports per outcome hash", labels.map(short),
      [{ label: "reports", values: labels.map((h) => hashes.get(h)), color: "#2f5fd0" }]);
  }

  function renderMiners(view, col) {
    const t = clear("miners");
    const b = header(t, ["rank#", "miner", "weight (ppb)#", "share", "flags"]);
    const miners = (view.report && view.report.miners) || [];
    if (!miners.length) empty(b, 5, view.report ? "no miner in the report" : "no report");
    for (const m of miners) {
      b.appendChild(el("tr", {
        dataset: { row: "miner", hotkey: m.hotkey, rank: m.rank, ppb: m.ppb, flags: m.flags.join(",") },
      },
      el("td", { class: "num" }, m.rank),
      hotkeyCell(m.hotkey, col.get(m.hotkey)),
      el("td", { class: "num" }, m.ppb.toLocaleString("en-US")),
      el("td", { class: "num" }, pct(m.ppb)),
      el("td", {}, ...m.flags.map((f) => el("span", { class: "flag" }, f)))));
    }
    barChart("chart-weights", "weight per miner, by rank (ppb / 1e9)", miners.map((m) => "#" + m.rank),
      [{ label: "weight", values: miners.map((m) => m.ppb / 1e9), color: "#1a7f37" }]);
    const w = clear("weights-set");
    if (view.weights) {
      const wb = header(w, ["uid#", "weight (u16)#"]);
      w.dataset.tx = view.weights.tx;
      view.weights.uids.forEach((u, i) => wb.appendChild(el("tr", { dataset: { row: "weight", uid: u, weight: view.weights.weights[i] } },
        el("td", { class: "num" }, u), el("td", { class: "num" }, view.weights.weights[i]))));
      w.appendChild(el("caption", { class: "dim", style: "caption-side:top;text-align:left" }, "weights set on chain, tx " + view.weights.tx));
    }
  }

  function renderAssignments(view) {
    const t = clear("assignments");
    const b = header(t, ["zipcode", "city", "state", "expected#", "honeypot", "true count#", "delivered by"]);
    if (!view.assignments.length) empty(b, 7, "no assignment known");
    for (const a of view.assignments) {
      const by = view.deliveries.filter((d) => d.zipcode === a.zipcode).length;
      const hp = a.honeypot === undefined ? "not revealed" : a.honeypot ? "honeypot" : "no";
      b.appendChild(el("tr", {
        dataset: {
          row: "assignment", zipcode: a.zipcode, expected: a.expected === undefined ? "" : a.expected,
          honeypot: a.honeypot === undefined ? "unrevealed" : a.honeypot,
        },
      },
      el("td", { class: "mono" }, a.zipcode),
      el("td", {}, a.city || ""),
      el("td", {}, a.state || ""),
      el("td", { class: "num" }, a.expected === undefined ? "?" : a.expected),
      el("td", {}, el("span", { class: "badge " + (a.honeypot ? "warn" : "") }, hp)),
      el("td", { class: "num" }, a.true_count === undefined ? "" : a.true_count),
      el("td", { class: "num" }, by)));
    }
  }

  function renderDeliveries(view, col) {
    const t = clear("deliveries");
    const b = header(t, ["miner", "zipcode", "committed (store time)", "after start#", "listings#", "files#", "bytes#", "manifest", "late"]);
    const ds = [...view.deliveries].sort((x, y) => x.at_ms - y.at_ms || (x.hotkey < y.hotkey ? -1 : 1));
    if (!ds.length) empty(b, 9, "no delivery in the store");
    for (const d of ds) {
      const after = view.start_ms ? duration(d.at_ms - view.start_ms) : "";
      b.appendChild(el("tr", {
        dataset: {
          row: "delivery", hotkey: d.hotkey, zipcode: d.zipcode, atMs: d.at_ms,
          listings: d.listings === undefined ? "" : d.listings, late: d.late === undefined ? "" : d.late,
        },
      },
      hotkeyCell(d.hotkey, col.get(d.hotkey)),
      el("td", { class: "mono" }, d.zipcode),
      el("td", { class: "mono" }, time(d.at_ms)),
      el("td", { class: "num" }, after),
      el("td", { class: "num" }, d.listings === undefined ? "?" : d.listings),
      el("td", { class: "num" }, d.files),
      el("td", { class: "num" }, d.bytes.toLocaleString("en-US")),
      el("td", {}, d.manifest ? "yes" : "no"),
      el("td", {}, d.late === undefined ? "" : el("span", { class: "badge " + (d.late ? "bad" : "ok") }, d.late ? "late" : "on time"))));
    }
    deliveryChart(view, ds, col);
    const st = clear("statuses");
    if (view.statuses && view.statuses.length) {
      const sb = header(st, ["miner", "status report", "upload complete", "listings claimed#", "received", "zipcodes claimed"]);
      for (const s of view.statuses) {
        sb.appendChild(el("tr", { dataset: { row: "status", hotkey: s.hotkey, status: s.status } },
          hotkeyCell(s.hotkey, col.get(s.hotkey)),
          el("td", {}, s.status),
          el("td", {}, s.upload_complete ? "yes" : "no"),
          el("td", { class: "num" }, s.listings === undefined ? "" : s.listings),
          el("td", { class: "mono" }, time(s.received_ms)),
          el("td", { class: "mono" }, (s.zipcodes || []).map((z) => z[0] + ": " + z[1]).join(", "))));
      }
    }
  }

  function renderGates(view, col) {
    const t = clear("gates");
    const zips = (view.report && view.report.zipcodes) || [];
    const n = zips.reduce((m, z) => Math.max(m, ...z.candidates.map((c) => c.gates.length)), 0);
    const gateCols = [];
    for (let i = 0; i < n; i++) gateCols.push("G" + i);
    const b = header(t, ["zipcode", "miner", ...gateCols, "rank#", "share#", "flags"]);
    if (!zips.length) empty(b, 5 + n, view.report ? "no zipcode had a submission" : "no report");
    for (const z of zips) {
      z.candidates.forEach((c, i) => {
        const gates = [];
        for (let g = 0; g < n; g++) {
          const v = c.gates[g] || "";
          gates.push(el("td", { dataset: { gate: "G" + g, result: v } }, el("span", { class: "gate " + v, title: "G" + g + " " + v }, v ? v[0].toUpperCase() : "")));
        }
        b.appendChild(el("tr", {
          class: i === 0 ? "zip-first" : "",
          dataset: {
            row: "candidate", zipcode: z.zipcode, hotkey: c.hotkey, gates: c.gates.join(","),
            rank: c.rank === undefined ? "" : c.rank, share: c.share, flags: c.flags.join(","),
          },
        },
        el("td", { class: "mono" }, i === 0 ? z.zipcode : ""),
        hotkeyCell(c.hotkey, col.get(c.hotkey)),
        ...gates,
        el("td", { class: "num" }, c.rank === undefined ? "–" : c.rank),
        el("td", { class: "num" }, (Number(c.share) / 1e18 * 100).toFixed(1) + " %"),
        el("td", {}, ...c.flags.map((f) => el("span", { class: "flag" }, f)))));
      });
    }
  }

  function renderRejected(view) {
    const t = clear("rejected");
    const b = header(t, ["miner", "zipcode", "object", "reason", "given to policy"]);
    const rs = (view.report && view.report.rejected) || [];
    if (!rs.length) empty(b, 5, "none");
    for (const r of rs) {
      b.appendChild(el("tr", { dataset: { row: "rejection", hotkey: r.hotkey, zipcode: r.zipcode } },
        hotkeyCell(r.hotkey), el("td", { class: "mono" }, r.zipcode), el("td", { class: "mono dim" }, r.key),
        el("td", {}, r.reason), el("td", {}, r.given_to_policy ? "yes" : "no")));
    }
    for (const o of (view.report && view.report.rejected_omitted) || []) {
      b.appendChild(el("tr", {}, hotkeyCell(o.hotkey), el("td", { colspan: 4, class: "dim" }, o.omitted + " more left out of the report")));
    }
  }

  function renderNotes(view) {
    const u = clear("notes");
    document.getElementById("notes-section").style.display = view.notes && view.notes.length ? "" : "none";
    for (const n of view.notes || []) u.appendChild(el("li", { dataset: { row: "note" } }, n));
  }

  // --- charts (uPlot) ---

  function chartBox(id, title) {
    const box = clear(id);
    box.appendChild(el("div", { class: "title" }, title));
    return box;
  }

  function barChart(id, title, labels, series) {
    const box = chartBox(id, title);
    if (typeof uPlot === "undefined" || !labels.length) return;
    const xs = labels.map((_, i) => i);
    const bars = uPlot.paths.bars({ size: [0.6, 60] });
    const opts = {
      width: box.clientWidth || 440, height: 200,
      legend: { show: false },
      scales: { x: { time: false, range: [-0.5, labels.length - 0.5] }, y: { range: (u, min, max) => [0, Math.max(max, 1e-9) * 1.1] } },
      axes: [
        { values: (u, vals) => vals.map((v) => Number.isInteger(v) && labels[v] !== undefined ? labels[v] : ""), splits: () => xs, size: 40, font: "10px sans-serif" },
        { size: 50, font: "10px sans-serif" },
      ],
      series: [{}, ...series.map((s) => ({ label: s.label, fill: s.color + "cc", stroke: s.color, paths: bars, points: { show: false } }))],
    };
    new uPlot(opts, [xs, ...series.map((s) => s.values)], box);
  }

  // Cumulative listings (or zipcodes when counts are unknown) delivered per miner over time.
  function deliveryChart(view, ds, col) {
    const byListings = ds.length > 0 && ds.every((d) => d.listings !== undefined);
    const box = chartBox("chart-deliveries", (byListings ? "listings" : "submissions") + " delivered per miner over time (store commit times)" + (view.deadline_ms ? "; dashed: deadline" : ""));
    if (typeof uPlot === "undefined" || !ds.length) return;
    const miners = [...new Set(ds.map((d) => d.hotkey))];
    const xs = [...new Set(ds.map((d) => d.at_ms / 1000))].sort((a, b) => a - b);
    if (xs.length === 1) xs.unshift(xs[0] - 1);
    const data = [xs];
    for (const m of miners) {
      let sum = 0;
      const mine = ds.filter((d) => d.hotkey === m);
      data.push(xs.map((x) => {
        let seen = false;
        sum = 0;
        for (const d of mine) if (d.at_ms / 1000 <= x) { sum += byListings ? d.listings : 1; seen = true; }
        return seen ? sum : null;
      }));
    }
    const deadline = view.deadline_ms ? view.deadline_ms / 1000 : null;
    const opts = {
      width: box.clientWidth || 1200, height: 220,
      legend: { live: false },
      scales: { x: { time: true }, y: { range: (u, min, max) => [0, Math.max(max, 1) * 1.1] } },
      series: [{}, ...miners.map((m) => ({ label: short(m), stroke: col.get(m), width: 2, spanGaps: true, paths: uPlot.paths.stepped({ align: 1 }) }))],
      axes: [{ font: "10px sans-serif" }, { size: 50, font: "10px sans-serif" }],
      hooks: {
        draw: [(u) => {
          if (deadline === null) return;
          const x = u.valToPos(deadline, "x", true);
          if (x < u.bbox.left || x > u.bbox.left + u.bbox.width) return;
          const ctx = u.ctx;
          ctx.save();
          ctx.strokeStyle = "#c62828";
          ctx.setLineDash([5, 4]);
          ctx.beginPath();
          ctx.moveTo(x, u.bbox.top);
          ctx.lineTo(x, u.bbox.top + u.bbox.height);
          ctx.stroke();
          ctx.restore();
        }],
      },
    };
    new uPlot(opts, data, box);
  }

  // --- loading ---

  function message(text, isError) {
    const m = document.getElementById("message");
    m.textContent = text;
    m.className = "message" + (isError ? " error" : "");
    m.style.display = text ? "" : "none";
  }

  async function getJson(url) {
    const r = await fetch(url, { headers: { accept: "application/json" } });
    const body = await r.json().catch(() => ({}));
    if (!r.ok) throw new Error((body && body.error) || ("HTTP " + r.status));
    return body;
  }

  function render(view) {
    const col = colors(view);
    renderSummary(view);
    renderAgreement(view);
    renderMiners(view, col);
    renderAssignments(view);
    renderDeliveries(view, col);
    renderGates(view, col);
    renderRejected(view);
    renderNotes(view);
    document.body.dataset.epoch = view.epoch_id;
    document.body.dataset.source = view.source;
    document.body.dataset.state = "rendered";
  }

  async function show(id) {
    document.body.dataset.state = "loading";
    message("Loading epoch " + id + "…");
    try {
      const view = await getJson(API + "/" + encodeURIComponent(id));
      message("");
      render(view);
    } catch (e) {
      message("Cannot load epoch " + id + ": " + e.message, true);
      document.body.dataset.state = "error";
    }
  }

  async function start() {
    try {
      const list = await getJson(API);
      document.getElementById("source").textContent = "served by the " + list.source;
      const sel = clear("epoch-select");
      for (const e of list.epochs) sel.appendChild(el("option", { value: e.epoch_id }, e.epoch_id + (e.status ? " (" + e.status + ")" : "")));
      const wanted = new URLSearchParams(location.search).get("epoch");
      const id = wanted || (list.epochs[0] && list.epochs[0].epoch_id);
      if (!id) {
        message("No epoch yet.");
        document.body.dataset.state = "empty";
        return;
      }
      sel.value = id;
      sel.addEventListener("change", () => {
        history.replaceState(null, "", "?epoch=" + encodeURIComponent(sel.value));
        show(sel.value);
      });
      await show(id);
    } catch (e) {
      message("Cannot load the epoch list: " + e.message, true);
      document.body.dataset.state = "error";
    }
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
