// The labeling screen: keyboard shortcuts, live validation, a diff of the corrected answer.
// The server validates again on submit; this only saves the annotator a round trip.
(function () {
  "use strict";
  const form = document.getElementById("label-form");
  if (!form) return;
  const schemaNode = document.getElementById("label-schema");
  const fields = schemaNode ? JSON.parse(schemaNode.textContent) : [];
  const byName = Object.fromEntries(fields.map((f) => [f.name, f]));
  const outputFormat = form.dataset.outputFormat || "text";
  const fieldsets = Array.from(form.querySelectorAll("fieldset.field"));
  const submitButton = document.getElementById("submit-button");
  const skipBox = form.querySelector(".skip-box");
  const started = Date.now();
  let current = 0;

  // Keep in step with annotate/labeling is_refusal(): conservative phrases, English and Chinese.
  const REFUSAL = /\b(i can(?:'|no)t|i cannot|i am unable|i'm unable|i won't|unable to (?:help|provide|share)|not able to (?:help|provide|share)|i'm sorry,? but|sorry,? (?:but )?i can(?:'|no)t)\b|不能|无法|抱歉|不便/i;

  function valueOf(fs) {
    const name = fs.dataset.field;
    const type = fs.dataset.type;
    if (type === "multi_choice") return Array.from(fs.querySelectorAll("input:checked")).map((i) => i.value);
    if (type === "bool") return fs.querySelector("input").checked;
    if (type === "choice") { const c = fs.querySelector("input:checked"); return c ? c.value : ""; }
    const input = fs.querySelector("textarea, input");
    return input ? input.value : "";
  }

  function jsonError(text) {
    try { JSON.parse(text); return null; } catch (e) {
      const m = /position (\d+)/.exec(e.message);
      if (!m) return e.message;
      const pos = Number(m[1]);
      const before = text.slice(0, pos).split("\n");
      return `${e.message.replace(/ in JSON at position \d+.*$/, "")} at line ${before.length}, column ${before[before.length - 1].length + 1}`;
    }
  }

  function errorsOf(fs) {
    const f = byName[fs.dataset.field] || {};
    const v = valueOf(fs);
    const rules = f.validators || {};
    const out = [];
    const empty = v === "" || v === false && f.type !== "bool" || (Array.isArray(v) && v.length === 0);
    if (f.required && empty) { out.push(`${f.label || f.name} is required`); return out; }
    if (typeof v !== "string" || v === "") return out;
    if (rules.max_length && v.length > rules.max_length) out.push(`at most ${rules.max_length} characters (now ${v.length})`);
    if (rules.regex) { try { if (!new RegExp(rules.regex).test(v)) out.push(`does not match the pattern ${rules.regex}`); } catch (e) { /* server checks */ } }
    const wantsJson = f.type === "json" || rules.must_parse_json || (f.prefill === "model_answer" && outputFormat === "json");
    if (wantsJson) { const err = jsonError(v); if (err) out.push(`not valid JSON: ${err}`); }
    if (rules.refusal_when) {
      const flag = fieldsets.find((x) => x.dataset.field === rules.refusal_when);
      if (flag && valueOf(flag) === true && !REFUSAL.test(v)) out.push(`must read as a refusal because ${rules.refusal_when} is set`);
    }
    return out;
  }

  function validate() {
    let firstBad = null;
    for (const fs of fieldsets) {
      const errs = errorsOf(fs);
      const box = fs.querySelector(".field-errors");
      box.replaceChildren(...errs.map((e) => Object.assign(document.createElement("div"), { textContent: e })));
      fs.classList.toggle("invalid", errs.length > 0);
      if (errs.length && !firstBad) firstBad = fs;
    }
    submitButton.disabled = Boolean(firstBad);
    submitButton.title = firstBad ? "Fix the fields marked in red first" : "";
    return firstBad;
  }

  // Line diff (LCS) of the corrected answer against the model's answer.
  function diff(a, b) {
    const x = a.split("\n"), y = b.split("\n");
    const n = x.length, m = y.length;
    if (n * m > 250000) return [["~", "(too long to diff live)"]];
    const t = Array.from({ length: n + 1 }, () => new Int32Array(m + 1));
    for (let i = n - 1; i >= 0; i--) for (let j = m - 1; j >= 0; j--) t[i][j] = x[i] === y[j] ? t[i + 1][j + 1] + 1 : Math.max(t[i + 1][j], t[i][j + 1]);
    const out = [];
    let i = 0, j = 0;
    while (i < n && j < m) {
      if (x[i] === y[j]) { out.push([" ", x[i]]); i++; j++; } else if (t[i + 1][j] >= t[i][j + 1]) { out.push(["-", x[i++]]); } else { out.push(["+", y[j++]]); }
    }
    while (i < n) out.push(["-", x[i++]]);
    while (j < m) out.push(["+", y[j++]]);
    return out;
  }

  function showDiffs() {
    form.querySelectorAll("pre.diff").forEach((pre) => {
      const area = form.querySelector(`textarea[name="${pre.dataset.diffFor}"]`);
      const lines = diff(area.dataset.original || "", area.value);
      const changed = lines.some(([op]) => op !== " ");
      pre.replaceChildren(...(changed ? lines : [[" ", "(unchanged)"]]).map(([op, text]) => {
        const span = document.createElement("span");
        span.className = op === "+" ? "add" : op === "-" ? "del" : "same";
        span.textContent = `${op} ${text}\n`;
        return span;
      }));
    });
  }

  function focusField(index) {
    current = (index + fieldsets.length) % fieldsets.length;
    fieldsets.forEach((fs, k) => fs.classList.toggle("current", k === current));
    const fs = fieldsets[current];
    const first = fs.querySelector("input:checked, input, textarea");
    (fs.dataset.type === "text" || fs.dataset.type === "json" ? fs : first || fs).focus();
    fs.scrollIntoView({ block: "nearest" });
  }

  function submitNow() {
    const bad = validate();
    if (bad) { focusField(fieldsets.indexOf(bad)); return; }
    form.querySelector('input[name="seconds_spent"]').value = ((Date.now() - started) / 1000).toFixed(1);
    form.querySelector('input[name="action"]').value = "submit";
    form.submit();
  }

  form.addEventListener("input", () => { validate(); showDiffs(); });
  form.addEventListener("change", () => { validate(); showDiffs(); });
  form.addEventListener("submit", (e) => {
    const action = e.submitter && e.submitter.value === "skip" ? "skip" : "submit";
    if (action === "skip") {
      form.querySelector('input[name="action"]').value = "skip";
      if (!form.querySelector('input[name="reason"]').value.trim()) { e.preventDefault(); form.querySelector('input[name="reason"]').focus(); }
      return;
    }
    e.preventDefault();
    submitNow();
  });
  fieldsets.forEach((fs, k) => fs.addEventListener("focusin", () => { current = k; fieldsets.forEach((x, i) => x.classList.toggle("current", i === k)); }));
  document.getElementById("skip-button").addEventListener("click", () => openSkip());
  document.getElementById("help-toggle").addEventListener("click", () => toggleHelp());

  function openSkip() { skipBox.hidden = false; skipBox.querySelector("input").focus(); }
  function toggleHelp() { const s = document.getElementById("help-sheet"); s.hidden = !s.hidden; }

  document.addEventListener("keydown", (e) => {
    const inText = e.target.matches("textarea, input[type=text]");
    if ((e.ctrlKey || e.metaKey) && e.key === "Enter") { e.preventDefault(); submitNow(); return; }
    if (e.key === "Escape") {
      if (inText) { e.target.closest("fieldset, .skip-box").focus(); if (e.target.closest(".skip-box")) skipBox.hidden = true; }
      document.getElementById("help-sheet").hidden = true;
      return;
    }
    if (inText || e.ctrlKey || e.metaKey || e.altKey) return;
    if (e.key === "?") { e.preventDefault(); toggleHelp(); }
    else if (e.key === "s" || e.key === "S") { e.preventDefault(); openSkip(); }
    else if (e.key === "j") { e.preventDefault(); focusField(current + 1); }
    else if (e.key === "k") { e.preventDefault(); focusField(current - 1); }
    else if (e.key === "e" || e.key === "E") {
      const area = form.querySelector("textarea[data-original]:not([data-original=''])") || form.querySelector("textarea");
      if (area) { e.preventDefault(); area.focus(); }
    } else if (/^[1-9]$/.test(e.key)) {
      const fs = fieldsets[current];
      const options = fs.querySelectorAll("input[type=radio], input[type=checkbox]");
      const pick = options[Number(e.key) - 1];
      if (pick) {
        e.preventDefault();
        pick.checked = pick.type === "radio" ? true : !pick.checked;
        pick.dispatchEvent(new Event("change", { bubbles: true }));
        if (pick.type === "radio" && fs.dataset.type === "choice") focusField(current + 1);
      }
    }
  });

  validate();
  showDiffs();
  focusField(0);
  form.dataset.ready = "1"; // tests wait for this before typing
})();
