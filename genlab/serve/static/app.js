// genlab explorer: the page behind `genlab serve`. Plain JavaScript, no framework, no build step, nothing
// fetched from outside this server. Every model computation happens on the server (genlab.apps); this file
// only asks for it and draws the answers. window.genlab exposes the page's state for tests and the console.
"use strict";

(() => {
  const $ = (id) => document.getElementById(id);

  const G = (window.genlab = {
    ready: false, runs: [], run: null, info: null, tab: null, gen: 0,
    map: null, mapPinned: null, mapShown: null, drawPoint: null, drawImage: null, draw: null,
    code: null, range: null, gallery: null, quiz: { right: 0, total: 0, round: null },
    monitor: { run: null, source: null, progress: null, points: 0, hidden: {}, previewStamp: null },
    toy: { options: null, id: null, state: null, playing: false },
  });

  const RUN_PANELS = ["samples", "map", "sliders", "interpolate", "draw", "complete", "translate", "quiz"];
  const TITLES = {
    samples: "Samples", map: "Latent map", sliders: "Sliders", interpolate: "Interpolate", draw: "Draw", complete: "Complete", translate: "Translate",
    quiz: "Real or generated?", compare: "Compare", monitor: "Training monitor", toygan: "Toy GAN",
  };
  // Tableau's 10 categorical colours: distinguishable, and the usual palette for digit scatters
  const PALETTE = ["#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1", "#ff9da7",
    "#9c755f", "#bab0ac"];
  const REAL = "#1a9850", FAKE = "#7b3294";

  // ------------------------------------------------------------------ requests and errors

  class ApiError extends Error {
    constructor(message, status) { super(message); this.status = status; }
  }

  function oneLine(text) { return String(text).replace(/\s+/g, " ").trim(); }

  function showError(message) {
    $("error-text").textContent = oneLine(message);
    $("error").hidden = false;
  }
  function clearError() { $("error").hidden = true; $("error-text").textContent = ""; }

  function detailText(detail) {
    if (typeof detail === "string") return detail;
    if (Array.isArray(detail)) {   // FastAPI validation (422): [{loc, msg}, ...]
      return detail.map((d) => {
        const loc = (d.loc || []).filter((p) => p !== "body" && p !== "query").join(".");
        return (loc ? loc + ": " : "") + (d.msg || "invalid");
      }).join("; ");
    }
    return detail == null ? null : JSON.stringify(detail);
  }

  async function api(path, options) {
    let r;
    try { r = await fetch(path, options); } catch (e) { throw new ApiError("the server cannot be reached (" + e.message + ")", 0); }
    if (!r.ok) {
      let detail = null;
      try { detail = detailText((await r.json()).detail); } catch (e) { /* not JSON */ }
      throw new ApiError(detail || `${r.status} ${r.statusText} (${path.split("?")[0]})`, r.status);
    }
    return r;
  }
  const getJSON = async (path) => (await api(path)).json();
  const postOptions = (body) => ({ method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) });
  const postJSON = async (path, body) => (await api(path, postOptions(body))).json();

  function blobToDataURL(blob) {
    return new Promise((resolve, reject) => {
      const reader = new FileReader();
      reader.onload = () => resolve(reader.result);
      reader.onerror = () => reject(reader.error);
      reader.readAsDataURL(blob);
    });
  }
  // images come back as data-URIs: nothing to revoke, and equal bytes give an equal src
  const getImage = async (path) => blobToDataURL(await (await api(path)).blob());
  const postImage = async (path, body) => blobToDataURL(await (await api(path, postOptions(body))).blob());

  function qs(params) {
    const q = new URLSearchParams();
    for (const [k, v] of Object.entries(params)) if (v !== null && v !== undefined && v !== "") q.set(k, v);
    const s = q.toString();
    return s ? "?" + s : "";
  }
  const runPath = (sub, run = G.run) => `/api/runs/${encodeURIComponent(run)}/${sub}`;

  // an event handler that reports its failure in #error instead of the console
  const guard = (fn) => async (...args) => {
    try { await fn(...args); } catch (e) { showError(e.message || String(e)); }
  };

  // at most one request in flight; calls made meanwhile collapse into the latest, sent when it returns
  function latestWins(fn) {
    let busy = false, next = null, has = false;
    return function go(arg) {
      next = arg; has = true;
      if (busy) return;
      busy = true;
      (async () => {
        try {
          while (has) { const a = next; has = false; next = null; await fn(a); }
        } catch (e) { showError(e.message || String(e)); } finally { busy = false; }
      })();
    };
  }

  // native-size image scaled up by a whole factor (crisp pixels) to about `width` CSS pixels
  function setImg(img, uri, width = 112) {
    img.onload = () => {
      const k = Math.max(1, Math.floor(width / Math.max(1, img.naturalWidth)));
      img.style.width = img.naturalWidth * k + "px";
      img.style.maxWidth = "100%";
    };
    img.src = uri;
    img.hidden = false;
  }

  function el(tag, attrs = {}, ...children) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs)) {
      if (k === "class") e.className = v; else if (k === "text") e.textContent = v; else e.setAttribute(k, v);
    }
    for (const c of children) e.append(c);
    return e;
  }

  function labelName(info, y) {
    if (y === null || y === undefined) return "";
    // the data's class names (folder names) name every label; a conditional model's label space too
    // (never a categorical code's values: InfoGAN's c1 is no class)
    const labels = info && info.labels;
    const names = labels ? labels.names || (labels.kind === "classes" ? info.class_names : null) : info && info.class_names;
    return names && names[y] !== undefined ? String(names[y]) : String(y);
  }

  // ------------------------------------------------------------------ runs, tabs, panels

  function describe(info) {
    const parts = [];
    parts.push(`<b>${esc(info.model || "?")}</b>`);
    if (info.capabilities && info.capabilities.length) parts.push("can " + info.capabilities.map(esc).join(", "));
    if (info.image_shape) parts.push("images " + info.image_shape.join("×"));
    if (info.data) parts.push("data " + esc(typeof info.data === "string" ? info.data : JSON.stringify(info.data)));
    if (info.n_held_out) parts.push(`${info.n_held_out} held-out images`);
    if (info.latent_dim) parts.push(`${info.latent_dim}-D code`);
    if (info.labels) parts.push(`${info.labels.kind === "code" ? "draws a" : "conditioned on its"} ${esc(info.labels.meaning || "label")} (${info.labels.size} values)`);
    if (info.task) parts.push("task " + esc(info.task));
    if (info.denoiser) parts.push("denoiser");
    if (!info.panels || !info.panels.length) {
      parts.push(info.capabilities && info.capabilities.length ? "no per-run panel applies to this model (reasons below)"
        : "not loadable yet: training monitor only");
    }
    return parts.join(" · ");
  }
  function esc(s) { return String(s).replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" }[c])); }

  const loadable = () => G.runs.filter((r) => r.panels && r.panels.length);

  function tabsFor(info) {
    const tabs = RUN_PANELS.filter((p) => (info.panels || []).includes(p));
    const global = [];
    if (loadable().length >= 2) global.push("compare");
    global.push("monitor", "toygan");
    return { run: tabs, global };
  }

  function fillLabelSelect(select, info) {
    select.innerHTML = "";
    const wrap = select.closest(".needs-labels");
    if (!info.labels) { if (wrap) wrap.hidden = true; return; }
    if (wrap) wrap.hidden = false;
    select.append(el("option", { value: "", text: "any" }));
    for (let y = 0; y < info.labels.size; y++) {
      const name = labelName(info, y);
      select.append(el("option", { value: String(y), text: name }));   // the number: what every model takes
    }
  }
  const labelOf = (id) => ($(id).value === "" ? null : $(id).value);

  function selectRun(name, wantTab) {
    const info = G.runs.find((r) => r.name === name) || G.runs[0];
    stopMonitor(); G.toy.playing = false;
    G.gen++;
    G.run = info.name; G.info = info;
    $("runs").value = info.name;
    G.map = null; G.mapPinned = null; G.mapShown = null; G.drawPoint = null; G.drawImage = null; G.draw = null;
    G.code = null; G.range = null; G.gallery = null; G.quiz = { right: 0, total: 0, round: null };
    resetRunPanels();
    $("run-desc").innerHTML = describe(info);
    document.title = `${info.name} · genlab explorer`;
    $("monitor-run").value = info.name;
    ["label", "map-label", "slider-label"].forEach((id) => fillLabelSelect($(id), info));

    const { run, global } = tabsFor(info);
    const nav = $("tabs");
    nav.innerHTML = "";
    const add = (t, cls) => {
      const b = el("button", { type: "button", role: "tab", "data-tab": t, class: cls, text: TITLES[t] });
      b.addEventListener("click", () => showTab(t));
      nav.append(b);
    };
    run.forEach((t) => add(t, "run"));
    if (run.length) nav.append(el("span", { class: "sep" }));
    global.forEach((t) => add(t, "global"));

    const why = info.why_not || {};
    const missing = RUN_PANELS.filter((p) => !run.includes(p));
    const line = $("unavailable");
    line.innerHTML = "";
    if (missing.length) {
      line.append(el("div", { class: "title", text: "not offered for this run:" }));
      const byReason = new Map();   // panels that share a reason are listed once
      for (const p of missing) {
        const reason = why[p] || "not available for this model";
        byReason.set(reason, (byReason.get(reason) || []).concat(TITLES[p]));
      }
      for (const [reason, titles] of byReason) line.append(el("div", {}, el("b", { text: titles.join(", ") }), ": " + reason));
    }
    const all = run.concat(global);
    const tab = all.includes(wantTab) ? wantTab : all.includes(G.tab) ? G.tab : run[0] || "monitor";
    G.tab = null;
    showTab(tab);
  }

  function resetRunPanels() {
    for (const id of ["samples-img", "map-decoded", "slider-img", "interp-strip", "interp-a-img", "interp-b-img",
      "draw-reconstruction", "draw-noisy", "draw-cleaned", "draw-translated", "quiz-img", "translate-img"]) $(id).removeAttribute("src");
    G.translateFor = null; $("translate-status").textContent = "";
    $("sliders").innerHTML = ""; $("interp-gallery").innerHTML = ""; $("draw-neighbours").innerHTML = "";
    $("draw-judge").textContent = ""; $("map-coords").textContent = ""; $("draw-status").textContent = "";
    $("quiz-score").textContent = "0 / 0 right (chance: 50%)"; $("quiz-feedback").textContent = "";
    ["draw-noisy-fig", "draw-cleaned-fig", "draw-translated-fig"].forEach((id) => ($(id).hidden = true));
    clearDrawCanvas();
    const ctx = $("map-canvas").getContext("2d");
    ctx.clearRect(0, 0, $("map-canvas").width, $("map-canvas").height);
  }

  const ENTER = {};   // tab -> async function run when the tab is shown

  function showTab(tab) {
    if (G.tab === "monitor" && tab !== "monitor") stopMonitor();
    if (tab !== "toygan") pauseToy();
    G.tab = tab;
    document.querySelectorAll("main > .panel").forEach((p) => (p.hidden = p.id !== "panel-" + tab));
    document.querySelectorAll("#tabs button").forEach((b) => b.setAttribute("aria-selected", String(b.dataset.tab === tab)));
    history.replaceState(null, "", "#" + new URLSearchParams({ run: G.run, tab }).toString());
    // the map figure is shared: it sits in the map panel, or beside the drawing so a drawn point shows on it
    const fig = $("map-figure");
    if (tab === "draw" && G.info.panels.includes("map")) $("map-slot-draw").append(fig);
    else $("map-home").append(fig);
    if (ENTER[tab]) guard(ENTER[tab])();
  }

  // ------------------------------------------------------------------ samples

  let samplesSeq = 0;
  async function loadSamples() {
    const seq = ++samplesSeq, gen = G.gen;
    const seed = Math.max(0, Math.floor(Number($("seed").value) || 0));
    const uri = await getImage(runPath("samples.png") + qs({ n: 16, seed, temperature: $("temperature").value, label: labelOf("label") }));
    if (seq !== samplesSeq || gen !== G.gen) return;   // an older answer arriving late
    setImg($("samples-img"), uri, 520);
  }
  ENTER.samples = async () => {
    const pixels = (G.info.panels || []).includes("complete");     // autoregressive: no code, pixel by pixel
    $("samples-explain-latent").hidden = pixels; $("samples-explain-pixels").hidden = !pixels;
    if (!$("samples-img").getAttribute("src")) await loadSamples();
  };

  // ------------------------------------------------------------------ latent map

  const MAP_PAD = 34;
  function mapGeometry() {
    const c = $("map-canvas"), b = G.map.bounds;
    const w = c.width - 2 * MAP_PAD, h = c.height - 2 * MAP_PAD;
    return {
      toCanvas: (u, v) => [MAP_PAD + ((u - b[0]) / (b[1] - b[0] || 1)) * w, MAP_PAD + (1 - (v - b[2]) / (b[3] - b[2] || 1)) * h],
      fromCanvas: (x, y) => [b[0] + ((x - MAP_PAD) / w) * (b[1] - b[0]), b[2] + (1 - (y - MAP_PAD) / h) * (b[3] - b[2])],
    };
  }

  function mapExplain(m) {
    const by = !m.labels ? "" : ` coloured by ${(G.info.labels && G.info.labels.meaning) || (m.class_names ? "class" : "label")}`;
    const what = {
      latent: `The 2-D latent space${by}: each dot is where the encoder puts one held-out image (Kingma & Welling 2014).`,
      pca: `The codes of held-out images projected onto their first two principal components${by}; hovering decodes the code a point stands for (the PCA inverse).`,
      tsne: `A t-SNE picture of the codes (van der Maaten & Hinton 2008)${by}; t-SNE has no inverse, so hovering decodes an average of the nearest codes.`,
    }[m.method] || `The codes of held-out images${by}.`;
    return what + " Hover to decode any point; click to pin it.";
  }

  async function ensureMap() {
    if (G.map) return;
    const gen = G.gen;
    const m = await getJSON(runPath("map"));
    if (gen !== G.gen) return;
    G.map = m;
    $("map-explain").textContent = mapExplain(m);
    const legend = $("map-legend");
    legend.innerHTML = "";
    if (m.labels) {
      const ys = [...new Set(m.labels)].sort((a, b) => a - b);
      for (const y of ys) {
        const name = (m.class_names && m.class_names[y] !== undefined) ? m.class_names[y] : labelName(G.info, y);
        legend.append(el("span", { class: "key" }, el("i", { class: "sw", style: `background:${PALETTE[y % 10]}` }), String(name)));
      }
    }
    legend.append(el("span", { class: "key" }, el("i", { class: "sw", style: "background:#fff;border:2px solid #111" }), "decoded point"));
    legend.append(el("span", { class: "key" }, el("i", { class: "sw", style: "background:#e8590c" }), "your drawing"));
    drawMap();
  }

  function drawMap() {
    const c = $("map-canvas"), ctx = c.getContext("2d");
    ctx.clearRect(0, 0, c.width, c.height);
    const m = G.map;
    if (!m) return;
    const { toCanvas } = mapGeometry();
    // frame and axis names
    ctx.strokeStyle = "#d0d5dd"; ctx.lineWidth = 1;
    ctx.strokeRect(MAP_PAD, MAP_PAD, c.width - 2 * MAP_PAD, c.height - 2 * MAP_PAD);
    ctx.fillStyle = "#667085"; ctx.font = "12px system-ui, sans-serif";
    const axes = m.axes || ["u", "v"];
    ctx.textAlign = "center"; ctx.fillText(axes[0], c.width / 2, c.height - 10);
    ctx.save(); ctx.translate(12, c.height / 2); ctx.rotate(-Math.PI / 2); ctx.fillText(axes[1], 0, 0); ctx.restore();
    ctx.textAlign = "left"; ctx.fillText(fmt(m.bounds[0]), MAP_PAD, c.height - 20);
    ctx.textAlign = "right"; ctx.fillText(fmt(m.bounds[1]), c.width - MAP_PAD, c.height - 20);
    ctx.fillText(fmt(m.bounds[3]), MAP_PAD - 4, MAP_PAD + 10); ctx.fillText(fmt(m.bounds[2]), MAP_PAD - 4, c.height - MAP_PAD);
    // the points
    ctx.globalAlpha = 0.75;
    m.points.forEach(([u, v], i) => {
      const [x, y] = toCanvas(u, v);
      ctx.fillStyle = m.labels ? PALETTE[m.labels[i] % 10] : "#4e79a7";
      ctx.beginPath(); ctx.arc(x, y, 2.6, 0, 2 * Math.PI); ctx.fill();
    });
    ctx.globalAlpha = 1;
    const mark = G.mapShown || G.mapPinned;
    if (mark) {
      const [x, y] = toCanvas(mark.u, mark.v);
      ctx.strokeStyle = "#111"; ctx.lineWidth = 2;
      ctx.beginPath(); ctx.arc(x, y, 7, 0, 2 * Math.PI); ctx.stroke();
      ctx.beginPath(); ctx.moveTo(x - 11, y); ctx.lineTo(x - 4, y); ctx.moveTo(x + 4, y); ctx.lineTo(x + 11, y);
      ctx.moveTo(x, y - 11); ctx.lineTo(x, y - 4); ctx.moveTo(x, y + 4); ctx.lineTo(x, y + 11); ctx.stroke();
    }
    if (G.drawPoint) {
      const [x, y] = toCanvas(G.drawPoint[0], G.drawPoint[1]);
      ctx.fillStyle = "#e8590c"; ctx.strokeStyle = "#fff"; ctx.lineWidth = 2;
      star(ctx, x, y, 11, 5);
      ctx.fillStyle = "#1d2330"; ctx.font = "600 12px system-ui, sans-serif";
      const right = x > c.width - 110;   // near the right edge the label goes on the star's left
      ctx.textAlign = right ? "right" : "left";
      ctx.fillText("your drawing", right ? x - 12 : x + 12, y - 10);
    }
  }

  function star(ctx, x, y, r, inner) {
    ctx.beginPath();
    for (let i = 0; i < 10; i++) {
      const a = -Math.PI / 2 + (i * Math.PI) / 5, rr = i % 2 ? inner : r;
      ctx.lineTo(x + rr * Math.cos(a), y + rr * Math.sin(a));
    }
    ctx.closePath(); ctx.fill(); ctx.stroke();
  }

  function fmt(x) {
    if (!isFinite(x)) return String(x);
    const a = Math.abs(x);
    return a !== 0 && (a >= 1e4 || a < 1e-2) ? x.toExponential(1) : String(Math.round(x * 100) / 100);
  }

  function canvasXY(canvas, e) {
    const r = canvas.getBoundingClientRect();
    return [((e.clientX - r.left) * canvas.width) / r.width, ((e.clientY - r.top) * canvas.height) / r.height];
  }

  // for tests and the console: where a map point (u, v) is drawn on #map-canvas (canvas pixels)
  G.mapToCanvas = (u, v) => (G.map ? mapGeometry().toCanvas(u, v) : null);

  const decodeMapPoint = latestWins(async (p) => {
    const gen = G.gen;
    const uri = await getImage(runPath("point.png") + qs({ u: p.u, v: p.v, label: labelOf("map-label") }));
    if (gen !== G.gen) return;
    setImg($("map-decoded"), uri, 168);
    $("map-coords").textContent = `(${fmt(p.u)}, ${fmt(p.v)})${p === G.mapPinned ? " pinned" : ""}`;
    G.mapShown = p;
    drawMap();
  });

  function mapEvent(e) {
    if (!G.map) return null;
    const [x, y] = canvasXY($("map-canvas"), e);
    const [u, v] = mapGeometry().fromCanvas(x, y);
    return { u, v };
  }

  ENTER.map = ensureMap;

  // ------------------------------------------------------------------ sliders

  const decodeSliders = latestWins(async (code) => {
    const gen = G.gen;
    const uri = await postImage(runPath("decode.png"), { code, label: labelOf("slider-label") });
    if (gen !== G.gen) return;
    setImg($("slider-img"), uri, 168);
  });

  async function resetSliders() {
    const gen = G.gen;
    const n = Math.max(0, Math.floor(Number($("slider-index").value) || 0));
    const encodes = G.info.capabilities.includes("encode");
    const j = await getJSON(runPath("code") + qs(encodes ? { index: n } : { seed: n }));
    if (gen !== G.gen) return;
    G.code = j.code.slice(); G.range = j.range;
    const [lo, hi] = j.range, box = $("sliders");
    box.innerHTML = "";
    const shown = Math.min(32, G.code.length);
    for (let i = 0; i < shown; i++) {
      const input = el("input", { type: "range", class: "slider", min: lo, max: hi, step: (hi - lo) / 200, "data-dim": i, "aria-label": "z" + (i + 1) });
      input.value = G.code[i];
      const out = el("output", { class: "mono", text: fmt(G.code[i]) });
      input.addEventListener("input", () => {
        G.code[i] = Number(input.value); out.textContent = fmt(G.code[i]);
        decodeSliders(G.code.slice());
      });
      box.append(el("label", {}, "z" + (i + 1), input, out));
    }
    $("sliders-note").textContent = (G.code.length > shown ? `the first ${shown} of ${G.code.length} dimensions; the rest stay fixed. ` : "") +
      `range ${fmt(lo)} … ${fmt(hi)}` + (encodes ? `; starts at held-out image ${n}'s code` : `; starts at prior draw ${n}`);
    decodeSliders(G.code.slice());
  }

  ENTER.sliders = async () => {
    const encodes = G.info.capabilities.includes("encode");
    $("slider-index").previousSibling.textContent = encodes ? "reset to image " : "reset to prior draw ";
    if (!G.code) await resetSliders();
  };

  // ------------------------------------------------------------------ interpolation

  let interpTarget = "a";

  function interpChoice(which) {
    const v = $("interp-" + which).value;
    if (v === "drawing") return { image: G.drawImage };
    return { index: Number(v) };
  }

  function showInterpEnds() {
    for (const which of ["a", "b"]) {
      const v = $("interp-" + which).value, img = $(`interp-${which}-img`);
      const item = G.gallery && G.gallery.find((it) => String(it.index) === v);
      if (v === "drawing" && G.drawImage) setImg(img, G.drawImage, 56);
      else if (item) setImg(img, item.image, 56);
    }
    document.querySelectorAll("#interp-gallery img").forEach((img) => {
      img.classList.toggle("sel-a", img.dataset.index === $("interp-a").value);
      img.classList.toggle("sel-b", img.dataset.index === $("interp-b").value);
    });
  }

  function fillInterpSelects() {
    for (const which of ["a", "b"]) {
      const s = $("interp-" + which), keep = s.value;
      s.innerHTML = "";
      for (const it of G.gallery || []) {
        const name = labelName(G.info, it.label);
        s.append(el("option", { value: String(it.index), text: `held-out #${it.index}${name ? " (" + name + ")" : ""}` }));
      }
      const d = el("option", { value: "drawing", text: "my drawing" });
      if (!G.drawImage) d.disabled = true;
      s.append(d);
      if ([...s.options].some((o) => o.value === keep && !o.disabled)) s.value = keep;
    }
  }

  ENTER.interpolate = async () => {
    if (!G.gallery) {
      const gen = G.gen;
      // held-out sets are often sorted by class: take 2 images from each of 8 places spread over the set
      const { total } = await getJSON(runPath("data") + qs({ offset: 0, count: 1 }));
      const offsets = [...new Set([...Array(8).keys()].map((k) => Math.floor((k * total) / 8)))];
      const pages = await Promise.all(offsets.map((offset) => getJSON(runPath("data") + qs({ offset, count: 2 }))));
      if (gen !== G.gen) return;
      const seen = new Set();
      const items = pages.flatMap((pg) => pg.items).filter((it) => !seen.has(it.index) && seen.add(it.index));
      G.gallery = items;
      const box = $("interp-gallery");
      box.innerHTML = "";
      for (const it of items) {
        const img = el("img", { class: "pix", alt: `held-out ${it.index}`, title: `held-out #${it.index} ${labelName(G.info, it.label)}`, "data-index": String(it.index) });
        setImg(img, it.image, 56);
        img.addEventListener("click", () => {
          $("interp-" + interpTarget).value = String(it.index);
          interpTarget = interpTarget === "a" ? "b" : "a";
          $("interp-target").textContent = interpTarget.toUpperCase();
          showInterpEnds();
        });
        box.append(img);
      }
      fillInterpSelects();
      if (items.length > 2) $("interp-b").value = String(items[2].index);   // a different place, often another class
    } else fillInterpSelects();
    showInterpEnds();
  };

  async function interpolate() {
    const gen = G.gen;
    const steps = Math.min(32, Math.max(2, Math.floor(Number($("interp-steps").value) || 8)));
    const uri = await postImage(runPath("interpolate.png"), { a: interpChoice("a"), b: interpChoice("b"), steps, mode: $("interp-mode").value });
    if (gen !== G.gen) return;
    setImg($("interp-strip"), uri, Math.min(900, steps * 28 * 3));
  }

  // ------------------------------------------------------------------ complete (autoregressive models)

  // the pictures a panel can start from: evenly spread held-out images (sets are often sorted by class or
  // domain) and the drawing or upload of the Draw panel
  function fillHeldOutSelect(s) {
    const keep = s.value;
    s.innerHTML = "";
    const n = Math.min(G.info.n_held_out || 0, 1000000);
    for (const i of [0, 1, 2, 3, 4, 5, 6, 7].map((k) => Math.floor((k * n) / 8)).filter((v, j, a) => n && a.indexOf(v) === j))
      s.append(el("option", { value: String(i), text: `held-out #${i}` }));
    const d = el("option", { value: "drawing", text: "my drawing" });
    if (!G.drawImage) d.disabled = true;
    s.append(d);
    if ([...s.options].some((o) => o.value === keep && !o.disabled)) s.value = keep;
  }
  function fillSources() { fillHeldOutSelect($("complete-source")); fillHeldOutSelect($("translate-source")); }

  ENTER.complete = async () => {
    const h = (G.info.image_shape || [1, 28, 28])[1];
    const rows = $("complete-rows");
    rows.max = String(h - 1);
    if (Number(rows.value) > h - 1) rows.value = String(Math.floor(h / 2));
    $("complete-rows-value").textContent = rows.value;
    fillHeldOutSelect($("complete-source"));
  };

  let completeSeq = 0;
  async function complete() {
    const seq = ++completeSeq, gen = G.gen;
    const source = $("complete-source").value;
    const body = {
      rows: Number($("complete-rows").value),
      samples: Math.min(8, Math.max(1, Math.floor(Number($("complete-samples").value) || 4))),
      seed: Math.max(0, Math.floor(Number($("complete-seed").value) || 0)),
    };
    if (source === "drawing" && G.drawImage) body.image = G.drawImage; else body.index = Number(source) || 0;
    $("complete-status").textContent = "sampling pixel by pixel…";
    try {
      const uri = await postImage(runPath("complete.png"), body);
      if (seq !== completeSeq || gen !== G.gen) return;
      setImg($("complete-img"), uri, 112 * (2 + body.samples));
    } finally {
      if (seq === completeSeq) $("complete-status").textContent = "";
    }
  }

  // ------------------------------------------------------------------ translate (cyclegan, stargan)

  // the target controls, built once per run from info.translate: a domain picker (cyclegan) or one
  // box of exclusive checkboxes per attribute group (stargan)
  function buildTranslateTargets() {
    const t = G.info.translate || { kind: "domains", domains: [] };
    G.translateFor = G.run;
    const attrs = t.kind === "attributes";
    $("translate-explain-domains").hidden = attrs; $("translate-explain-attributes").hidden = !attrs;
    $("translate-to-wrap").hidden = attrs; $("translate-attributes").hidden = !attrs;
    const to = $("translate-to");
    to.innerHTML = "";
    const box = $("translate-attributes");
    box.innerHTML = "";
    if (!attrs) {
      to.append(el("option", { value: "", text: "the other domain" }));
      for (const d of t.domains || []) to.append(el("option", { value: d, text: d }));
      return;
    }
    for (const group of t.groups || []) {
      const names = group.map((i) => t.attributes[i]);
      const set = el("fieldset", {}, el("legend", { text: names.join(" / ") }));
      for (const name of names) {
        const cb = el("input", { type: "checkbox", value: name, "data-attribute": name });
        cb.addEventListener("change", () => {     // one value per group: ticking one unticks the others
          if (cb.checked) set.querySelectorAll("input").forEach((o) => { if (o !== cb) o.checked = false; });
        });
        set.append(el("label", {}, cb, name));
      }
      box.append(set);
    }
  }

  ENTER.translate = async () => {
    if (G.translateFor !== G.run) buildTranslateTargets();
    fillHeldOutSelect($("translate-source"));
  };

  let translateSeq = 0;
  async function translateImage() {
    const seq = ++translateSeq, gen = G.gen;
    const source = $("translate-source").value;
    const body = {};
    if (source === "drawing" && G.drawImage) body.image = G.drawImage; else body.index = Number(source) || 0;
    if ((G.info.translate || {}).kind === "attributes") {
      const picked = [...document.querySelectorAll("#translate-attributes input:checked")].map((c) => c.value);
      if (!picked.length) { showError("tick at least one target attribute (the groups left unticked keep the image's own)"); return; }
      body.domains = picked.join(",");
    } else body.to = $("translate-to").value || null;
    $("translate-status").textContent = "translating…";
    try {
      const uri = await postImage(runPath("translate.png"), body);
      if (seq !== translateSeq || gen !== G.gen) return;
      setImg($("translate-img"), uri, 3 * 168);
    } finally {
      if (seq === translateSeq) $("translate-status").textContent = "";
    }
  }

  // ------------------------------------------------------------------ draw

  function clearDrawCanvas() {
    const c = $("draw-canvas"), ctx = c.getContext("2d");
    ctx.fillStyle = "#000"; ctx.fillRect(0, 0, c.width, c.height);
  }

  function setupDrawing() {
    const c = $("draw-canvas"), ctx = c.getContext("2d");
    let drawing = false, last = null;
    const stroke = (to) => {
      ctx.strokeStyle = "#fff"; ctx.lineWidth = 18; ctx.lineCap = "round"; ctx.lineJoin = "round";
      ctx.beginPath(); ctx.moveTo(last[0], last[1]); ctx.lineTo(to[0], to[1]); ctx.stroke();
      last = to;
    };
    c.addEventListener("pointerdown", (e) => {
      e.preventDefault();
      c.setPointerCapture(e.pointerId);
      drawing = true; last = canvasXY(c, e); stroke(last);
    });
    c.addEventListener("pointermove", (e) => {
      if (!drawing) return;
      const events = e.getCoalescedEvents ? e.getCoalescedEvents() : [e];
      for (const ev of events.length ? events : [e]) stroke(canvasXY(c, ev));
    });
    const end = () => {
      if (!drawing) return;
      drawing = false;
      G.drawImage = c.toDataURL("image/png");
      if (G.gallery) fillInterpSelects();
      fillSources();
      $("draw-status").textContent = "asking the model…";
      submitDrawing(G.drawImage);
    };
    c.addEventListener("pointerup", end);
    c.addEventListener("pointercancel", end);
  }

  // an uploaded picture: shown on the canvas (fitted, on black), sent as the file itself (its colours kept)
  const MAX_UPLOAD = 1000000;
  async function uploadPicture(file) {
    if (!file) return;
    if (file.size > MAX_UPLOAD) throw new ApiError(`${file.name} is ${Math.round(file.size / 1024)} KB; pictures up to 1 MB are accepted`, 413);
    const uri = await blobToDataURL(file);
    const img = new Image();
    await new Promise((resolve, reject) => { img.onload = resolve; img.onerror = () => reject(new ApiError(`${file.name} is not a picture the browser can read`, 400)); img.src = uri; });
    const c = $("draw-canvas"), ctx = c.getContext("2d");
    clearDrawCanvas();
    const k = Math.min(c.width / img.naturalWidth, c.height / img.naturalHeight);
    const w = img.naturalWidth * k, h = img.naturalHeight * k;
    ctx.imageSmoothingEnabled = false;
    ctx.drawImage(img, (c.width - w) / 2, (c.height - h) / 2, w, h);
    G.drawImage = uri;
    if (G.gallery) fillInterpSelects();
    fillSources();
    $("draw-status").textContent = "asking the model…";
    submitDrawing(uri);
  }

  const submitDrawing = latestWins(async (image) => {
    const gen = G.gen;
    const r = await postJSON(runPath("draw"), { image });
    if (gen !== G.gen) return;
    G.draw = r;
    if (r.reconstruction) setImg($("draw-reconstruction"), r.reconstruction, 112); else $("draw-reconstruction").removeAttribute("src");
    for (const k of ["noisy", "cleaned", "translated"]) {
      $(`draw-${k}-fig`).hidden = !r[k];
      if (r[k]) setImg($("draw-" + k), r[k], 112);
    }
    if (G.info.task) $("draw-translated-cap").textContent = G.info.task;
    const judge = $("draw-judge");
    if (r.judge) judge.textContent = `judge: ${r.judge.label} (${Math.round(100 * r.judge.probability)}%)`;
    else judge.textContent = "";
    const box = $("draw-neighbours");
    box.innerHTML = "";
    (r.neighbours || []).forEach((uri, i) => {
      const img = el("img", { class: "pix", alt: "neighbour" });
      setImg(img, uri, 56);
      const y = r.neighbour_labels ? r.neighbour_labels[i] : null;
      box.append(el("figure", {}, img, el("figcaption", { text: y === null || y === undefined ? "" : (typeof y === "number" ? labelName(G.info, y) : String(y)) })));
    });
    G.drawPoint = r.point || null;
    $("draw-status").textContent = r.point ? `its code lies at (${fmt(r.point[0])}, ${fmt(r.point[1])}) on the map` : "";
    if (G.info.panels.includes("map")) { await ensureMap(); drawMap(); }
  });

  ENTER.draw = async () => { if (G.info.panels.includes("map")) await ensureMap(); };

  // ------------------------------------------------------------------ quiz

  async function quizRound() {
    const gen = G.gen;
    const j = await getJSON(runPath("quiz"));
    if (gen !== G.gen) return;
    G.quiz.round = j.round;
    setImg($("quiz-img"), j.image, 168);
    $("quiz-real").disabled = $("quiz-generated").disabled = false;
  }

  async function guess(answer) {
    if (!G.quiz.round) return;
    const gen = G.gen, round = G.quiz.round;
    G.quiz.round = null;
    $("quiz-real").disabled = $("quiz-generated").disabled = true;
    let r;
    try { r = await postJSON(runPath("quiz"), { round, guess: answer }); } catch (e) { await quizRound(); throw e; }
    if (gen !== G.gen) return;
    G.quiz.total++; if (r.correct) G.quiz.right++;
    const fb = $("quiz-feedback");
    fb.textContent = `${r.correct ? "right" : "wrong"}: that one was ${r.truth}`;
    fb.className = "hint " + (r.correct ? "right" : "wrong");
    $("quiz-score").textContent = `${G.quiz.right} / ${G.quiz.total} right (chance: 50%)`;
    await quizRound();
  }

  ENTER.quiz = async () => { if (!G.quiz.round) await quizRound(); };

  // ------------------------------------------------------------------ compare

  function fillCompareRuns() {
    const box = $("compare-runs");
    box.innerHTML = "";
    const names = loadable().map((r) => r.name);
    const first = [G.run].concat(names.filter((n) => n !== G.run)).slice(0, 2);
    for (const n of names) {
      const cb = el("input", { type: "checkbox", value: n });
      cb.checked = first.includes(n);
      box.append(el("label", {}, cb, n));
    }
  }
  ENTER.compare = async () => { if (!$("compare-runs").children.length) fillCompareRuns(); };

  async function compare() {
    const names = [...document.querySelectorAll("#compare-runs input:checked")].map((c) => c.value);
    if (names.length < 2 || names.length > 4) { showError("compare needs 2 to 4 runs: tick them above"); return; }
    const seed = Math.max(0, Math.floor(Number($("compare-seed").value) || 0));
    const j = await getJSON("/api/compare" + qs({ runs: names.join(","), seed, n: 8 }));
    const out = $("compare-out");
    out.innerHTML = "";
    const inputs = el("img", { class: "pix", alt: "held-out inputs" });
    setImg(inputs, j.inputs, 500);
    out.append(el("div", { class: "run" }, el("h3", { text: "held-out inputs" }), inputs));
    for (const [name, r] of Object.entries(j.runs)) {
      const card = el("div", { class: "run" }, el("h3", { text: name }));
      for (const k of ["samples", "reconstructions"]) {
        card.append(el("p", { text: k }));
        if (r[k]) { const img = el("img", { class: "pix", alt: `${name} ${k}` }); setImg(img, r[k], 500); card.append(img); }
        else card.append(el("p", { text: (r.why_not && r.why_not[k]) || "not available" }));
      }
      out.append(card);
    }
  }

  // ------------------------------------------------------------------ training monitor

  // Lightning's CSVLogger mixes per-step and per-epoch columns (genlab.viz.plots uses the same rule)
  const epochLevel = (c) => /_epoch$/.test(c) || /^(val|test)/.test(c.split("/").pop()) || /^(val|test)/.test(c);

  function stopMonitor() {
    if (G.monitor.source) { G.monitor.source.close(); G.monitor.source = null; }
  }

  function startMonitor() {
    stopMonitor();
    const run = $("monitor-run").value;
    G.monitor.run = run; G.monitor.progress = null; G.monitor.previewStamp = null;
    $("monitor-preview").hidden = true; $("monitor-preview").removeAttribute("src");
    setState("connecting");
    const es = new EventSource(runPath("events", run));
    es.addEventListener("progress", (e) => {
      let p;
      try { p = JSON.parse(e.data); } catch (err) { showError("bad progress event: " + err.message); return; }
      onProgress(p);
    });
    // "error" is both the server's own event (the folder went away: its detail, then the stream ends)
    // and the browser's connection error (it reconnects by itself unless the stream is closed)
    es.addEventListener("error", (e) => {
      if (e.data) {
        let detail = e.data;
        try { detail = JSON.parse(e.data).detail || detail; } catch (err) { /* plain text */ }
        es.close(); setState("stopped"); showError(detail);
      } else if (es.readyState === EventSource.CLOSED) setState("disconnected");
    });
    G.monitor.source = es;
  }

  function setState(s) {
    const b = $("monitor-state");
    b.textContent = s; b.className = "state " + s;
  }

  function onProgress(p) {
    G.monitor.progress = p;
    setState(p.state);
    $("monitor-epoch").textContent = p.preview ? `preview after epoch ${p.epoch}: ${p.preview}` : "no preview yet";
    if (p.preview && p.stamp !== G.monitor.previewStamp) {
      G.monitor.previewStamp = p.stamp;
      const img = $("monitor-preview");
      img.onload = () => { img.style.width = Math.max(1, Math.floor(300 / img.naturalWidth)) * img.naturalWidth + "px"; };
      img.src = runPath("preview.png", G.monitor.run) + "?v=" + encodeURIComponent(p.stamp);   // busts the cache
      img.hidden = false;
    }
    drawMonitor();
    guard(maybeReopen)(p);
  }

  // a run served while it trains has no panels until its first weights are written: once the monitor
  // sees an epoch, ask the server again (at most every 5 s) and offer the panels when it can open the run
  let lastReopen = 0;
  async function maybeReopen(p) {
    const info = G.info;
    if (G.monitor.run !== G.run || (info.capabilities && info.capabilities.length) || !(p.epoch >= 1)) return;
    if (Date.now() - lastReopen < 5000) return;
    lastReopen = Date.now();
    const { runs } = await getJSON("/api/runs");
    const fresh = runs.find((r) => r.name === G.run);
    if (fresh && fresh.panels && fresh.panels.length && G.monitor.run === G.run) {
      G.runs = runs;
      selectRun(G.run, "monitor");
    }
  }

  // two charts: the per-step curves, and the per-epoch means beside the held-out figures (the curve
  // that shows over-fitting)
  function monitorColumns(metrics, unit) {
    const cols = Object.keys(metrics || {}).filter((c) => (metrics[c] || []).length);
    const group = cols.filter((c) => (unit === "epoch") === epochLevel(c));
    const lossy = group.filter((c) => /loss|total/i.test(c));
    const defaults = new Set(lossy.length ? lossy : group);
    return { group, defaults };
  }

  function drawMonitorChart(metrics, unit, canvas, legend) {
    const { group, defaults } = monitorColumns(metrics, unit);
    const hidden = G.monitor.hidden;
    const visible = group.filter((c) => (c in hidden ? !hidden[c] : defaults.has(c)));
    const series = visible.map((c) => ({ name: c, points: metrics[c], color: PALETTE[group.indexOf(c) % 10] }));
    lineChart(canvas, series, { xLabel: unit, yLabel: "value", log: $("monitor-log").checked });
    legend.innerHTML = "";
    for (const c of group) {
      const on = visible.includes(c);
      const key = el("span", { class: "key toggle" + (on ? "" : " off"), title: "click to show/hide" },
        el("i", { class: "sw", style: `background:${PALETTE[group.indexOf(c) % 10]}` }), c);
      key.addEventListener("click", () => { hidden[c] = on; drawMonitor(); });
      legend.append(key);
    }
    return series.reduce((s, x) => s + x.points.length, 0);
  }

  function drawMonitor() {
    const p = G.monitor.progress;
    const metrics = (p && p.metrics) || {};
    // a small data set logs fewer steps per epoch than the logging interval: then only epochs have points
    const hasStep = monitorColumns(metrics, "step").group.length > 0;
    const hasEpoch = monitorColumns(metrics, "epoch").group.length > 0;
    $("monitor-chart").hidden = !hasStep && hasEpoch;
    $("monitor-epoch-chart").hidden = !hasEpoch;
    const n = drawMonitorChart(metrics, "step", $("monitor-chart"), $("monitor-legend"))
      + drawMonitorChart(metrics, "epoch", $("monitor-epoch-chart"), $("monitor-epoch-legend"));
    G.monitor.points = n;
    $("monitor-points").textContent = `${n} point${n === 1 ? "" : "s"}`;
  }

  function niceTicks(lo, hi, n = 5) {
    if (!(hi > lo)) return [lo];
    const raw = (hi - lo) / n, mag = Math.pow(10, Math.floor(Math.log10(raw)));
    const step = [1, 2, 5, 10].map((k) => k * mag).find((s) => s >= raw) || 10 * mag;
    const out = [];
    for (let t = Math.ceil(lo / step) * step; t <= hi + 1e-9 * step; t += step) out.push(t);
    return out;
  }

  // a small line chart: series [{name, points: [[x, y]...], color}], axes with ticks and names
  function lineChart(canvas, series, { xLabel = "", yLabel = "", log = false } = {}) {
    const ctx = canvas.getContext("2d"), W = canvas.width, H = canvas.height;
    const L = 56, R = 12, T = 12, B = 38;
    ctx.clearRect(0, 0, W, H);
    const pts = series.flatMap((s) => s.points).filter((q) => isFinite(q[0]) && isFinite(q[1]));
    const useLog = log && pts.length && pts.every((q) => q[1] > 0);
    const fy = (y) => (useLog ? Math.log10(y) : y);
    ctx.font = "11px system-ui, sans-serif"; ctx.fillStyle = "#667085"; ctx.strokeStyle = "#d0d5dd"; ctx.lineWidth = 1;
    ctx.strokeRect(L, T, W - L - R, H - T - B);
    if (!pts.length) {
      ctx.textAlign = "center"; ctx.fillText("no points yet", (L + W - R) / 2, (T + H - B) / 2);
      return;
    }
    let x0 = Math.min(...pts.map((q) => q[0])), x1 = Math.max(...pts.map((q) => q[0]));
    let y0 = Math.min(...pts.map((q) => fy(q[1]))), y1 = Math.max(...pts.map((q) => fy(q[1])));
    if (x1 === x0) { x0 -= 1; x1 += 1; }
    if (y1 === y0) { const d = Math.abs(y0) * 0.1 || 1; y0 -= d; y1 += d; }
    const X = (x) => L + ((x - x0) / (x1 - x0)) * (W - L - R);
    const Y = (y) => H - B - ((fy(y) - y0) / (y1 - y0)) * (H - T - B);
    ctx.textAlign = "center";
    for (const t of niceTicks(x0, x1)) { ctx.fillText(fmt(t), X(t), H - B + 14); }
    ctx.fillText(xLabel, (L + W - R) / 2, H - 6);
    ctx.textAlign = "right";
    for (const t of niceTicks(y0, y1, 4)) {
      const yy = H - B - ((t - y0) / (y1 - y0)) * (H - T - B);
      ctx.fillText(useLog ? fmt(Math.pow(10, t)) : fmt(t), L - 5, yy + 4);
      ctx.strokeStyle = "#eef0f3"; ctx.beginPath(); ctx.moveTo(L + 1, yy); ctx.lineTo(W - R - 1, yy); ctx.stroke();
    }
    ctx.save(); ctx.translate(12, (T + H - B) / 2); ctx.rotate(-Math.PI / 2); ctx.textAlign = "center";
    ctx.fillText(yLabel + (useLog ? " (log)" : ""), 0, 0); ctx.restore();
    for (const s of series) {
      const q = s.points.filter((a) => isFinite(a[0]) && isFinite(a[1]) && (!useLog || a[1] > 0));
      ctx.strokeStyle = s.color; ctx.fillStyle = s.color; ctx.lineWidth = 1.6;
      ctx.beginPath();
      q.forEach(([x, y], i) => (i ? ctx.lineTo(X(x), Y(y)) : ctx.moveTo(X(x), Y(y))));
      ctx.stroke();
      if (q.length < 40) q.forEach(([x, y]) => { ctx.beginPath(); ctx.arc(X(x), Y(y), 2.2, 0, 2 * Math.PI); ctx.fill(); });
    }
  }

  ENTER.monitor = async () => {
    const s = $("monitor-run");
    if (![...s.options].some((o) => o.value === s.value)) s.value = G.run;
    startMonitor();
  };

  // ------------------------------------------------------------------ toy GAN

  function pauseToy() {
    G.toy.playing = false;
    $("toy-play").disabled = false; $("toy-pause").disabled = true;
  }

  async function newToyGame() {
    pauseToy();
    const j = await postJSON("/api/toygan", { target: $("toy-target").value, loss: $("toy-loss").value, optimizer: $("toy-optimizer").value, lr: null, seed: 0 });
    G.toy.id = j.id;
    drawToy(j.state);
  }

  async function toyStep(player, steps) {
    if (!G.toy.id) await newToyGame();
    const id = G.toy.id;
    let st;
    try { st = await postJSON(`/api/toygan/${encodeURIComponent(id)}/step`, { player, steps }); } catch (e) {
      if (e.status === 404 && id === G.toy.id) { await newToyGame(); return; }   // the server keeps 8 games: ours was dropped
      throw e;
    }
    if (id === G.toy.id) drawToy(st);   // not a game replaced while this step was in flight
  }

  async function playToy() {
    if (G.toy.playing) return;
    G.toy.playing = true;
    $("toy-play").disabled = true; $("toy-pause").disabled = false;
    try {
      while (G.toy.playing && G.tab === "toygan") {   // one request in flight at a time
        await toyStep("both", 5);
        await new Promise((r) => requestAnimationFrame(r));
      }
    } finally { pauseToy(); }
  }

  // blue (0) - white (0.5) - red (1), the usual diverging map for a two-sided decision
  function diverging(t) {
    t = Math.min(1, Math.max(0, t));
    const blue = [49, 104, 196], red = [206, 52, 52], white = [250, 250, 250];
    const [a, b, s] = t < 0.5 ? [blue, white, t / 0.5] : [white, red, (t - 0.5) / 0.5];
    return a.map((x, i) => Math.round(x + (b[i] - x) * s));
  }

  function drawToy(st) {
    G.toy.state = st;
    const c = $("toy-canvas"), ctx = c.getContext("2d"), W = c.width, H = c.height;
    const [xmin, xmax, ymin, ymax] = st.extent;
    const field = st.field || [], gy = field.length, gx = gy ? field[0].length : 0;
    // a critic's score has no fixed zero (only differences matter), so its colours span the field's range
    const score = st.field_kind === "score";
    const flat = field.flat();
    const lo = score && flat.length ? Math.min(...flat) : 0, hi = score && flat.length ? Math.max(...flat) : 1;
    const tOf = (v) => (score ? (v - lo) / Math.max(1e-9, hi - lo) : v);
    if (gx) {
      const off = document.createElement("canvas");
      off.width = gx; off.height = gy;
      const octx = off.getContext("2d"), im = octx.createImageData(gx, gy);
      for (let r = 0; r < gy; r++) for (let k = 0; k < gx; k++) {   // row 0 is the top (largest y)
        const [R, Gc, B] = diverging(tOf(field[r][k])), o = 4 * (r * gx + k);
        im.data[o] = R; im.data[o + 1] = Gc; im.data[o + 2] = B; im.data[o + 3] = 255;
      }
      octx.putImageData(im, 0, 0);
      ctx.imageSmoothingEnabled = true;
      ctx.drawImage(off, 0, 0, W, H);
    } else ctx.clearRect(0, 0, W, H);
    const X = (x) => ((x - xmin) / (xmax - xmin)) * W, Y = (y) => (1 - (y - ymin) / (ymax - ymin)) * H;
    const dots = (pts, color) => {
      ctx.fillStyle = color;
      for (const [x, y] of pts || []) { ctx.beginPath(); ctx.arc(X(x), Y(y), 2.4, 0, 2 * Math.PI); ctx.fill(); }
    };
    ctx.globalAlpha = 0.85; dots(st.real, REAL); dots(st.fake, FAKE); ctx.globalAlpha = 1;
    $("toy-step-count").textContent = `G steps: ${st.step}` + (st.d_steps !== undefined ? ` · D steps: ${st.d_steps}` : "");
    const legend = $("toy-legend");
    legend.innerHTML = "";
    const bar = el("i", { class: "bar", style: "background:linear-gradient(90deg, rgb(49,104,196), rgb(250,250,250), rgb(206,52,52))" });
    const range = score ? [fmt(lo), fmt(hi)] : ["0", "1"];
    legend.append(el("span", { class: "key" }, el("i", { class: "sw", style: `background:${REAL}` }), "real data"),
      el("span", { class: "key" }, el("i", { class: "sw", style: `background:${FAKE}` }), "generated G(z)"),
      el("span", { class: "key" }, range[0], bar, range[1],
        score ? " critic score (higher: looks real)" : " D(x) = probability the point is real"));
    const losses = st.losses || {};
    // both curves against G steps: D takes n_critic steps per G step (5 for the WGANs), so its recent
    // history covers fewer G steps than its length
    const total = { d: st.d_steps || 0, g: st.step || 0 };
    const perG = total.g > 0 && total.d > 0 ? total.g / total.d : 1;
    const series = [["d", "#e15759", "D loss"], ["g", FAKE, "G loss"]].filter(([k]) => losses[k] && losses[k].length)
      .map(([k, color, name]) => {
        const n = losses[k].length, start = Math.max(0, total[k] - n);
        const unit = k === "d" ? perG : 1;
        return { name, color, points: losses[k].map((v, i) => [(start + i + 1) * unit, v]) };
      });
    lineChart($("toy-loss-chart"), series, { xLabel: "G steps", yLabel: "loss" });
    $("toy-loss-legend").innerHTML = "";
    series.forEach((s) => $("toy-loss-legend").append(el("span", { class: "key" }, el("i", { class: "sw", style: `background:${s.color}` }), s.name)));
  }

  ENTER.toygan = async () => {
    if (!G.toy.options) {
      const o = await getJSON("/api/toygan/options");
      G.toy.options = o;
      const fill = (id, xs, pick) => {
        const s = $(id);
        s.innerHTML = "";
        xs.forEach((x) => s.append(el("option", { value: x, text: x })));
        if (xs.includes(pick)) s.value = pick;
      };
      fill("toy-target", o.targets, "ring"); fill("toy-loss", o.losses, "nonsaturating"); fill("toy-optimizer", o.optimizers, "adam");
    }
    if (!G.toy.id) await newToyGame();
    else if (G.toy.state) drawToy(G.toy.state);
  };

  // ------------------------------------------------------------------ wiring

  function wire() {
    $("error-close").addEventListener("click", clearError);
    $("runs").addEventListener("change", () => { clearError(); selectRun($("runs").value); });
    // samples
    $("seed").addEventListener("change", guard(loadSamples));
    $("temperature").addEventListener("input", () => ($("temperature-out").textContent = Number($("temperature").value).toFixed(1)));
    $("temperature").addEventListener("change", guard(loadSamples));
    $("label").addEventListener("change", guard(loadSamples));
    $("new-batch").addEventListener("click", guard(async () => {
      $("seed").value = Math.max(0, Math.floor(Number($("seed").value) || 0)) + 1;
      await loadSamples();
    }));
    // map
    const mc = $("map-canvas");
    mc.addEventListener("pointermove", (e) => { const p = mapEvent(e); if (p) decodeMapPoint(p); });
    mc.addEventListener("pointerleave", () => { if (G.mapPinned) decodeMapPoint(G.mapPinned); });
    mc.addEventListener("click", (e) => { const p = mapEvent(e); if (p) { G.mapPinned = p; decodeMapPoint(p); } });
    $("map-label").addEventListener("change", () => { if (G.mapShown) decodeMapPoint(G.mapShown); });
    // sliders
    $("slider-reset").addEventListener("click", guard(resetSliders));
    $("slider-label").addEventListener("change", () => { if (G.code) decodeSliders(G.code.slice()); });
    // interpolation
    $("interp-a").addEventListener("change", showInterpEnds);
    $("interp-b").addEventListener("change", showInterpEnds);
    $("interp-go").addEventListener("click", guard(interpolate));
    // draw
    setupDrawing();
    $("draw-upload").addEventListener("change", guard(async (e) => {
      const file = e.target.files && e.target.files[0];
      e.target.value = "";          // the same file can be chosen again
      await uploadPicture(file);
    }));
    $("complete-go").addEventListener("click", guard(complete));
    $("translate-go").addEventListener("click", guard(translateImage));
    $("translate-upload").addEventListener("change", guard(async (e) => {
      const file = e.target.files && e.target.files[0];
      e.target.value = "";
      if (!file) return;
      await uploadPicture(file);        // the Draw panel's picture: shown on its canvas, offered as "my drawing"
      $("translate-source").value = "drawing";
      await translateImage();
    }));
    $("complete-rows").addEventListener("input", () => { $("complete-rows-value").textContent = $("complete-rows").value; });
    $("draw-clear").addEventListener("click", () => {
      clearDrawCanvas();
      G.drawImage = null; G.drawPoint = null; G.draw = null;
      fillSources();
      for (const id of ["draw-reconstruction", "draw-noisy", "draw-cleaned", "draw-translated"]) $(id).removeAttribute("src");
      ["draw-noisy-fig", "draw-cleaned-fig", "draw-translated-fig"].forEach((id) => ($(id).hidden = true));
      $("draw-judge").textContent = ""; $("draw-neighbours").innerHTML = ""; $("draw-status").textContent = "";
      if (G.gallery) { fillInterpSelects(); showInterpEnds(); }   // "my drawing" is gone as an interpolation end
      drawMap();
    });
    // quiz
    $("quiz-real").addEventListener("click", guard(() => guess("real")));
    $("quiz-generated").addEventListener("click", guard(() => guess("generated")));
    // compare
    $("compare-go").addEventListener("click", guard(compare));
    // monitor
    $("monitor-run").addEventListener("change", () => { G.monitor.hidden = {}; startMonitor(); });
    $("monitor-log").addEventListener("change", drawMonitor);
    // toy GAN
    for (const id of ["toy-target", "toy-loss", "toy-optimizer"]) $(id).addEventListener("change", guard(newToyGame));
    $("toy-reset").addEventListener("click", guard(newToyGame));
    $("toy-play").addEventListener("click", guard(playToy));
    $("toy-pause").addEventListener("click", pauseToy);
    $("toy-step-d").addEventListener("click", guard(() => toyStep("d", 1)));
    $("toy-step-g").addEventListener("click", guard(() => toyStep("g", 1)));
    window.addEventListener("unhandledrejection", (e) => { e.preventDefault(); showError((e.reason && e.reason.message) || String(e.reason)); });
  }

  async function init() {
    wire();
    const { runs } = await getJSON("/api/runs");
    G.runs = runs;
    if (!runs.length) { showError("the server serves no runs"); return; }
    const picker = $("runs"), mon = $("monitor-run");
    for (const r of runs) {
      picker.append(el("option", { value: r.name, text: r.name }));
      mon.append(el("option", { value: r.name, text: r.name }));
    }
    const h = new URLSearchParams(location.hash.slice(1));
    selectRun(runs.some((r) => r.name === h.get("run")) ? h.get("run") : runs[0].name, h.get("tab"));
    G.ready = true;
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", guard(init));
  else guard(init)();
})();
