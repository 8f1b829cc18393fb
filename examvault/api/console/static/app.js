// Long actions: a form with data-job posts, then its progress is polled until the job ends.
(function () {
  function show(box, text, cls) { box.querySelector(".state").textContent = text; box.className = "job " + (cls || ""); }
  async function poll(box, url, done) {
    const bar = box.querySelector("progress");
    for (;;) {
      const r = await fetch(url, { credentials: "same-origin" });
      const job = await r.json();
      if (job.total) { bar.max = job.total; bar.value = job.done; } else { bar.removeAttribute("value"); }
      if (job.state === "done") { bar.max = 1; bar.value = 1; done(job.result); return; }
      if (job.state === "failed" || !r.ok) { show(box, "失败：" + ((job.error && job.error.detail) || job.detail || r.status), "bad"); return; }
      await new Promise((ok) => setTimeout(ok, 400));
    }
  }
  document.querySelectorAll("form[data-job]").forEach(function (form) {
    form.addEventListener("submit", async function (ev) {
      ev.preventDefault();
      const box = document.getElementById(form.dataset.job);
      box.hidden = false; show(box, "进行中…");
      const r = await fetch(form.action, { method: "POST", body: new FormData(form), credentials: "same-origin",
                                          headers: { "x-csrf-token": form.querySelector("input[name=csrf]").value } });
      const body = await r.json();
      const finish = function (result) { show(box, "完成", "ok"); window.dispatchEvent(new CustomEvent("job-done", { detail: { form: form, result: result } })); };
      if (r.status === 202) { poll(box, "/api/v1/jobs/" + body.id, finish); }
      else if (r.ok) { finish(body); }
      else { show(box, "失败：" + (body.detail || r.status), "bad"); }
    });
  });
  window.addEventListener("job-done", function (ev) {
    const form = ev.detail.form, result = ev.detail.result;
    if (form.dataset.then === "papers" && Array.isArray(result) && result.length) {
      location.href = "/console/papers/" + encodeURIComponent(result[0].code) + "?msg=" + encodeURIComponent("已组卷：" + result.map((p) => p.code).join("、"));
    } else if (form.dataset.then === "import") {
      const box = document.getElementById(form.dataset.job);
      box.querySelector(".state").textContent = "完成：导入 " + result.imported + " 道（" + Object.entries(result.by_type || {}).map(([k, v]) => k + " " + v).join("，") + "）";
    } else if (form.dataset.then === "stats") {
      const out = document.getElementById("job-result");
      out.hidden = false; out.textContent = JSON.stringify(result, null, 1).slice(0, 4000);
    } else if (form.dataset.then === "coverage") {
      renderCoverage(document.getElementById("coverage"), result);
    }
  });
  function cell(tag, text, cls) { const c = document.createElement(tag); c.textContent = text; if (cls) c.className = cls; return c; }
  function renderCoverage(host, report) {
    host.replaceChildren();
    const verdict = report.feasible === true ? "可以组卷" : report.feasible === false ? "无法组卷" : "未能判定";
    host.appendChild(cell("p", "结论：" + verdict + "；可用题 " + report.eligible_items + " 道；可组互不重复的卷 " +
      (report.disjoint_forms ? report.disjoint_forms.union_feasible : "?") + " 套", report.feasible ? "ok" : "bad"));
    (report.tables || []).forEach(function (t) {
      host.appendChild(cell("h2", t.section + " 覆盖情况（按鉴定范围 × 难度）"));
      const table = document.createElement("table"), head = document.createElement("tr");
      ["鉴定范围", "易", "较易", "中等", "较难", "难", "合计"].forEach((h) => head.appendChild(cell("th", h)));
      table.appendChild(head);
      t.rows.forEach(function (row) {
        const tr = document.createElement("tr");
        tr.appendChild(cell("td", row.range));
        row.by_difficulty.forEach((n) => tr.appendChild(cell("td", String(n), "num")));
        tr.appendChild(cell("td", String(row.total), "num"));
        table.appendChild(tr);
      });
      host.appendChild(table);
      host.appendChild(cell("p", "重要程度：" + Object.entries(t.importance).map(([k, v]) => k + " " + v).join("，"), "muted"));
    });
    (report.shortfalls || []).forEach((s) => host.appendChild(cell("p", "缺口：" + s.message, "bad")));
    (report.weak_points || []).slice(0, 20).forEach((w) => host.appendChild(cell("p", "薄弱鉴定点 " + w.point + "（" + w.importance + "）仅 " + w.active_items + " 道在用题", "muted")));
  }
})();
