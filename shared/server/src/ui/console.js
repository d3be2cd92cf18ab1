// The Switchyard console: one page over the HTTP API. Every request carries
// the key typed in (kept in sessionStorage, so it dies with the tab); all
// data is put in the page as text, never as HTML.
"use strict";

const state = { key: sessionStorage.getItem("switchyard-key") || "", stream: null, buckets: new Map() };
const BUCKET_MS = 10000;
const WINDOW_BUCKETS = 30;
const FEED_ROWS = 200;
const COUNTERS = ["dispatched", "executed", "failed", "deduplicated", "suppressed", "throttled", "scheduled", "pending_approval", "chains_started"];
const COLORS = { executed: "#2e9e5b", failed: "#c0392b", deduplicated: "#8e9aaf", suppressed: "#7d5fb2", throttled: "#e67e22", rerouted: "#2f6fde", pending_approval: "#d4ac0d", chain_started: "#16a085", scheduled: "#5b7db1" };

const $ = (id) => document.getElementById(id);

function el(tag, props, ...children) {
  const node = document.createElement(tag);
  Object.assign(node, props || {});
  for (const child of children) node.append(child instanceof Node ? child : String(child ?? ""));
  return node;
}

function headers(extra) {
  const h = Object.assign({}, extra);
  if (state.key) h.Authorization = "Bearer " + state.key;
  return h;
}

function setStatus(text, kind) {
  const s = $("status");
  s.textContent = text;
  s.className = "status " + (kind || "");
}

async function api(method, path, body) {
  const init = { method, headers: headers(body ? { "Content-Type": "application/json" } : {}) };
  if (body) init.body = JSON.stringify(body);
  const res = await fetch(path, init);
  if (res.status === 401) {
    setStatus("an API key is needed", "error");
    throw new Error("unauthorized");
  }
  const text = await res.text();
  const data = text ? JSON.parse(text) : null;
  if (!res.ok) throw new Error((data && data.error) || res.statusText);
  return data;
}

function query(form) {
  const params = new URLSearchParams();
  for (const [name, value] of new FormData(form)) if (String(value).trim()) params.set(name, String(value).trim());
  return params;
}

// ---- live feed and outcome rates -------------------------------------------

function onEvent(event) {
  const body = $("feed");
  const id = el("td", { className: "id", title: "show the audit record" }, event.action_id || "");
  id.addEventListener("click", () => showRecord(event.action_id, event.namespace, event.tenant));
  const time = event.timestamp ? new Date(event.timestamp).toLocaleTimeString() : "";
  body.prepend(el("tr", { className: "event" }, el("td", {}, time), el("td", {}, event.type),
    el("td", {}, event.namespace + "/" + event.tenant), el("td", {}, event.action_type),
    el("td", {}, event.provider), el("td", { className: "outcome" }, event.outcome), id));
  while (body.rows.length > FEED_ROWS) body.deleteRow(body.rows.length - 1);
  const scope = $("scope");
  if (!scope.namespace.value && event.namespace) {
    scope.namespace.value = event.namespace;
    scope.tenant.value = event.tenant;
  }
  if (event.type === "action_dispatched") {
    const bucket = Math.floor(Date.now() / BUCKET_MS);
    const counts = state.buckets.get(bucket) || {};
    counts[event.outcome] = (counts[event.outcome] || 0) + 1;
    state.buckets.set(bucket, counts);
    drawRates();
  }
}

