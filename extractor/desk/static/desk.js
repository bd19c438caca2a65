// tenderx desk: overview filters/sorting, the evidence panel, review actions. No libraries.
// Document text is only ever inserted with textContent, never as HTML.
"use strict";
(function () {
  const $ = (s, el) => (el || document).querySelector(s);
  const $$ = (s, el) => Array.from((el || document).querySelectorAll(s));
  const csrf = () => ($('meta[name="csrf"]') || {}).content || "";
  const reviewerBox = $("#reviewer");
  if (reviewerBox) {
    const saved = localStorage.getItem("tenderx-reviewer");
    if (saved) reviewerBox.value = saved;
    reviewerBox.addEventListener("change", () => localStorage.setItem("tenderx-reviewer", reviewerBox.value.trim()));
  }

  async function api(url, body) {
    const opts = body === undefined ? {} : {
      method: "POST", body: JSON.stringify(body),
      headers: { "Content-Type": "application/json", "X-Tenderx-CSRF": csrf() },
    };
    const res = await fetch(url, Object.assign({ credentials: "same-origin" }, opts));
    const data = await res.json().catch(() => ({ error: res.statusText }));
    if (!res.ok) throw new Error(data.error || res.statusText);
    return data;
  }

  // --- overview: filters and sorting over the server-rendered table ---
  function overview() {
    const rows = $$("#docs tbody tr");
    const val = (id) => ($("#" + id) || {}).value || "";
    const on = (id) => !!($("#" + id) || {}).checked;
    function apply() {
      const text = val("f-text").toLowerCase().trim(), type = val("f-type");
      const from = val("f-from"), to = val("f-to");
      const min = val("f-min") === "" ? null : parseFloat(val("f-min")) * 10000;
      const max = val("f-max") === "" ? null : parseFloat(val("f-max")) * 10000;
      let shown = 0;
      for (const r of rows) {
        const d = r.dataset, amount = d.amount === "" ? null : parseFloat(d.amount);
        const ok = (!text || d.text.includes(text)) && (!type || d.type === type)
          && (!on("f-flagged") || d.flagged === "1") && (!on("f-restricted") || d.restricted === "1")
          && (!on("f-unverified") || d.unverified !== "0") && (!on("f-errors") || d.errors !== "0")
          && (!on("f-unreviewed") || d.reviewed === "0")
          && (!from || (d.date && d.date >= from)) && (!to || (d.date && d.date <= to))
          && (min === null || (amount !== null && amount >= min)) && (max === null || (amount !== null && amount <= max));
        r.hidden = !ok;
        if (ok) shown++;
      }
      $("#f-count").textContent = shown + " of " + rows.length + " shown";
    }
    $$("#filters input, #filters select").forEach((el) => el.addEventListener("input", apply));
    $("#filters").addEventListener("submit", (e) => e.preventDefault());
    $$("#docs th[data-sort]").forEach((th) => th.addEventListener("click", () => {
      const key = th.dataset.sort, num = th.dataset.num === "1";
      const dir = th.classList.contains("asc") ? -1 : 1;
      $$("#docs th").forEach((h) => h.classList.remove("asc", "desc"));
      th.classList.add(dir === 1 ? "asc" : "desc");
      const tbody = $("#docs tbody");
      const sorted = rows.slice().sort((a, b) => {
        let x = a.dataset[key] || "", y = b.dataset[key] || "";
        if (num) { x = x === "" ? -Infinity : parseFloat(x); y = y === "" ? -Infinity : parseFloat(y); return (x - y) * dir; }
        return x.localeCompare(y, "zh") * dir;
      });
      sorted.forEach((r) => tbody.appendChild(r));
    }));
    apply();
  }

  // --- document: evidence panel and review ---
  function documentPage() {
    const body = document.body, docId = body.dataset.doc;
    if (body.dataset.failed === "1") return;  // unreadable file: its error, no page view, nothing to review
    let pages = parseInt(body.dataset.pages || "0", 10) || 0, current = null, formField = null;
    const img = $("#page-img"), layer = $("#hl-layer"), text = $("#page-text"), note = $("#evidence-note");

    function drawBoxes(boxes, cellBox) {
      layer.replaceChildren();
      // the table cell a value was read from is outlined apart from the quote's boxes
      for (const b of cellBox ? boxes.concat([Object.assign({ cell: true }, cellBox)]) : boxes) {
        const d = document.createElement("div");
        d.className = b.cell ? "hl cell" : "hl";
        d.style.left = (b.x0 * 100) + "%"; d.style.top = (b.y0 * 100) + "%";
        d.style.width = ((b.x1 - b.x0) * 100) + "%"; d.style.height = ((b.y1 - b.y0) * 100) + "%";
        layer.appendChild(d);
      }
    }

    function show(ev) {
      current = ev;
      pages = ev.pages || pages;
      $("#page-no").textContent = ev.page; $("#page-count").textContent = pages || "?";
      let msg = ev.note || "";
      if (ev.moved) msg = "the quote is on page " + ev.page + ", not on page " + ev.asked_page + " as extracted. " + msg;
      note.textContent = msg || (ev.image && img.getAttribute("src") !== ev.image ? "loading page " + ev.page + "…" : "");
      text.replaceChildren();
      let mark = null;
      for (const s of ev.segments) {
        if (s.mark) { mark = document.createElement("mark"); mark.textContent = s.text; text.appendChild(mark); }
        else text.appendChild(document.createTextNode(s.text));
      }
      const wrap = $("#page-wrap");
      if (ev.image) {
        wrap.hidden = false;
        layer.replaceChildren();
        const boxes = ev.boxes || [];
        img.onload = () => {
          wrap.classList.remove("loading");
          if (note.textContent.startsWith("loading")) note.textContent = "";
          drawBoxes(boxes, ev.cell_box);
          const first = $(".hl", layer), panel = $("#evidence");
          if (first) panel.scrollTop = Math.max(0, wrap.offsetTop + first.offsetTop - panel.clientHeight / 3);
        };
        img.onerror = () => { wrap.classList.remove("loading"); note.textContent = "the page image could not be rendered"; };
        if (img.getAttribute("src") === ev.image && img.complete) img.onload();
        else img.src = ev.image;
      } else {
        wrap.hidden = true;
        wrap.classList.remove("loading");
      }
      text.scrollTop = mark ? Math.max(0, mark.offsetTop - text.offsetTop - 40) : 0;
    }

    function loading(what) {
      note.textContent = "loading " + what + "…";
      $("#page-wrap").classList.add("loading");
    }

    async function showField(name) {
      $$("tr.field-row").forEach((r) => r.classList.toggle("selected", r.dataset.field === name));
      $("#evidence-field").textContent = name;
      loading(name);
      try { show(await api(`/api/documents/${docId}/evidence/${encodeURIComponent(name)}`)); }
      catch (e) { note.textContent = e.message; }
    }

    async function showPage(n) {
      if (n < 1 || (pages && n > pages)) return;
      $("#evidence-field").textContent = "";
      loading("page " + n);
      try { show(await api(`/api/documents/${docId}/pages/${n}`)); } catch (e) { note.textContent = e.message; }
    }

    $$("button.value").forEach((b) => b.addEventListener("click", () => showField(b.dataset.field)));
    $("#goto-form").addEventListener("submit", (e) => { e.preventDefault(); showPage(parseInt($("#goto-page").value, 10)); });
    const findForm = $("#find-form");
    if (findForm) findForm.addEventListener("submit", async (e) => {
      e.preventDefault();
      const list = $("#find-hits"), q = $("#find-q").value.trim();
      list.replaceChildren();
      if (!q) return;
      try {
        const r = await api(`/api/search?k=8&doc=${docId}&q=${encodeURIComponent(q)}`);
        if (r.error) { note.textContent = r.error; return; }
        if (!r.hits.length) { note.textContent = "not found in this document"; return; }
        for (const h of r.hits) {
          const li = document.createElement("li"), b = document.createElement("button");
          b.type = "button"; b.textContent = "page " + h.page; b.addEventListener("click", () => showPage(h.page));
          li.appendChild(b);
          const snip = document.createElement("span"); snip.className = "small";
          for (const s of h.segments) {
            const el = s.mark ? document.createElement("mark") : document.createElement("span");
            el.textContent = s.text.replace(/\s+/g, " "); snip.appendChild(el);
          }
          li.appendChild(snip); list.appendChild(li);
        }
      } catch (err) { note.textContent = err.message; }
    });
    $("#prev-page").addEventListener("click", () => current && showPage(current.page - 1));
    $("#next-page").addEventListener("click", () => current && showPage(current.page + 1));

    function markDecided(name, decision) {
      const row = $("#field-" + CSS.escape(name));
      row.classList.add("decided");
      $(".decision", row).textContent = decision.action + "ed by " + decision.reviewer
        + (decision.action === "correct" && decision.evidence === "reviewer-stated" ? " · reviewer-stated" : "");
      let c = $(".corrected", row);
      if (decision.action === "correct") {
        if (!c) { c = document.createElement("div"); c.className = "corrected"; $("td", row).appendChild(c); }
        const shown = Array.isArray(decision.value) ? decision.value.join("; ") : (decision.value === null ? "—" : String(decision.value));
        c.textContent = "→ " + shown;
      } else if (c) c.remove();
    }

    const reviewer = () => (reviewerBox && reviewerBox.value.trim()) || "";
    $$("button.accept").forEach((b) => b.addEventListener("click", async () => {
      try {
        const r = await api("/api/review", { doc: docId, field: b.dataset.field, action: "accept", reviewer: reviewer() });
        markDecided(b.dataset.field, r.decision);
      } catch (e) { note.textContent = "not saved: " + e.message; }
    }));

    const form = $("#correct-form");
    function openForm(name) {
      const row = $("#field-" + CSS.escape(name));
      formField = name;
      $("#cf-field").textContent = name;
      const values = row.dataset.enum ? row.dataset.enum.split("|") : (row.dataset.type === "boolean" ? ["true", "false"] : null);
      const sel = $("#cf-enum"), input = $("#cf-value");
      sel.hidden = !values; input.hidden = !!values;
      if (values) { sel.replaceChildren(...["", ...values].map((v) => { const o = document.createElement("option"); o.value = v; o.textContent = v || "(not stated)"; return o; })); }
      const shown = $("button.value", row).textContent.trim();
      input.value = shown === "—" ? "" : shown;
      if (values) sel.value = values.includes(shown) ? shown : "";
      $("#cf-quote").value = ""; $("#cf-page").value = current ? current.page : (row.dataset.page || "");
      $("#cf-error").textContent = "";
      form.hidden = false;
      form.scrollIntoView({ block: "nearest" });
      showField(name);
    }
    $$("button.correct").forEach((b) => b.addEventListener("click", () => openForm(b.dataset.field)));
    $("#cf-cancel").addEventListener("click", () => { form.hidden = true; formField = null; });
    text.addEventListener("mouseup", () => {
      const sel = window.getSelection().toString().trim();
      if (formField && sel) { $("#cf-quote").value = sel; if (current) $("#cf-page").value = current.page; }
    });
    form.addEventListener("submit", async (e) => {
      e.preventDefault();
      const sel = $("#cf-enum");
      const value = sel.hidden ? $("#cf-value").value : sel.value;
      const body = { doc: docId, field: formField, action: "correct", value: value, reviewer: reviewer(),
                     quote: $("#cf-quote").value, page: $("#cf-page").value };
      try {
        const r = await api("/api/review", body);
        markDecided(formField, r.decision);
        form.hidden = true; formField = null;
        if (r.decision.quote && r.decision.located === false) note.textContent = "saved as reviewer-stated: the quote is not on that page";
        else if (r.decision.quote && r.decision.verified === false) note.textContent = "saved as reviewer-stated: the quote does not state this value";
      } catch (err) { $("#cf-error").textContent = err.message; }
    });

    const startField = body.dataset.startField, startPage = parseInt(body.dataset.startPage || "", 10);
    if (startField && $("#field-" + CSS.escape(startField))) showField(startField);
    else showPage(startPage || 1);
  }

  const page = document.body.dataset.page;
  if (page === "overview") overview();
  if (page === "document") documentPage();
})();
