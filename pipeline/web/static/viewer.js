// 云审 reviewer: the document viewer. Plain JS, no dependencies.
// Boxes are page fractions [x0, y0, x1, y1] (origin top-left, upright page); they are drawn as
// absolutely positioned divs in percent of the page element, so they follow any zoom level.
(function () {
  "use strict";
  var dataEl = document.getElementById("viewer-data");
  if (!dataEl) return;
  var data = JSON.parse(dataEl.textContent);
  var stage = document.getElementById("stage");
  var pageEl = document.getElementById("page");
  var img = document.getElementById("page-img");
  var overlay = document.getElementById("overlay");
  var thumbs = document.getElementById("thumbs");
  var select = document.getElementById("doc-select");
  var note = document.getElementById("page-note");
  var label = document.getElementById("page-label");
  var zoomLabel = document.getElementById("zoom-level");
  var state = { doc: -1, page: 0, zoom: 1, hl: null };
  // Thumbnails wait until the first page image has arrived: rendering them first would make the
  // page the reviewer is waiting for queue behind up to 30 small ones (bench/web.py).
  var firstShown = false;

  function releaseThumbs() {
    if (firstShown) return;
    firstShown = true;
    Array.prototype.forEach.call(thumbs.querySelectorAll("img[data-src]"), function (t) {
      t.src = t.dataset.src; t.removeAttribute("data-src");
    });
  }

  function pct(v) { return (Math.min(Math.max(Number(v), 0), 1) * 100).toFixed(3) + "%"; }

  function box(kind, bbox, title, id) {
    var x0 = Math.min(bbox[0], bbox[2]), x1 = Math.max(bbox[0], bbox[2]);
    var y0 = Math.min(bbox[1], bbox[3]), y1 = Math.max(bbox[1], bbox[3]);
    var el = document.createElement("div");
    el.className = "box " + kind;
    el.style.left = pct(x0); el.style.top = pct(y0);
    el.style.width = pct(x1 - x0); el.style.height = pct(y1 - y0);
    el.title = title;
    if (id) el.id = id;
    return el;
  }

  function drawBoxes() {
    overlay.textContent = "";
    data.boxes.forEach(function (b) {
      if (b.doc === state.doc && b.page === state.page) overlay.appendChild(box(b.kind, b.bbox, b.title));
    });
    data.flags.forEach(function (f, fi) {
      f.evidence.forEach(function (ev, ei) {
        if (ev.doc !== state.doc || !ev.bbox) return;
        if ((ev.page || 1) !== state.page) return;
        var el = box("flag", ev.bbox, f.code + " — " + f.message + (ev.text ? " “" + ev.text + "”" : ""),
                     "ev-" + fi + "-" + ei);
        if (state.hl && state.hl.flag === fi && state.hl.ev === ei) el.classList.add("hl");
        overlay.appendChild(el);
      });
    });
  }

  function applyZoom() {
    pageEl.style.width = (state.zoom * 100).toFixed(1) + "%";
    zoomLabel.textContent = Math.round(state.zoom * 100) + "%";
  }

  function renderThumbs(doc) {
    thumbs.textContent = "";
    doc.pages.forEach(function (p) {
      var b = document.createElement("button");
      b.type = "button";
      b.className = "thumb";
      b.dataset.page = String(p.number);
      var t = document.createElement("img");
      t.loading = "lazy";
      t.alt = "第" + p.number + "页";
      if (firstShown) t.src = doc.url + p.number + "/thumb.jpg";
      else t.dataset.src = doc.url + p.number + "/thumb.jpg";
      t.onerror = function () { t.remove(); };
      var n = document.createElement("span");
      n.textContent = String(p.number);
      b.appendChild(t); b.appendChild(n);
      b.addEventListener("click", function () { state.hl = null; show(doc.index, p.number); });
      thumbs.appendChild(b);
    });
  }

  function show(docIndex, pageNumber, onShown) {
    var doc = data.docs[docIndex];
    if (!doc) return;
    if (docIndex !== state.doc) { renderThumbs(doc); select.value = String(docIndex); }
    var total = doc.pages.length;
    if (total === 0) {
      state.doc = docIndex; state.page = 0;
      img.removeAttribute("src"); pageEl.classList.add("missing"); overlay.textContent = "";
      note.textContent = doc.error ? "无法读取：" + doc.error : "该文件没有页面 (no pages)";
      label.textContent = ""; releaseThumbs(); return;
    }
    var page = Math.min(Math.max(pageNumber || 1, 1), total);
    var info = doc.pages[page - 1];
    state.doc = docIndex; state.page = page;
    pageEl.dataset.doc = String(docIndex); pageEl.dataset.page = String(page);
    pageEl.style.aspectRatio = String(1 / info.ratio);
    label.textContent = "第 " + page + " / " + total + " 页";
    note.textContent = "";
    Array.prototype.forEach.call(thumbs.children, function (t) {
      t.classList.toggle("current", t.dataset.page === String(page));
    });
    drawBoxes();
    var src = doc.url + page + "/view.jpg";
    var done = function () { releaseThumbs(); if (onShown) onShown(); };
    if (img.getAttribute("src") === src && img.complete) { done(); return; }
    pageEl.classList.remove("missing");
    img.onload = function () { pageEl.style.aspectRatio = ""; done(); };
    img.onerror = function () {
      pageEl.classList.add("missing");
      note.textContent = "无法显示页面图像（原件不可用）— 证据框按页面比例绘制 (page image unavailable)";
      done();
    };
    img.src = src;
  }

  function showEvidence(fi, ei) {
    var flag = data.flags[fi];
    if (!flag) return;
    Array.prototype.forEach.call(document.querySelectorAll("li.flag"), function (li) {
      li.classList.toggle("active", li.dataset.flag === String(fi));
    });
    var ev = flag.evidence[ei];
    if (!ev) { note.textContent = "该问题没有可定位的证据 (no evidence location)"; return; }
    if (ev.doc === null || ev.doc === undefined) {
      note.textContent = "证据文件不在本申请中：" + ev.file + " (evidence is outside this application)";
      return;
    }
    state.hl = { flag: fi, ev: ei };
    show(ev.doc, ev.page || 1, function () {
      var target = document.getElementById("ev-" + fi + "-" + ei);
      if (target) target.scrollIntoView({ block: "center", inline: "center" });
      else stage.scrollTop = 0;
    });
  }

  select.addEventListener("change", function () { state.hl = null; show(Number(select.value), 1); });
  document.getElementById("zoom-in").addEventListener("click", function () { state.zoom = Math.min(state.zoom * 1.25, 4); applyZoom(); });
  document.getElementById("zoom-out").addEventListener("click", function () { state.zoom = Math.max(state.zoom / 1.25, 0.4); applyZoom(); });
  document.getElementById("zoom-fit").addEventListener("click", function () { state.zoom = 1; applyZoom(); });
  document.addEventListener("click", function (e) {
    var t = e.target.closest ? e.target.closest("[data-flag][data-ev]") : null;
    if (t) showEvidence(Number(t.dataset.flag), Number(t.dataset.ev));
  });
  document.addEventListener("keydown", function (e) {
    if (e.target && /^(TEXTAREA|INPUT|SELECT)$/.test(e.target.tagName)) return;
    var doc = data.docs[state.doc];
    if (!doc) return;
    if (e.key === "ArrowRight" || e.key === "PageDown") { state.hl = null; show(state.doc, Math.min(state.page + 1, doc.pages.length)); }
    if (e.key === "ArrowLeft" || e.key === "PageUp") { state.hl = null; show(state.doc, Math.max(state.page - 1, 1)); }
  });

  applyZoom();
  // After a decision the page reloads at #flag-<key>: show that flag's evidence again.
  var m = /^#flag-(.+)$/.exec(window.location.hash);
  var start = m ? data.flags.findIndex(function (f) { return f.key === m[1]; }) : -1;
  if (start >= 0) showEvidence(start, 0);
  else if (data.docs.length) show(0, 1);
})();