// Server-sent events read with fetch, so that the key goes in a header.
async function openStream() {
  if (state.stream) state.stream.abort();
  const controller = new AbortController();
  state.stream = controller;
  let lastId = null;
  while (!controller.signal.aborted) {
    try {
      const extra = lastId ? { "Last-Event-ID": lastId } : {};
      const res = await fetch("/v1/stream?" + query($("filters")), { headers: headers(extra), signal: controller.signal });
      if (res.status === 401) {
        setStatus("an API key is needed", "error");
        return;
      }
      if (!res.ok) throw new Error("stream: HTTP " + res.status);
      setStatus("live", "ok");
      const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
      let buffer = "";
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += value;
        let end;
        while ((end = buffer.indexOf("\n\n")) >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const fields = { data: "" };
          for (const line of block.split("\n")) {
            const colon = line.indexOf(":");
            if (colon <= 0) continue;
            const name = line.slice(0, colon);
            const value = line.slice(colon + 1).replace(/^ /, "");
            fields[name] = name === "data" ? fields.data + value : value;
          }
          if (fields.id) lastId = fields.id;
          if (fields.data) onEvent(JSON.parse(fields.data));
        }
      }
    } catch (err) {
      if (controller.signal.aborted) return;
      setStatus(String(err.message || err), "error");
    }
    await new Promise((resolve) => setTimeout(resolve, 2000));
  }
}

function drawRates() {
  const canvas = $("rates");
  const ctx = canvas.getContext("2d");
  ctx.clearRect(0, 0, canvas.width, canvas.height);
  const now = Math.floor(Date.now() / BUCKET_MS);
  const columns = [];
  let max = 1;
  for (let i = WINDOW_BUCKETS - 1; i >= 0; i--) {
    const counts = state.buckets.get(now - i) || {};
    columns.push(counts);
    max = Math.max(max, Object.values(counts).reduce((a, b) => a + b, 0));
  }
  for (const key of state.buckets.keys()) if (key < now - WINDOW_BUCKETS) state.buckets.delete(key);
  const width = canvas.width / WINDOW_BUCKETS;
  const seen = new Set();
  columns.forEach((counts, i) => {
    let y = canvas.height;
    for (const [outcome, n] of Object.entries(counts)) {
      const h = (n / max) * (canvas.height - 10);
      ctx.fillStyle = COLORS[outcome] || "#5d6d7e";
      ctx.fillRect(i * width + 2, y - h, width - 4, h);
      y -= h;
      seen.add(outcome);
    }
  });
  const legend = $("legend");
  legend.replaceChildren(...[...seen].map((o) => {
    const swatch = el("i");
    swatch.style.background = COLORS[o] || "#5d6d7e"; // CSSOM: allowed by the page's CSP
    return el("span", {}, swatch, o);
  }));
  legend.append(el("span", {}, "per 10 s, last 5 min, peak " + max));
}

// ---- polled views ----------------------------------------------------------

async function refreshCounters() {
  const metrics = await api("GET", "/metrics");
  $("counters").replaceChildren(...COUNTERS.map((name) =>
    el("div", { className: "tile", id: "counter-" + name }, el("b", {}, metrics[name] ?? 0), el("span", {}, name.replace(/_/g, " ")))));
}

async function refreshProviders() {
  const [breakers, health] = await Promise.all([api("GET", "/v1/circuit-breakers"), api("GET", "/v1/providers/health")]);
  const states = new Map((breakers.circuit_breakers || []).map((b) => [b.provider, b.state]));
  const providers = Array.isArray(health.providers) ? health.providers : [];
  $("providers").replaceChildren(...providers.map((p) => {
    const name = p.provider || p.name;
    const breaker = states.get(name) || "closed";
    const healthy = p.healthy === false ? "unhealthy" : "healthy";
    return el("tr", {}, el("td", {}, name), el("td", { className: "breaker-" + breaker }, breaker), el("td", {}, healthy));
  }));
}

async function refreshRules() {
  const rules = await api("GET", "/v1/rules");
  $("rules").replaceChildren(...rules.map((rule) => {
    const toggle = el("input", { type: "checkbox", checked: rule.enabled, title: "admin only" });
    toggle.addEventListener("change", async () => {
      try {
        await api("PUT", "/v1/rules/" + encodeURIComponent(rule.name) + "/enabled", { enabled: toggle.checked });
      } catch (err) {
        toggle.checked = !toggle.checked;
        setStatus("rule " + rule.name + ": " + err.message, "error");
      }
    });
    return el("tr", {}, el("td", {}, toggle), el("td", {}, rule.name), el("td", {}, rule.priority), el("td", {}, rule.action_type), el("td", {}, rule.description || ""));
  }));
}

