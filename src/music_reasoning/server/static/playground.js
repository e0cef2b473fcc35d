// The music-reasoning playground: plain JavaScript, no framework, no build step, no
// network beyond the server that served it.
//
//   Ask       POST /v1/chat/completions (stream: true, read as SSE from fetch's body)
//             or, grounded, POST /v1/music/question
//   Explore   POST /v1/music/{chord,scale,progression}: facts, keyboard, lesson
//   Concepts  GET /v1/theory/concepts, POST /v1/music/concept
//   Metrics   GET /metrics (Prometheus text), polled while the view is open
//
// Every request carries `Authorization: Bearer KEY` when the key field is filled; every
// API error ({error: {code, message, suggestion}}) is shown in the view's error slot.
"use strict";

const $ = (id) => document.getElementById(id);

/** Build an element: el("p", {class: "x"}, "text", child, ...). Text is never parsed as HTML. */
function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value === false || value === null || value === undefined) continue;
    if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
    else node.setAttribute(name, value === true ? "" : String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : String(child));
  }
  return node;
}

// -- talking to the server ------------------------------------------------------------------
class ApiError extends Error {
  constructor(info, status) {
    super(info.message || "Request failed.");
    this.code = info.code || "ERROR";
    this.suggestion = info.suggestion || "";
    this.status = status || 0;
  }
}

const KEY_STORE = "music-reasoning-api-key";
let cachedModel = null;

function authHeaders() {
  const key = $("api-key").value.trim();
  return key ? { Authorization: "Bearer " + key } : {};
}

async function errorOf(response) {
  let info = null;
  try {
    const body = await response.json();
    info = body && typeof body.error === "object" ? body.error : null;
  } catch (_) {
    info = null;
  }
  if (!info) {
    info = { code: "HTTP_" + response.status, message: response.statusText || "Request failed." };
  }
  const retry = response.headers.get("Retry-After");
  if (retry) info = { ...info, suggestion: `${info.suggestion || ""} (retry after ${retry} s)`.trim() };
  return new ApiError(info, response.status);
}

/** fetch with the key and JSON body; resolves to the Response, throws ApiError when not ok. */
async function api(path, { method = "GET", body, signal } = {}) {
  const headers = authHeaders();
  if (body !== undefined) headers["Content-Type"] = "application/json";
  let response;
  try {
    response = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      signal,
    });
  } catch (exc) {
    if (exc.name === "AbortError") throw exc;
    throw new ApiError({
      code: "NETWORK",
      message: "The server did not answer (" + exc.message + ").",
      suggestion: "Check that `music-reasoning serve` is still running.",
    });
  }
  if (!response.ok) throw await errorOf(response);
  return response;
}

async function apiJson(path, options) {
  return (await api(path, options)).json();
}

/** The data strings of a server-sent-event stream, read from a fetch Response's body. */
async function* sseData(response) {
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer += value.replace(/\r\n?/g, "\n");
    let cut;
    while ((cut = buffer.indexOf("\n\n")) >= 0) {
      const block = buffer.slice(0, cut);
      buffer = buffer.slice(cut + 2);
      const data = block
        .split("\n")
        .filter((line) => line.startsWith("data:"))
        .map((line) => line.slice(5).replace(/^ /, ""))
        .join("\n");
      if (data) yield data;
    }
  }
}

async function modelId() {
  if (!cachedModel) {
    const models = await apiJson("/v1/models");
    cachedModel = models.data[0].id;
    $("model-id").textContent = "model: " + cachedModel;
  }
  return cachedModel;
}

function showError(slotId, exc) {
  const slot = $(slotId);
  slot.replaceChildren();
  if (!exc) return;
  if (exc.name === "AbortError") return;
  const error = exc instanceof ApiError ? exc : new ApiError({ code: "ERROR", message: String(exc.message || exc) });
  slot.append(
    el(
      "div",
      { class: "error", role: "alert" },
      el("span", { class: "code" }, error.code),
      error.status ? el("span", { class: "hint" }, `HTTP ${error.status} `) : null,
      el("span", { class: "message" }, error.message),
      error.suggestion ? el("p", { class: "suggestion" }, error.suggestion) : null,
    ),
  );
  if (error.status === 401) $("api-key").focus();
}

