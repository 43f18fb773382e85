/**
 * The dashboard, one self-contained page: no external asset, no build step. The script
 * draws small canvas line charts of the frames /dashboard/stream pushes each second.
 * Kept as a string module so the replica ships it in its dist like any other code.
 */
export const DASHBOARD_PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Stampede · live</title>
<style>
  :root { color-scheme: dark; --bg: #0f1419; --panel: #171d24; --line: #2a323c; --text: #d7dde4; --dim: #8a96a3;
    --good: #3fb950; --bad: #f85149; --info: #58a6ff; --warn: #d29922; }
  * { box-sizing: border-box; }
  body { margin: 0; font: 13px/1.4 system-ui, -apple-system, "Segoe UI", sans-serif; background: var(--bg); color: var(--text); }
  header { display: flex; flex-wrap: wrap; align-items: baseline; gap: 8px 24px; padding: 12px 18px; border-bottom: 1px solid var(--line); }
  header h1 { font-size: 16px; margin: 0 12px 0 0; }
  .fig { display: flex; flex-direction: column; }
  .fig b { font-size: 20px; font-variant-numeric: tabular-nums; }
  .fig span { color: var(--dim); font-size: 11px; text-transform: uppercase; letter-spacing: .04em; }
  .badge { display: inline-block; padding: 1px 8px; border-radius: 9px; font-size: 12px; font-weight: 600; margin-right: 4px; }
  .up { background: #12361f; color: var(--good); } .down { background: #3d1516; color: var(--bad); }
  main { display: grid; grid-template-columns: repeat(auto-fill, minmax(440px, 1fr)); gap: 12px; padding: 12px 18px; }
  section { background: var(--panel); border: 1px solid var(--line); border-radius: 6px; padding: 8px 10px; }
  section h2 { font-size: 12px; font-weight: 600; margin: 0 0 4px; color: var(--dim); text-transform: uppercase; letter-spacing: .04em; }
  canvas { width: 100%; height: 170px; display: block; }
  .legend { display: flex; flex-wrap: wrap; gap: 4px 12px; font-size: 11px; color: var(--dim); min-height: 16px; }
  .legend i { display: inline-block; width: 10px; height: 3px; margin-right: 4px; vertical-align: middle; }
  #timeline { list-style: none; margin: 0; padding: 0; max-height: 170px; overflow: auto; font-variant-numeric: tabular-nums; }
  #timeline li { padding: 2px 0; border-bottom: 1px solid var(--line); }
  #timeline time { color: var(--dim); margin-right: 8px; }
  .bad { color: var(--bad); } .good { color: var(--good); } .info { color: var(--info); }
  #conn { color: var(--dim); margin-left: auto; }
</style>
</head>
<body>
<header>
  <h1>Stampede · live</h1>
  <div class="fig"><b id="fig-event">–</b><span>event · <em id="fig-sale">–</em></span></div>
  <div class="fig"><b id="fig-tickets">–</b><span>tickets left</span></div>
  <div class="fig"><b id="fig-ready">–</b><span>queue ready</span></div>
  <div class="fig"><b id="fig-unacked">–</b><span>unacked</span></div>
  <div class="fig"><b id="fig-drain">–</b><span>drained / s</span></div>
  <div class="fig"><b id="fig-admitted">–</b><span>202 / s</span></div>
  <div class="fig"><b><span id="fig-worker" class="badge">worker</span></b><span>worker</span></div>
  <div class="fig"><b id="fig-health"></b><span>dependencies</span></div>
  <div id="conn">connecting…</div>
</header>
<main>
  <section><h2>Tickets left per tier</h2><canvas id="chart-tickets"></canvas><div class="legend" id="legend-tickets"></div></section>
  <section><h2>Admissions / s by outcome</h2><canvas id="chart-admissions"></canvas><div class="legend" id="legend-admissions"></div></section>
  <section><h2>Queue depth and drain rate</h2><canvas id="chart-queue"></canvas><div class="legend" id="legend-queue"></div></section>
  <section><h2>Requests / s per replica</h2><canvas id="chart-replicas"></canvas><div class="legend" id="legend-replicas"></div></section>
  <section><h2>Latency p50 / p99 (ms)</h2><canvas id="chart-latency"></canvas><div class="legend" id="legend-latency"></div></section>
  <section><h2>Timeline</h2><ul id="timeline"></ul></section>
</main>
<script>
(() => {
  'use strict';
  const WINDOW_MS = 5 * 60 * 1000;
  const COLORS = ['#58a6ff', '#3fb950', '#d29922', '#f85149', '#bc8cff', '#39c5cf', '#ff7b72', '#e3b341'];
  const state = { frames: [], marks: [], eventId: null, connected: false };
  window.stampede = state;
  const $ = (id) => document.getElementById(id);
  const fmt = (v, digits = 0) => (v === null || v === undefined || Number.isNaN(v) ? '–' : Number(v).toLocaleString('en', { maximumFractionDigits: digits }));

  function niceMax(v) {
    if (!(v > 0)) return 1;
    // Multiples whose quarters are round too: the grid lines are at max / 4.
    const p = Math.pow(10, Math.floor(Math.log10(v)));
    for (const m of [1, 2, 4, 6, 8, 10]) if (m * p >= v) return m * p;
    return 10 * p;
  }

  /** A line chart of series [{name, color, points: [[t, v|null]]}], the last five minutes, marks as dashed lines. */
  function draw(canvas, series, opts = {}) {
    const dpr = window.devicePixelRatio || 1;
    const w = canvas.clientWidth, h = canvas.clientHeight;
    if (canvas.width !== w * dpr || canvas.height !== h * dpr) { canvas.width = w * dpr; canvas.height = h * dpr; }
    const g = canvas.getContext('2d');
    g.setTransform(dpr, 0, 0, dpr, 0, 0);
    g.clearRect(0, 0, w, h);
    const left = 46, right = 8, top = 6, bottom = 18;
    const end = state.frames.length ? state.frames[state.frames.length - 1].t : Date.now();
    // The last five minutes; less while the page holds less (but at least one), so a short run is not a sliver.
    const span = Math.min(WINDOW_MS, Math.max(60000, state.frames.length ? end - state.frames[0].t : 0));
    const start = end - span;
    let max = 0;
    for (const s of series) for (const [, v] of s.points) if (v !== null && v > max) max = v;
    max = niceMax(max);
    const x = (t) => left + ((t - start) / span) * (w - left - right);
    const y = (v) => top + (1 - v / max) * (h - top - bottom);
    g.font = '10px system-ui, sans-serif';
    g.strokeStyle = '#2a323c'; g.fillStyle = '#8a96a3'; g.lineWidth = 1;
    for (let i = 0; i <= 4; i++) {
      const v = (max * i) / 4, yy = Math.round(y(v)) + 0.5;
      g.beginPath(); g.moveTo(left, yy); g.lineTo(w - right, yy); g.stroke();
      g.textAlign = 'right'; g.fillText(fmt(v, max < 10 ? 1 : 0), left - 4, yy + 3);
    }
    g.textAlign = 'center';
    const step = span > 120000 ? 60000 : span > 60000 ? 30000 : 15000;
    for (let ago = 0; ago <= span; ago += step) {
      const label = ago === 0 ? 'now' : ago % 60000 === 0 ? '-' + ago / 60000 + 'm' : '-' + ago / 1000 + 's';
      g.fillText(label, Math.max(left + 8, x(end - ago)), h - 4);
    }
    if (opts.band) {
      // A strip along the bottom: green while up, red while down.
      for (let i = 0; i < opts.band.length; i++) {
        const [t, up] = opts.band[i];
        const next = opts.band[i + 1] ? opts.band[i + 1][0] : t + 1000;
        if (t < start) continue;
        g.fillStyle = up ? 'rgba(63,185,80,.55)' : 'rgba(248,81,73,.75)';
        g.fillRect(x(t), h - bottom - 4, Math.max(1, x(next) - x(t)), 4);
      }
    }
    g.setLineDash([3, 3]);
    for (const mk of state.marks) {
      if (mk.t < start) continue;
      g.strokeStyle = mk.kind === 'bad' ? '#f85149' : mk.kind === 'good' ? '#3fb950' : '#58a6ff';
      g.beginPath(); g.moveTo(Math.round(x(mk.t)) + 0.5, top); g.lineTo(Math.round(x(mk.t)) + 0.5, h - bottom); g.stroke();
    }
    g.setLineDash([]);
    g.lineWidth = 1.6;
    for (const s of series) {
      g.strokeStyle = s.color;
      if (s.dash) g.setLineDash(s.dash);
      g.beginPath();
      let pen = false;
      for (const [t, v] of s.points) {
        if (t < start || v === null) { pen = false; continue; }
        if (pen) g.lineTo(x(t), y(v)); else { g.moveTo(x(t), y(v)); pen = true; }
      }
      g.stroke();
      g.setLineDash([]);
    }
    canvas.dataset.max = String(max);
    canvas.dataset.points = String(series.reduce((n, s) => n + s.points.length, 0));
  }

  function legend(id, series) {
    $(id).innerHTML = series.map((s) => '<span><i style="background:' + s.color + '"></i>' + s.name + '</span>').join('');
  }

  const series = (name, color, pick, dash) => ({ name, color, dash, points: state.frames.map((f) => [f.t, pick(f)]) });

  function render() {
    const frames = state.frames;
    const last = frames[frames.length - 1];
    if (!last) return;
    const ev = state.eventId ? last.events[state.eventId] : undefined;
    const tiers = ev ? ev.tiers : [];
    $('fig-tickets').textContent = ev ? fmt(tiers.reduce((n, t) => n + t.remaining, 0)) : '–';
    $('fig-sale').textContent = ev ? ev.sale.replace('_', ' ') : 'no event';
    $('fig-ready').textContent = last.queue ? fmt(last.queue.ready) : '?';
    $('fig-unacked').textContent = last.queue && last.queue.unacked !== null ? fmt(last.queue.unacked) : '?';
    $('fig-drain').textContent = fmt(last.drainRate, 1);
    $('fig-admitted').textContent = fmt(last.admissions['202'], 1);
    const wk = $('fig-worker');
    wk.textContent = last.workerUp ? 'up' : 'down';
    wk.className = 'badge ' + (last.workerUp ? 'up' : 'down');
    $('fig-health').innerHTML = [['redis', 'Redis'], ['postgres', 'Postgres'], ['broker', 'broker']]
      .map(([k, n]) => '<span class="badge ' + (last.health[k] ? 'up' : 'down') + '">' + n + '</span>').join('');

    const tierSeries = tiers.map((t, i) => series(t.name, COLORS[i % COLORS.length], (f) => {
      const e = f.events[state.eventId];
      const tt = e && e.tiers.find((x) => x.name === t.name);
      return tt ? tt.remaining : null;
    }));
    draw($('chart-tickets'), tierSeries); legend('legend-tickets', tierSeries);

    const outcomes = [['202', '#3fb950'], ['409 sold out', '#d29922'], ['409 limit', '#bc8cff'], ['429', '#39c5cf'], ['503', '#f85149']];
    const adm = outcomes.map(([k, c]) => series(k, c, (f) => f.admissions[k]));
    draw($('chart-admissions'), adm); legend('legend-admissions', adm);

    const queue = [
      series('ready', '#58a6ff', (f) => (f.queue ? f.queue.ready : null)),
      series('unacked', '#d29922', (f) => (f.queue ? f.queue.unacked : null)),
      series('drained / s', '#3fb950', (f) => f.drainRate, [4, 3]),
    ];
    draw($('chart-queue'), queue, { band: frames.map((f) => [f.t, f.workerUp]) });
    legend('legend-queue', queue.concat([{ name: 'worker up (strip)', color: 'rgba(63,185,80,.8)' }]));
    $('chart-queue').dataset.ready = last.queue ? String(last.queue.ready) : '';

    const names = [...new Set(frames.flatMap((f) => Object.keys(f.replicas)))].sort();
    const reps = names.map((n, i) => series(n, COLORS[i % COLORS.length], (f) => (n in f.replicas ? f.replicas[n] : null)));
    draw($('chart-replicas'), reps); legend('legend-replicas', reps);

    const lat = [
      series('read p50', '#58a6ff', (f) => f.latencyMs.read.p50),
      series('read p99', '#58a6ff', (f) => f.latencyMs.read.p99, [4, 3]),
      series('admission p50', '#3fb950', (f) => f.latencyMs.admission.p50),
      series('admission p99', '#3fb950', (f) => f.latencyMs.admission.p99, [4, 3]),
    ];
    draw($('chart-latency'), lat); legend('legend-latency', lat);

    $('timeline').innerHTML = state.marks.slice().reverse().map((m) =>
      '<li class="' + m.kind + '"><time>' + new Date(m.t).toLocaleTimeString('en-GB') + '</time>' + m.text + '</li>').join('');
  }

  async function pickEvent() {
    const asked = new URLSearchParams(location.search).get('event');
    if (asked) return asked;
    try {
      const { events } = await (await fetch('/events')).json();
      const now = Date.now();
      const open = events.find((e) => Date.parse(e.saleOpensAt) <= now && (!e.saleClosesAt || Date.parse(e.saleClosesAt) > now));
      return (open || events[0] || {}).id || null;
    } catch { return null; }
  }

  async function main() {
    state.eventId = await pickEvent();
    $('fig-event').textContent = state.eventId ? state.eventId.slice(0, 8) : 'none';
    const es = new EventSource('/dashboard/stream' + (state.eventId ? '?eventId=' + encodeURIComponent(state.eventId) : ''));
    es.addEventListener('history', (e) => {
      const h = JSON.parse(e.data);
      // A reconnect (perhaps to another replica) keeps what the page drew before that replica's history begins.
      const first = h.frames.length ? h.frames[0].t : Infinity;
      state.frames = state.frames.filter((f) => f.t < first).concat(h.frames);
      state.marks = state.marks.filter((m) => m.t < first).concat(h.marks);
      state.connected = true;
      $('conn').textContent = 'live from ' + h.instance;
      render();
    });
    es.addEventListener('frame', (e) => {
      const u = JSON.parse(e.data);
      state.frames.push(u.frame);
      const cut = u.frame.t - WINDOW_MS;
      while (state.frames.length && state.frames[0].t < cut) state.frames.shift();
      state.marks.push(...u.marks);
      render();
    });
    es.onerror = () => { state.connected = false; $('conn').textContent = 'reconnecting…'; };
    window.addEventListener('resize', render);
  }
  main();
})();
</script>
</body>
</html>
`;
