// avemotion web page: upload → poll the job → show the result; live webcam over a WebSocket.
// Plain JavaScript and SVG, served by the package: no CDN, works offline.
"use strict";

const $ = (id) => document.getElementById(id);
const COLOURS = {angry: "#dc2828", disgust: "#3c8c28", fear: "#963c96", happy: "#f0c81e", neutral: "#b4b4b4",
  sad: "#2878c8", surprise: "#faa03c", calm: "#78c8a0"};
const SVGNS = "http://www.w3.org/2000/svg";

// -- tabs ----------------------------------------------------------------------------------
for (const [tab, section] of [["tab-analyze", "analyze"], ["tab-live", "live"]]) {
  $(tab).addEventListener("click", () => {
    document.querySelectorAll(".tab").forEach((t) => t.classList.toggle("on", t.id === tab));
    $("analyze").hidden = section !== "analyze";
    $("live").hidden = section !== "live";
  });
}

// -- upload --------------------------------------------------------------------------------
const drop = $("drop");
["dragenter", "dragover"].forEach((e) => drop.addEventListener(e, (ev) => { ev.preventDefault(); drop.classList.add("over"); }));
["dragleave", "drop"].forEach((e) => drop.addEventListener(e, (ev) => { ev.preventDefault(); drop.classList.remove("over"); }));
drop.addEventListener("drop", (ev) => { if (ev.dataTransfer.files.length) upload(ev.dataTransfer.files[0]); });
$("file").addEventListener("change", (ev) => { if (ev.target.files.length) upload(ev.target.files[0]); });

async function upload(file) {
  const form = new FormData($("upload"));
  form.set("file", file, file.name);
  for (const [k, v] of [...form.entries()]) if (k !== "file" && v === "") form.delete(k);  // blank: the default
  $("job").hidden = false; $("result").hidden = true; $("error").hidden = true;
  $("job-name").textContent = file.name;
  $("job-status").textContent = "uploading…"; $("progress").value = 0;
  let res;
  try {
    res = await fetch("/v1/analyze", {method: "POST", body: form});
  } catch (e) { return fail("upload failed: " + e); }
  const body = await res.json().catch(() => ({}));
  if (!res.ok) return fail(body.detail || res.statusText);
  poll(body.id);
}

function fail(msg) {
  $("error").textContent = typeof msg === "string" ? msg : JSON.stringify(msg);
  $("error").hidden = false; $("job-status").textContent = "failed";
}

async function poll(id) {
  const res = await fetch(`/v1/jobs/${id}`);
  const job = await res.json();
  $("progress").value = job.progress || 0;
  $("job-status").textContent = job.status + (job.status === "running" ? ` ${Math.round(100 * (job.progress || 0))}%` : "");
  if (job.status === "done") { show(job); refreshRecent(); return; }
  if (job.status === "failed") { fail(job.error || "failed"); refreshRecent(); return; }
  setTimeout(() => poll(id), 400);
}

async function show(job) {
  const r = await (await fetch(job.links.result)).json();
  $("result").hidden = false;
  $("label").textContent = r.label || "nothing to read (no face, no speech)";
  $("lanes").textContent = `face: ${r.status.face} · voice: ${r.status.voice} · ${r.duration.toFixed(1)} s · fusion: ${r.config.fusion}`;
  summaryTable(r);
  chart(r);
  const v = $("video");
  if (r.outputs.includes("annotated.mp4")) { v.hidden = false; v.src = job.links.annotated_mp4; } else { v.hidden = true; }
  // one link per output the job wrote (the server's links come from its output registry)
  const files = Object.entries(job.links).filter(([k]) => k !== "self" && k !== "report")
    .map(([k, href]) => [k === "result" ? "result.json" : href.split("/").pop(), href])
    .filter(([file]) => file === "result.json" || (r.outputs || []).includes(file));
  $("downloads").innerHTML = files.map(([file, href]) =>
    `<a href="${escapeHtml(href)}"${file.endsWith(".html") ? "" : ` download="${escapeHtml(file)}"`}>${escapeHtml(file)}</a>`).join(" · ");
}