function badge(text, kind) {
  return el("span", { class: "badge" + (kind ? " " + kind : "") }, text);
}

async function busy(button, work) {
  button.disabled = true;
  try {
    return await work();
  } finally {
    button.disabled = false;
  }
}

// -- tabs ---------------------------------------------------------------------------------
const VIEWS = ["ask", "explore", "concepts", "metrics"];
const onShow = {};

function selectView(name, { focus = false } = {}) {
  if (!VIEWS.includes(name)) name = "ask";
  for (const view of VIEWS) {
    const tab = $("tab-" + view);
    const selected = view === name;
    tab.setAttribute("aria-selected", String(selected));
    tab.tabIndex = selected ? 0 : -1;
    $("view-" + view).hidden = !selected;
  }
  if (focus) $("tab-" + name).focus();
  if (location.hash !== "#" + name) history.replaceState(null, "", "#" + name);
  document.body.dataset.view = name;
  if (onShow[name]) onShow[name]();
  if (name !== "metrics") stopMetrics();
}

function setUpTabs() {
  for (const view of VIEWS) {
    const tab = $("tab-" + view);
    tab.addEventListener("click", () => selectView(view));
    tab.addEventListener("keydown", (event) => {
      const at = VIEWS.indexOf(view);
      const moves = { ArrowRight: at + 1, ArrowLeft: at - 1, Home: 0, End: VIEWS.length - 1 };
      if (!(event.key in moves)) return;
      event.preventDefault();
      selectView(VIEWS[(moves[event.key] + VIEWS.length) % VIEWS.length], { focus: true });
    });
  }
  window.addEventListener("hashchange", () => selectView(location.hash.slice(1)));
}

// -- the keyboard -------------------------------------------------------------------------
const LETTER_PC = { C: 0, D: 2, E: 4, F: 5, G: 7, A: 9, B: 11 };
const WHITE_PCS = [0, 2, 4, 5, 7, 9, 11];
const BLACK_AFTER_WHITE = { 0: 1, 1: 3, 3: 6, 4: 8, 5: 10 }; // white index in octave -> black pc

