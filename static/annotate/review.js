// The review pages: keyboard shortcuts over plain forms (every action works without this file),
// column selection, filling the fix form from an annotation, a live diff of the fixed answer.
(function () {
  "use strict";

  document.querySelectorAll("[data-confirm]").forEach((button) => {
    button.addEventListener("click", (e) => { if (!window.confirm(button.dataset.confirm)) e.preventDefault(); });
  });
  const selectAll = document.getElementById("select-all");
  if (selectAll) {
    selectAll.addEventListener("change", () => {
      document.querySelectorAll('input[name="tasks"]').forEach((box) => { box.checked = selectAll.checked; });
    });
  }

  const inText = (el) => el && el.matches && el.matches("textarea, input[type=text], input[type=search], select");
  const nextItem = document.getElementById("next-item") || document.getElementById("next-link");
  const compare = document.getElementById("compare");
  const fixForm = document.getElementById("fix-form");

  if (!compare && !fixForm) {  // the queue and outdated pages: N opens the next item
    document.addEventListener("keydown", (e) => {
      if (inText(e.target) || e.ctrlKey || e.metaKey || e.altKey) return;
      if ((e.key === "n" || e.key === "N") && nextItem) { e.preventDefault(); window.location.href = nextItem.href; }
    });
    return;
  }

  const votesNode = document.getElementById("review-votes");
  const votes = votesNode ? JSON.parse(votesNode.textContent) : {};
  const headers = compare ? Array.from(compare.querySelectorAll("thead th.col")) : [];
  const fixBox = document.getElementById("fix-box");
  const fieldsets = fixForm ? Array.from(fixForm.querySelectorAll("fieldset.field")) : [];
  let selected = 0;
  let current = 0;

  function select(index) {
    if (index < 0 || index >= headers.length) return;
    selected = index;
    compare.querySelectorAll("[data-column]").forEach((cell) => {
      cell.classList.toggle("selected", Number(cell.dataset.column) === index);
    });
  }

  function fill(annotationId) {
    const values = votes[annotationId];
    if (!values || !fixForm) return;
    fieldsets.forEach((fs) => {
      const v = values[fs.dataset.field];
      const type = fs.dataset.type;
      if (type === "choice") fs.querySelectorAll("input[type=radio]").forEach((i) => { i.checked = i.value === v; });
      else if (type === "multi_choice") fs.querySelectorAll("input[type=checkbox]").forEach((i) => { i.checked = (v || []).includes(i.value); });
      else if (type === "bool") fs.querySelector("input").checked = Boolean(v);
      else { const input = fs.querySelector("textarea, input"); input.value = v === null || v === undefined ? "" : String(v); }
      fs.classList.remove("invalid");
      const box = fs.querySelector(".field-errors");
      if (box) box.replaceChildren();
    });
    fixForm.querySelector('input[name="based_on"]').value = annotationId;
    const name = document.getElementById("fix-from-name");
    const header = headers.find((h) => h.dataset.annotation === String(annotationId));
    if (name && header) name.textContent = header.querySelector("strong").textContent;
    showDiffs();
  }

  function focusField(index) {
    if (!fieldsets.length) return;
    current = (index + fieldsets.length) % fieldsets.length;
    fieldsets.forEach((fs, k) => fs.classList.toggle("current", k === current));
    const fs = fieldsets[current];
    const first = fs.querySelector("input:checked, input, textarea");
    (fs.dataset.type === "text" || fs.dataset.type === "json" ? fs : first || fs).focus();
    fs.scrollIntoView({ block: "nearest" });
  }

  function openFix() {
    if (!fixBox) return;
    const header = headers[selected];
    if (header) fill(header.dataset.annotation);
    fixBox.open = true;
    focusField(0);
  }

  function openReject() {
    const box = compare && compare.querySelector(`details[data-reject="${selected}"]`);
    if (!box) return;
    box.open = true;
    box.querySelector("textarea").focus();
  }

  // Line diff (LCS) of the fixed answer against the model's answer, as on the labeling screen.
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
    if (!fixForm) return;
    fixForm.querySelectorAll("pre.diff").forEach((pre) => {
      const area = fixForm.querySelector(`textarea[name="${pre.dataset.diffFor}"]`);
      const lines = diff((area.dataset.original || "").trimEnd(), area.value.trimEnd());
      const changed = lines.some(([op]) => op !== " ");
      pre.replaceChildren(...(changed ? lines : [[" ", "(unchanged)"]]).map(([op, text]) => {
        const span = document.createElement("span");
        span.className = op === "+" ? "add" : op === "-" ? "del" : "same";
        span.textContent = `${op} ${text}\n`;
        return span;
      }));
    });
  }

  function toggleHelp() { const s = document.getElementById("help-sheet"); s.hidden = !s.hidden; }

  if (fixForm) {
    fixForm.addEventListener("input", showDiffs);
    fixForm.addEventListener("change", showDiffs);
    fieldsets.forEach((fs, k) => fs.addEventListener("focusin", () => {
      current = k;
      fieldsets.forEach((x, i) => x.classList.toggle("current", i === k));
    }));
  }
  headers.forEach((h, k) => h.addEventListener("click", () => select(k)));
  const help = document.getElementById("help-toggle");
  if (help) help.addEventListener("click", toggleHelp);

  document.addEventListener("keydown", (e) => {
    const target = e.target;
    const inFix = fixForm && fixForm.contains(target);
    if ((e.ctrlKey || e.metaKey) && e.key === "Enter") {
      const rejectForm = target.closest && target.closest(".reject-box form");
      if (rejectForm) { e.preventDefault(); rejectForm.requestSubmit(); return; }
      if (inFix || (fixBox && fixBox.open)) { e.preventDefault(); fixForm.requestSubmit(); }
      return;
    }
    if (e.key === "Escape") {
      if (inText(target)) {
        const box = target.closest(".reject-box");
        if (box) { box.open = false; target.blur(); } else { (target.closest("fieldset") || document.body).focus(); }
      } else if (inFix) { target.blur(); }
      document.getElementById("help-sheet").hidden = true;
      return;
    }
    if (inText(target) || e.ctrlKey || e.metaKey || e.altKey) return;
    const key = e.key.toLowerCase();
    if (e.key === "?") { e.preventDefault(); toggleHelp(); }
    else if (/^[1-9]$/.test(e.key)) {
      e.preventDefault();
      if (!inFix) { select(Number(e.key) - 1); return; }
      const fs = fieldsets[current];
      const options = fs.querySelectorAll("input[type=radio], input[type=checkbox]");
      const pick = options[Number(e.key) - 1];
      if (pick) {
        pick.checked = pick.type === "radio" ? true : !pick.checked;
        pick.dispatchEvent(new Event("change", { bubbles: true }));
        if (pick.type === "radio" && fs.dataset.type === "choice") focusField(current + 1);
      }
    } else if (key === "j" && inFix) { e.preventDefault(); focusField(current + 1); }
    else if (key === "k" && inFix) { e.preventDefault(); focusField(current - 1); }
    else if (key === "e" && inFix) {
      const area = fixForm.querySelector("textarea[data-original]:not([data-original=''])") || fixForm.querySelector("textarea");
      if (area) { e.preventDefault(); area.focus(); }
    }
    else if (key === "a" && !inFix) {
      const button = compare && compare.querySelector(`button[data-accept="${selected}"]`);
      if (button) { e.preventDefault(); button.click(); }
    } else if (key === "f" && !inFix) { e.preventDefault(); openFix(); }
    else if (key === "r" && !inFix) { e.preventDefault(); openReject(); }
    else if (key === "n" && nextItem) { e.preventDefault(); window.location.href = nextItem.href; }
  });

  if (headers.length) select(0);
  showDiffs();
  if (fixBox && fixBox.open && fixForm.querySelector("fieldset.invalid")) {
    focusField(fieldsets.findIndex((fs) => fs.classList.contains("invalid")));
  }
  document.body.dataset.reviewReady = "1"; // tests wait for this before typing
})();