function summaryTable(r) {
  const labels = [...(r.models.fused_labels || [])];
  for (const k of r.models.face_labels || []) if (!labels.includes(k)) labels.push(k);
  for (const k of r.models.voice_labels || []) if (!labels.includes(k)) labels.push(k);
  const cols = ["voice", "face", "fused"];
  let html = "<tr><th>emotion</th>" + cols.map((c) => `<th>${c}</th>`).join("") + "</tr>";
  for (const lab of labels) {
    html += `<tr><th>${lab}</th>`;
    for (const c of cols) {
      const d = r.summary[c];
      if (!d || d[lab] === undefined) { html += "<td class=muted>–</td>"; continue; }
      const best = Object.entries(d).sort((a, b) => b[1] - a[1])[0][0] === lab;
      html += `<td class="${best ? "best" : ""}"><span class=bar style="width:${Math.round(60 * d[lab])}px"></span>${d[lab].toFixed(3)}</td>`;
    }
    html += "</tr>";
  }
  $("summary").innerHTML = html;
}

// -- the timeline chart: fused lines over face and voice heat strips -----------------------
function el(name, attrs, parent) {
  const e = document.createElementNS(SVGNS, name);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  if (parent) parent.appendChild(e);
  return e;
}

function chart(r) {
  const W = 1000, left = 70, right = 110, top = 10, fusedH = 200, laneH = 12, gap = 18;
  const faceLabels = r.models.face_labels, voiceLabels = r.models.voice_labels || [];
  const fusedLabels = r.models.fused_labels || Object.keys((r.timeline.find((w) => w.fused) || {}).fused || {});
  const affectH = 60;  // fused valence and arousal (derived), -1 at the bottom, +1 at the top
  const H = top + fusedH + gap + laneH * faceLabels.length + gap + laneH * voiceLabels.length + gap + affectH + 30;
  const t0 = r.timeline.length ? r.timeline[0].start : 0, t1 = r.timeline.length ? r.timeline[r.timeline.length - 1].end : 1;
  const x = (t) => left + (W - left - right) * (t - t0) / Math.max(1e-6, t1 - t0);
  const svg = el("svg", {viewBox: `0 0 ${W} ${H}`, width: W, height: H, id: "timeline-svg", role: "img",
    "aria-label": "timeline of fused, face and voice emotions"});
  // fused: a line per emotion
  el("text", {x: 4, y: top + 12, "font-size": 12}, svg).textContent = "fused";
  el("line", {x1: left, x2: W - right, y1: top + fusedH, y2: top + fusedH, stroke: "#999"}, svg);
  fusedLabels.forEach((lab, i) => {
    const pts = r.timeline.filter((w) => w.fused).map((w) => `${x((w.start + w.end) / 2)},${top + fusedH * (1 - w.fused[lab])}`);
    if (pts.length) el("polyline", {points: pts.join(" "), fill: "none", stroke: COLOURS[lab] || "#333", "stroke-width": 2.5, class: "fused-line"}, svg);
    el("rect", {x: W - right + 10, y: top + 4 + i * 16, width: 10, height: 10, fill: COLOURS[lab] || "#333"}, svg);
    el("text", {x: W - right + 24, y: top + 13 + i * 16, "font-size": 12}, svg).textContent = lab;
  });
  // lanes: heat strips, blank where the modality has nothing
  let y0 = top + fusedH + gap;
  for (const [lane, labels] of [["face", faceLabels], ["voice", voiceLabels]]) {
    el("text", {x: 4, y: y0 + 10, "font-size": 12}, svg).textContent = lane;
    labels.forEach((lab, i) => {
      el("text", {x: left - 4, y: y0 + i * laneH + 10, "font-size": 9, "text-anchor": "end"}, svg).textContent = lab;
      for (const w of r.timeline) {
        const p = w[lane].probabilities;
        if (!p) continue;
        el("rect", {x: x(w.start), y: y0 + i * laneH, width: Math.max(1, x(w.end) - x(w.start)), height: laneH - 1,
          fill: COLOURS[lab] || "#333", "fill-opacity": Math.max(0.04, p[lab])}, svg);
      }
    });
    if (r.status[lane] !== "ok") el("text", {x: (left + W - right) / 2, y: y0 + 4 + laneH * labels.length / 2, "font-size": 12, fill: "#888", "text-anchor": "middle"}, svg).textContent = r.status[lane];
    y0 += laneH * labels.length + gap;
  }
  // valence and arousal of the fused distribution: derived (result.json's affect), two lines
  el("text", {x: 4, y: y0 + 10, "font-size": 12}, svg).textContent = "affect";
  el("line", {x1: left, x2: W - right, y1: y0 + affectH / 2, y2: y0 + affectH / 2, stroke: "#ccc"}, svg);
  for (const [dim, colour] of [["valence", "#2a7"], ["arousal", "#c50"]]) {
    const pts = r.timeline.filter((w) => w.affect && w.affect.fused)
      .map((w) => `${x((w.start + w.end) / 2)},${y0 + affectH * (1 - w.affect.fused[dim]) / 2}`);
    if (pts.length) el("polyline", {points: pts.join(" "), fill: "none", stroke: colour, "stroke-width": 2, class: `affect-${dim}`}, svg);
    const k = dim === "valence" ? 0 : 1;
    el("text", {x: W - right + 10, y: y0 + 12 + k * 16, "font-size": 11, fill: colour}, svg).textContent = `${dim} (derived)`;
  }
  for (let t = Math.ceil(t0); t <= t1; t += Math.max(1, Math.round((t1 - t0) / 10))) {
    el("text", {x: x(t), y: H - 8, "font-size": 10, "text-anchor": "middle"}, svg).textContent = `${t}s`;
  }
  // hover: a cursor and the window's values
  const cursor = el("line", {y1: top, y2: H - 24, stroke: "#000", "stroke-dasharray": "3 3", visibility: "hidden"}, svg);
  const tip = $("tooltip");
  svg.addEventListener("mousemove", (ev) => {
    const rect = svg.getBoundingClientRect();
    const sx = (ev.clientX - rect.left) * W / rect.width;
    const t = t0 + (sx - left) * (t1 - t0) / (W - left - right);
    const w = r.timeline.find((w) => t >= w.start && t < w.end);
    if (!w) { tip.hidden = true; cursor.setAttribute("visibility", "hidden"); return; }
    cursor.setAttribute("x1", sx); cursor.setAttribute("x2", sx); cursor.setAttribute("visibility", "visible");
    const fmt = (d) => d ? Object.entries(d).sort((a, b) => b[1] - a[1]).slice(0, 3).map(([k, v]) => `${k} ${v.toFixed(2)}`).join(", ") : "–";
    tip.textContent = `${w.start.toFixed(1)}–${w.end.toFixed(1)} s\nfused: ${fmt(w.fused)}\nface (${w.face.status}): ${fmt(w.face.probabilities)}\nvoice (${w.voice.status}): ${fmt(w.voice.probabilities)}`;
    tip.style.left = `${ev.clientX + 14}px`; tip.style.top = `${ev.clientY + 14}px`; tip.hidden = false;
  });
  svg.addEventListener("mouseleave", () => { tip.hidden = true; cursor.setAttribute("visibility", "hidden"); });
  $("chart").replaceChildren(svg);
}