/** Pitch class of a spelled note ("Bb", "F#", "C##", "E-"), or null. */
function pitchClass(name) {
  const match = /^([A-Ga-g])([#b\-]*)/.exec(String(name).trim());
  if (!match) return null;
  let pc = LETTER_PC[match[1].toUpperCase()];
  for (const sign of match[2]) pc += sign === "#" ? 1 : -1;
  return ((pc % 12) + 12) % 12;
}

/** Place notes upward from the first: [[position in semitones from the lowest C, name]]. */
function voice(notes) {
  const placed = [];
  let previous = null;
  for (const name of notes) {
    const pc = pitchClass(name);
    if (pc === null) continue;
    let position = previous === null ? pc : previous + ((pc - previous + 12) % 12 || 12);
    placed.push([position, name]);
    previous = position;
  }
  return placed;
}

/** An SVG keyboard with `notes` voiced upward from the first and highlighted (one key each). */
function keyboard(notes, { small = false, label = "" } = {}) {
  const NS = "http://www.w3.org/2000/svg";
  const placed = voice(notes);
  const top = placed.length ? placed[placed.length - 1][0] : 0;
  const octaves = Math.max(small ? 1 : 2, Math.ceil((top + 1) / 12));
  const W = small ? 14 : 26;
  const H = small ? 56 : 110;
  const BW = W * 0.6;
  const BH = H * 0.62;
  const on = new Map(placed.map(([position, name]) => [position, name]));
  const svg = document.createElementNS(NS, "svg");
  const width = octaves * 7 * W + 1;
  svg.setAttribute("viewBox", `0 0 ${width} ${H + 1}`);
  svg.setAttribute("width", String(width));
  svg.setAttribute("height", String(H + 1));
  svg.setAttribute("class", "keyboard" + (small ? " small" : ""));
  svg.setAttribute("role", "img");
  svg.setAttribute(
    "aria-label",
    (label ? label + ": " : "") + "keyboard with " + (placed.map((p) => p[1]).join(" ") || "no notes") + " highlighted",
  );
  const key = (x, y, w, h, position, color) => {
    const rect = document.createElementNS(NS, "rect");
    for (const [k, v] of Object.entries({ x, y, width: w, height: h, rx: 2 })) rect.setAttribute(k, String(v));
    const name = on.get(position);
    rect.setAttribute("class", `key ${color}${name ? " on" : ""}`);
    rect.dataset.position = String(position);
    rect.dataset.pc = String(position % 12);
    if (name) rect.dataset.note = name;
    svg.append(rect);
    if (name && !small) {
      const text = document.createElementNS(NS, "text");
      text.setAttribute("x", String(x + w / 2));
      text.setAttribute("y", String(y + h - 8));
      if (color === "black") text.setAttribute("class", "on-black");
      text.textContent = name;
      svg.append(text);
    }
  };
  for (let octave = 0; octave < octaves; octave++) {
    WHITE_PCS.forEach((pc, i) => key((octave * 7 + i) * W + 0.5, 0.5, W, H, octave * 12 + pc, "white"));
  }
  for (let octave = 0; octave < octaves; octave++) {
    for (const [i, pc] of Object.entries(BLACK_AFTER_WHITE)) {
      key((octave * 7 + Number(i) + 1) * W - BW / 2 + 0.5, 0.5, BW, BH, octave * 12 + pc, "black");
    }
  }
  return svg;
}

// -- shared rendering -----------------------------------------------------------------------
function factsTable(caption, rows) {
  return el(
    "table",
    { class: "facts" },
    el("caption", {}, caption),
    el(
      "tbody",
      {},
      rows
        .filter(([, value]) => value !== null && value !== undefined && value !== "")
        .map(([name, value]) => el("tr", {}, el("th", { scope: "row" }, name), el("td", {}, value))),
    ),
  );
}

function grid(caption, head, rows, attrs) {
  return el(
    "table",
    { class: "facts", ...(attrs || {}) },
    el("caption", {}, caption),
    el("thead", {}, el("tr", {}, head.map((h) => el("th", { scope: "col" }, h)))),
    el("tbody", {}, rows.map((row) => el("tr", {}, row.map((cell) => el("td", {}, cell))))),
  );
}

function sourceBadges(result) {
  return [
    badge("source: " + result.source),
    badge(result.verified ? "verified" : "not verified", result.verified ? "good" : "bad"),
    result.metrics && result.metrics.completion_tokens
      ? badge(`${result.metrics.completion_tokens} tokens`)
      : null,
  ];
}

/** The explanation: the model's words (if any), then the lesson by section. */
function explanation(result) {
  const box = el("div", { class: "lesson" });
  const lesson = result.lesson;
  const text = result.explanation || "";
  if (lesson && lesson.text && text.endsWith(lesson.text)) {
    const words = text.slice(0, text.length - lesson.text.length).trim();
    if (words) box.append(el("h3", {}, "The model's words"), el("p", { class: "answer" }, words));
    for (const section of lesson.sections || []) {
      box.append(el("h3", {}, section.heading), el("p", {}, section.sentences.join(" ")));
    }
  } else if (text) {
    box.append(el("p", { class: "answer" }, text));
  }
  if (result.corrections && result.corrections.length) {
    box.append(
      el("h3", {}, "Corrections"),
      el("ul", { class: "corrections" }, result.corrections.map((c) => el("li", {}, c))),
    );
  }
  if (result.error) box.append(el("p", { class: "corrections" }, `${result.error.code}: ${result.error.message}`));
  return box;
}

const join = (items) => (items && items.length ? items.join(" ") : null);

// -- Ask ------------------------------------------------------------------------------------
let askController = null;

function setUpAsk() {
  const grounded = $("ask-grounded");
  const sync = () => {
    $("ask-grounded-options").hidden = !grounded.checked;
    $("ask-raw-options").hidden = grounded.checked;
  };
  grounded.addEventListener("change", sync);
  sync();
  $("ask-question").addEventListener("keydown", (event) => {
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
      event.preventDefault();
      $("ask-form").requestSubmit();
    }
  });
  $("ask-stop").addEventListener("click", () => askController && askController.abort());
  $("ask-form").addEventListener("submit", (event) => {
    event.preventDefault();
    busy($("ask-submit"), () => (grounded.checked ? askGrounded() : askStreamed()));
  });
}

async function askStreamed() {
  const answer = $("ask-answer");
  const meta = $("ask-meta");
  showError("ask-error", null);
  answer.replaceChildren();
  answer.dataset.chunks = "0";
  answer.dataset.state = "waiting";
  meta.replaceChildren(badge("the model alone, unverified", "bad"));
  askController = new AbortController();
  $("ask-stop").hidden = false;
  answer.setAttribute("aria-busy", "true");
  const started = performance.now();
  let first = null;
  let chunks = 0;
  let finish = null;
  let usage = null;
  try {
    const model = await modelId();
    const response = await api("/v1/chat/completions", {
      method: "POST",
      signal: askController.signal,
      body: {
        model,
        messages: [{ role: "user", content: $("ask-question").value }],
        max_tokens: Number($("ask-max-tokens").value) || 150,
        stream: true,
        stream_options: { include_usage: true },
      },
    });
    answer.dataset.state = "streaming";
    answer.classList.add("streaming");
    for await (const data of sseData(response)) {
      if (data === "[DONE]") break;
      const event = JSON.parse(data);
      if (event.error) throw new ApiError(event.error);
      for (const choice of event.choices || []) {
        const text = choice.delta && choice.delta.content;
        if (text) {
          if (first === null) first = performance.now();
          answer.append(text);
          chunks += 1;
          answer.dataset.chunks = String(chunks);
        }
        if (choice.finish_reason) finish = choice.finish_reason;
      }
      if (event.usage) usage = event.usage;
    }
    answer.dataset.state = "done";
  } catch (exc) {
    answer.dataset.state = exc.name === "AbortError" ? "stopped" : "failed";
    showError("ask-error", exc);
  } finally {
    answer.classList.remove("streaming");
    answer.setAttribute("aria-busy", "false");
    $("ask-stop").hidden = true;
    askController = null;
  }
  const seconds = (performance.now() - started) / 1000;
  if (first !== null) meta.append(badge(`first token ${Math.round(first - started)} ms`));
  if (usage) {
    meta.append(badge(`${usage.completion_tokens} tokens, ${(usage.completion_tokens / seconds).toFixed(1)} tokens/s`));
  }
  if (finish) meta.append(badge("finish: " + finish));
  if (answer.dataset.state === "stopped") meta.append(badge("stopped"));
}

async function askGrounded() {
  const answer = $("ask-answer");
  const meta = $("ask-meta");
  showError("ask-error", null);
  answer.replaceChildren();
  meta.replaceChildren();
  answer.dataset.state = "waiting";
  answer.setAttribute("aria-busy", "true");
  try {
    const result = await apiJson("/v1/music/question", {
      method: "POST",
      body: {
        question: $("ask-question").value,
        mode: $("ask-mode").value,
        level: $("ask-level").value,
      },
    });
    meta.append(...sourceBadges(result).filter(Boolean));
    answer.append(explanation(result));
    answer.dataset.state = "done";
  } catch (exc) {
    answer.dataset.state = "failed";
    showError("ask-error", exc);
  } finally {
    answer.setAttribute("aria-busy", "false");
  }
}

// -- Explore ------------------------------------------------------------------------------
function exploreKind() {
  return document.querySelector('input[name="explore-kind"]:checked').value;
}

function setUpExplore() {
  const sync = () => {
    for (const field of document.querySelectorAll("#explore-form [data-kind]")) {
      field.hidden = field.dataset.kind !== exploreKind();
    }
  };
  for (const radio of document.querySelectorAll('input[name="explore-kind"]')) {
    radio.addEventListener("change", sync);
  }
  sync();
  $("explore-form").addEventListener("submit", (event) => {
    event.preventDefault();
    busy($("explore-submit"), explore);
  });
}

async function explore() {
  const kind = exploreKind();
  const out = $("explore-result");
  showError("explore-error", null);
  const body = { level: $("explore-level").value, mode: $("explore-mode").value };
  if (kind === "chord") body.chord = $("explore-chord").value.trim();
  if (kind === "scale") Object.assign(body, { root: $("explore-root").value.trim(), type: $("explore-type").value.trim() });
  if (kind === "progression") {
    body.chords = $("explore-chords").value.trim();
    const key = $("explore-key").value.trim();
    if (key) body.key = key;
  }
  out.dataset.state = "waiting";
  try {
    const result = await apiJson("/v1/music/" + kind, { method: "POST", body });
    const render = { chord: chordView, scale: scaleView, progression: progressionView }[kind];
    out.replaceChildren(
      el("div", { class: "meta" }, sourceBadges(result)),
      ...render(result.data).filter(Boolean),
      el("h2", {}, "Explanation"),
      explanation(result),
    );
    out.dataset.state = "done";
    out.dataset.kind = kind;
  } catch (exc) {
    out.replaceChildren();
    out.dataset.state = "failed";
    showError("explore-error", exc);
  }
}

function chordView(data) {
  const notes = data.notes || [];
  const bass = data.bass && notes.includes(data.bass) ? data.bass : notes[0];
  const voiced = bass ? [bass, ...notes.filter((n) => n !== bass)] : notes;
  const inversion = data.inversion === 0 ? "root position" : data.inversion ? `inversion ${data.inversion}` : null;
  return [
    el("h2", {}, data.symbol || data.name || "Chord"),
    factsTable("Facts", [
      ["Name", data.name],
      ["Root", data.root],
      ["Quality", data.quality],
      ["Notes", join(notes)],
      ["Intervals", join(data.intervals)],
      ["Bass", data.bass],
      ["Inversion", inversion],
      ["Also read as", join(data.alternatives)],
    ]),
    keyboard(voiced, { label: data.symbol || "chord" }),
  ];
}

function scaleView(data) {
  const notes = data.notes || [];
  const degrees = data.degrees || [];
  return [
    el("h2", {}, `${data.root} ${data.type}`),
    factsTable("Facts", [
      ["Notes", join(notes)],
      ["Intervals", join(data.intervals)],
      ["Steps", data.formula],
      ["Relative", data.relative],
      ["Parallel", data.parallel],
    ]),
    keyboard(notes, { label: `${data.root} ${data.type}` }),
    degrees.length
      ? grid("Degrees", ["Degree", "Note", "Name", "Interval"], degrees.map((d) => [d.number, d.note, d.name, d.interval]))
      : null,
  ];
}

function progressionView(data) {
  const chords = data.analysis || [];
  const confidence = typeof data.confidence === "number" ? ` (confidence ${Math.round(data.confidence * 100)}%)` : "";
  return [
    el("h2", {}, "In " + (data.key || "no clear key") + confidence),
    grid(
      "Chord by chord",
      ["#", "Chord", "Numeral", "Function", "Notes"],
      chords.map((c) => [c.position + 1, c.chord, el("strong", { class: "numeral" }, c.roman || "?"), c.function || "", join(c.notes) || ""]),
      { id: "progression-chords" },
    ),
    el(
      "div",
      { class: "row" },
      chords.map((c) =>
        el("figure", { class: "mini" }, keyboard(c.notes || [], { small: true, label: c.chord }), el("figcaption", {}, `${c.chord} (${c.roman || "?"})`)),
      ),
    ),
    el("h3", {}, "Cadences"),
    (data.cadences || []).length
      ? el(
          "ul",
          { class: "cadences" },
          data.cadences.map((c) => el("li", {}, `${c.type}: ${c.chords.join(" → ")} (${c.romans.join(" → ")})`)),
        )
      : el("p", { class: "hint" }, "none"),
    el("h3", {}, "Patterns"),
    (data.patterns || []).length
      ? el(
          "ul",
          { class: "patterns" },
          data.patterns.map((p) => el("li", {}, `${p.name} (${p.genre}) in ${p.key}`)),
        )
      : el("p", { class: "hint" }, "none"),
    (data.alternative_keys || []).length ? el("p", { class: "hint" }, "Could also be read in: " + data.alternative_keys.join(", ")) : null,
  ];
}

// -- Concepts -----------------------------------------------------------------------------
let conceptIds = null;
let currentConcept = null;

/** "tritone-substitution" -> "tritone substitution"; "ii-v-i" -> "ii-V-I". */
function conceptTitle(id) {
  const parts = id.split("-");
  if (parts.every((p) => /^[iv]+$/.test(p))) return parts.map((p) => (p.length === 1 ? p.toUpperCase() : p)).join("-");
  return parts.join(" ");
}

async function loadConcepts() {
  if (conceptIds) return;
  try {
    conceptIds = (await apiJson("/v1/theory/concepts")).concepts;
    showError("concept-error", null);
    renderConceptList();
  } catch (exc) {
    showError("concept-error", exc);
  }
}

function renderConceptList() {
  const filter = $("concept-filter").value.trim().toLowerCase();
  const shown = (conceptIds || []).filter((id) => !filter || conceptTitle(id).toLowerCase().includes(filter) || id.includes(filter));
  $("concept-items").replaceChildren(
    ...shown.map((id) =>
      el(
        "li",
        {},
        el("button", { type: "button", class: "link", "data-concept": id, "aria-current": id === currentConcept ? "true" : false, onclick: () => readConcept(id) }, conceptTitle(id)),
      ),
    ),
  );
  $("concept-count").textContent = `${shown.length} of ${(conceptIds || []).length} concepts`;
}

async function readConcept(id) {
  currentConcept = id;
  renderConceptList();
  const article = $("concept-article");
  showError("concept-error", null);
  article.dataset.state = "waiting";
  try {
    const body = { concept: id, level: $("concept-level").value };
    const key = $("concept-key").value.trim();
    if (key) body.key = key;
    const result = await apiJson("/v1/music/concept", { method: "POST", body });
    const data = result.data;
    article.replaceChildren(
      el("h2", {}, data.name),
      el("p", { class: "definition" }, el("strong", {}, data.definition)),
      el("p", {}, data.text),
      (data.examples || []).length ? el("h3", {}, "Examples" + (data.key ? " in " + data.key : "")) : null,
      el(
        "ul",
        { class: "examples" },
        (data.examples || []).map((x) => el("li", {}, el("span", {}, x.text), x.label && !x.text.startsWith(x.label) ? el("span", { class: "hint" }, " — " + x.label) : null)),
      ),
      (data.related || []).length ? el("h3", {}, "Related") : null,
      el(
        "div",
        { class: "related" },
        (data.related || []).map((r) => el("button", { type: "button", class: "link", onclick: () => readConcept(r) }, conceptTitle(r))),
      ),
    );
    article.dataset.state = "done";
    article.dataset.concept = data.id;
  } catch (exc) {
    article.dataset.state = "failed";
    showError("concept-error", exc);
  }
}

function setUpConcepts() {
  onShow.concepts = loadConcepts;
  $("concept-filter").addEventListener("input", renderConceptList);
  const reread = () => currentConcept && readConcept(currentConcept);
  $("concept-key").addEventListener("change", reread);
  $("concept-level").addEventListener("change", reread);
}

// -- Metrics ------------------------------------------------------------------------------
const METRICS_EVERY_MS = 2000;
let metricsTimer = null;
let lastSample = null;

/** Prometheus text -> [{name, labels, value}]. */
function parseMetrics(text) {
  const samples = [];
  for (const line of text.split("\n")) {
    if (!line || line.startsWith("#")) continue;
    const match = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})?\s+(\S+)/.exec(line);
    if (!match) continue;
    const labels = {};
    for (const [, k, v] of (match[2] || "").matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[k] = v;
    samples.push({ name: match[1], labels, value: Number(match[3]) });
  }
  return samples;
}