async function refreshTenant() {
  const params = query($("scope"));
  if (!params.get("namespace") || !params.get("tenant")) return;
  const [chains, approvals] = await Promise.all([api("GET", "/v1/chains?" + params), api("GET", "/v1/approvals?" + params)]);
  $("chains").replaceChildren(...(chains.chains || []).map((c) =>
    el("li", { className: "chain" }, el("progress", { max: c.total_steps || 1, value: c.status === "completed" ? c.total_steps : c.current_step }),
      " " + c.chain_name + " · " + c.status + " · step " + Math.min(c.current_step + 1, c.total_steps) + "/" + c.total_steps)));
  const pending = (approvals.approvals || []).filter((a) => a.status === "pending");
  $("approvals").replaceChildren(...pending.map((a) => {
    const decide = (verb) => async () => {
      try {
        await api("POST", "/v1/approvals/" + [a.namespace, a.tenant, a.id].map(encodeURIComponent).join("/") + "/" + verb);
        refreshTenant();
      } catch (err) {
        setStatus("approval: " + err.message, "error");
      }
    };
    const approve = el("button", {}, "approve");
    approve.addEventListener("click", decide("approve"));
    const reject = el("button", { className: "secondary" }, "reject");
    reject.addEventListener("click", decide("reject"));
    return el("li", {}, a.action_type + " (" + a.rule + ") ", approve, " ", reject);
  }));
}

async function searchAudit(event) {
  if (event) event.preventDefault();
  const params = query($("audit-search"));
  params.set("limit", "50");
  const page = await api("GET", "/v1/audit?" + params);
  $("audit").replaceChildren(...(page.records || []).map((r) => {
    const id = el("td", { className: "id" }, r.action_id);
    id.addEventListener("click", () => showRecord(r.action_id, r.namespace, r.tenant));
    return el("tr", {}, el("td", {}, new Date(r.completed_at || r.dispatched_at).toLocaleString()), el("td", {}, r.namespace + "/" + r.tenant),
      el("td", {}, r.action_type), el("td", {}, r.verdict), el("td", {}, r.outcome), id);
  }));
}

async function showRecord(actionId, namespace, tenant) {
  const params = new URLSearchParams({ namespace, tenant });
  const record = await api("GET", "/v1/audit/" + encodeURIComponent(actionId) + "?" + params);
  const pre = $("record");
  pre.textContent = JSON.stringify(record, null, 2);
  pre.hidden = false;
}

async function refresh() {
  const jobs = [refreshCounters(), refreshProviders(), refreshRules(), refreshTenant()];
  const results = await Promise.allSettled(jobs);
  const failed = results.find((r) => r.status === "rejected");
  if (failed && failed.reason.message !== "unauthorized") setStatus(failed.reason.message, "error");
}

function connect() {
  refresh();
  searchAudit().catch(() => {});
  openStream();
}

document.addEventListener("DOMContentLoaded", () => {
  $("key").value = state.key;
  $("login").addEventListener("submit", (event) => {
    event.preventDefault();
    state.key = $("key").value.trim();
    sessionStorage.setItem("switchyard-key", state.key);
    connect();
  });
  $("filters").addEventListener("submit", (event) => { event.preventDefault(); openStream(); });
  $("scope").addEventListener("submit", (event) => { event.preventDefault(); refreshTenant(); });
  $("audit-search").addEventListener("submit", (event) => searchAudit(event).catch((err) => setStatus(err.message, "error")));
  setInterval(refresh, 3000);
  setInterval(drawRates, BUCKET_MS);
  connect();
});