async function refreshRecent() {
  const jobs = await (await fetch("/v1/jobs?limit=10")).json();
  $("recent").innerHTML = jobs.map((j) => `<li><a href="#" data-id="${j.id}">${escapeHtml(j.filename || j.id)}</a> — ${j.status}` +
    `${j.label ? ": " + j.label : ""}${j.error ? ": " + escapeHtml(j.error) : ""}</li>`).join("");
  $("recent").querySelectorAll("a").forEach((a) => a.addEventListener("click", async (ev) => {
    ev.preventDefault();
    const job = await (await fetch(`/v1/jobs/${a.dataset.id}`)).json();
    $("job").hidden = false; $("job-name").textContent = job.filename; poll(job.id);
  }));
}

// -- the options form: one field per analysis option, from /v1/options (each declared once, server-side)
const RULE_NAMES = {confidence: "confidence-aware", weighted: "weighted average (the original system's)"};
async function loadOptions() {
  const o = await (await fetch("/v1/options")).json();
  $("option-fields").innerHTML = o.options.map(optionField).join("");
}
function optionField(opt) {
  const name = escapeHtml(opt.name), help = escapeHtml(opt.help);
  const label = (input) => `<label title="${help}">${escapeHtml(opt.name.replace(/_/g, " "))} ${input}</label>`;
  if (opt.choices) {
    return label(`<select name="${name}">` + opt.choices.map((c) => `<option value="${escapeHtml(c)}"` +
      `${c === opt.default ? " selected" : ""}>${escapeHtml(RULE_NAMES[c] || c)}</option>`).join("") + "</select>");
  }
  if (opt.kind === "flag") {
    const d = opt.default === null ? "as the model says" : (opt.default ? "on" : "off");
    return label(`<select name="${name}"><option value="">default (${d})</option>` +
      `<option value="true">on</option><option value="false">off</option></select>`);
  }
  if (opt.kind === "number" || opt.kind === "integer") {
    const range = (opt.minimum !== undefined ? ` min="${opt.minimum}"` : "") + (opt.maximum !== undefined ? ` max="${opt.maximum}"` : "");
    return label(`<input name="${name}" type="number" step="${opt.kind === "integer" ? 1 : "any"}" ` +
      `value="${escapeHtml(opt.default ?? "")}"${range}>`);
  }
  const hint = opt.kind === "weights" ? Object.entries(opt.default).map(([k, v]) => `${k}=${v}`).join(",") : (opt.default ?? "");
  return label(`<input name="${name}" placeholder="${escapeHtml(hint)}">`);
}
loadOptions();