function number(value, digits = 0) {
  return Number.isFinite(value) ? value.toFixed(digits) : "–";
}

async function pollMetrics() {
  try {
    const response = await api("/metrics");
    const samples = parseMetrics(await response.text());
    const one = (name) => {
      const found = samples.find((s) => s.name === "music_reasoning_" + name);
      return found ? found.value : NaN;
    };
    const now = performance.now();
    const completion = one("completion_tokens_total");
    $("m-queue").textContent = number(one("queue_depth"));
    $("m-active").textContent = number(one("active_sequences"));
    $("m-tps").textContent = number(one("tokens_per_second"), 1);
    $("m-completion").textContent = number(completion);
    $("m-prompt").textContent = number(one("prompt_tokens_total"));
    $("m-loaded").textContent = one("model_loaded") === 1 ? "yes" : "no";
    if (lastSample) {
      $("m-rate").textContent = number(((completion - lastSample.completion) * 1000) / (now - lastSample.at), 1);
    }
    lastSample = { completion, at: now };
    const requests = samples
      .filter((s) => s.name === "music_reasoning_http_requests_total")
      .sort((a, b) => b.value - a.value);
    $("m-requests").textContent = number(requests.reduce((sum, s) => sum + s.value, 0));
    $("metrics-requests").tBodies[0].replaceChildren(
      ...requests.map((s) => el("tr", {}, el("td", {}, s.labels.route), el("td", {}, s.labels.method), el("td", {}, s.labels.status), el("td", {}, number(s.value)))),
    );
    $("metrics-updated").textContent = "Updated " + new Date().toLocaleTimeString() + `, every ${METRICS_EVERY_MS / 1000} s while this view is open.`;
    document.body.dataset.metricsPolls = String(Number(document.body.dataset.metricsPolls || 0) + 1);
    showError("metrics-error", null);
  } catch (exc) {
    showError("metrics-error", exc);
  }
}

