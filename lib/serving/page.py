"""The page served at `/`: paste an e-mail, see the triage (a Python string, so any install mode ships it)."""

PAGE_HTML = """<!doctype html>
<html lang="fr">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>E-mail triage</title>
<style>
  body { font-family: system-ui, sans-serif; max-width: 860px; margin: 2rem auto; padding: 0 1rem; color: #222; }
  textarea { width: 100%; height: 14rem; font: inherit; padding: .5rem; box-sizing: border-box; }
  .row { display: flex; gap: 1rem; align-items: center; margin: .6rem 0; }
  button { padding: .5rem 1.2rem; font: inherit; cursor: pointer; }
  #status { color: #555; font-size: .9rem; }
  #result { display: none; border: 1px solid #ccc; border-radius: 6px; padding: 1rem; margin-top: 1rem; }
  .tag { display: inline-block; padding: .1rem .5rem; border-radius: 4px; background: #e8eef7; margin-right: .4rem; }
  .abstained { background: #fde2c8; }
  .haute { background: #f8c9c9; }
  pre { white-space: pre-wrap; background: #f6f6f6; padding: .6rem; border-radius: 4px; }
  .error { color: #a00; }
</style>
</head>
<body>
<h1>E-mail triage</h1>
<p>Paste an e-mail: the model suggests its category, urgency and a reply. Names, addresses, phone
numbers and other personal data are replaced by placeholders before the model reads the text; the
text is not stored or logged. Limit: {{MAX_CHARS}} characters. API documentation: <a href="/docs">/docs</a>.</p>
<p id="health">Model: checking…</p>
<textarea id="text" maxlength="{{MAX_CHARS}}" placeholder="Bonjour, je n'ai pas reçu mon relevé de notes du semestre…"></textarea>
<div class="row">
  <label>Language of the reply
    <select id="lang"><option value="">detect</option><option value="fr">français</option><option value="en">English</option></select>
  </label>
  <button id="go">Triage</button>
  <span id="status"></span>
</div>
<div id="result">
  <div id="tags"></div>
  <h3>Why</h3><ul id="reasons"></ul>
  <h3>Suggested reply</h3><pre id="reply"></pre>
</div>
<script>
  // Every value from the server is inserted with textContent (never innerHTML): no script injection.
  const $ = (id) => document.getElementById(id);
  fetch("/health").then(r => r.json()).then(h => {
    $("health").textContent = h.model_loaded ? `Model: ${h.model_name} v${h.model_version} (${h.labels.length} categories)`
                                             : `Model not loaded: ${h.detail}`;
  }).catch(() => { $("health").textContent = "Model: status unavailable"; });
  function tag(text, cls) { const s = document.createElement("span"); s.className = "tag " + (cls || ""); s.textContent = text; return s; }
  $("go").addEventListener("click", async () => {
    const body = { text: $("text").value };
    if ($("lang").value) body.lang = $("lang").value;
    $("status").textContent = "…"; $("status").className = "";
    try {
      const r = await fetch("/predict", { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) });
      const data = await r.json();
      if (!r.ok) { $("status").textContent = `Error ${r.status}: ${data.detail}`; $("status").className = "error"; $("result").style.display = "none"; return; }
      $("status").textContent = "";
      const tags = $("tags"); tags.replaceChildren();
      tags.append(tag(`category: ${data.category}`), tag(`confidence: ${(100 * data.confidence).toFixed(0)} %`),
                  tag(`urgency: ${data.urgency ?? "not assessed"}`, data.urgency === "haute" ? "haute" : ""));
      if (data.abstained) tags.append(tag("abstained: a person should read it", "abstained"));
      const ul = $("reasons"); ul.replaceChildren();
      for (const reason of data.reasons) { const li = document.createElement("li"); li.textContent = reason; ul.append(li); }
      $("reply").textContent = data.reply_suggestion;
      $("result").style.display = "block";
    } catch (e) { $("status").textContent = "Request failed: " + e; $("status").className = "error"; }
  });
</script>
</body>
</html>
"""