function escapeHtml(s) { return String(s).replace(/[&<>"']/g, (c) => ({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;"}[c])); }
refreshRecent();

// -- live ----------------------------------------------------------------------------------
let stream = null, socket = null, timer = null;
$("live-start").addEventListener("click", async () => {
  $("live-error").hidden = true;
  try {
    stream = await navigator.mediaDevices.getUserMedia({video: {width: 640, height: 480}, audio: false});
  } catch (e) {
    $("live-error").textContent = "no webcam available: " + e.message; $("live-error").hidden = false; return;
  }
  const cam = $("cam"), overlay = $("overlay");
  cam.srcObject = stream;
  await cam.play();
  overlay.width = cam.videoWidth; overlay.height = cam.videoHeight;
  const grab = document.createElement("canvas");
  grab.width = cam.videoWidth; grab.height = cam.videoHeight;
  socket = new WebSocket(`${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/v1/live`);
  socket.binaryType = "arraybuffer";
  let busy = false;
  socket.onmessage = (ev) => { busy = false; drawLive(JSON.parse(ev.data)); };
  socket.onclose = () => stop();
  timer = setInterval(() => {
    if (busy || socket.readyState !== 1) return;
    grab.getContext("2d").drawImage(cam, 0, 0);
    grab.toBlob((b) => { if (b && socket.readyState === 1) { busy = true; socket.send(b); } }, "image/jpeg", 0.8);
  }, 200);
  $("live-start").disabled = true; $("live-stop").disabled = false;
});
$("live-stop").addEventListener("click", () => stop());

function stop() {
  clearInterval(timer);
  if (socket) socket.close();
  if (stream) stream.getTracks().forEach((t) => t.stop());
  socket = stream = null;
  $("live-start").disabled = false; $("live-stop").disabled = true;
}

function drawLive(out) {
  const ctx = $("overlay").getContext("2d");
  ctx.clearRect(0, 0, ctx.canvas.width, ctx.canvas.height);
  if (out.error) return;
  for (const f of out.faces) {
    const [x, y, w, h] = f.box;
    ctx.strokeStyle = COLOURS[f.label] || "#fff"; ctx.lineWidth = 3; ctx.strokeRect(x, y, w, h);
    ctx.fillStyle = COLOURS[f.label] || "#fff"; ctx.font = "16px system-ui";
    ctx.fillText(`${f.label} ${f.probabilities[f.label].toFixed(2)}`, x, Math.max(16, y - 6));
  }
  $("live-state").textContent = out.label ? `running: ${out.label}` : "no face";
}