function startMetrics() {
  stopMetrics();
  pollMetrics();
  metricsTimer = setInterval(() => {
    if (!document.hidden) pollMetrics();
  }, METRICS_EVERY_MS);
}

function stopMetrics() {
  if (metricsTimer !== null) clearInterval(metricsTimer);
  metricsTimer = null;
}

// -- start ----------------------------------------------------------------------------------
async function showHealth() {
  try {
    const response = await fetch("/health");
    const body = await response.json();
    $("model-id").textContent = response.ok
      ? `model: ${body.model} · ${body.parallel} slots`
      : `server: ${(body.error && body.error.message) || response.status}`;
  } catch (_) {
    $("model-id").textContent = "server not answering";
  }
}

function setUpKey() {
  const input = $("api-key");
  input.value = sessionStorage.getItem(KEY_STORE) || "";
  input.addEventListener("change", () => {
    sessionStorage.setItem(KEY_STORE, input.value.trim());
    cachedModel = null;
    if (document.body.dataset.view === "concepts") loadConcepts();
  });
  $("key-form").addEventListener("submit", (event) => {
    event.preventDefault();
    input.dispatchEvent(new Event("change"));
  });
}

document.addEventListener("DOMContentLoaded", () => {
  setUpKey();
  setUpTabs();
  setUpAsk();
  setUpExplore();
  setUpConcepts();
  onShow.metrics = startMetrics;
  selectView(location.hash.slice(1) || "ask");
  showHealth();
  document.body.dataset.ready = "true";
});
