/* otreg explorer: draws the exact hKR solution embedded in this page (no network, no library).
 *
 * Data (JSON in #otreg-data, written by otreg.plot.explore): samples (positives first), the
 * drawing plane, and for every (margin, lambda) of the grid the path row, the potential's sample
 * values f and the plan's nonzero entries.  The potential between the samples is the McShane
 * extension F(x) = min_k (f_k + |x - s_k|), the formula of HKRResult.extension() (see
 * docs/mathematics.md, section 6), evaluated here on a grid of the plane.
 */
(function () {
  'use strict';

  // ------------------------------------------------------------------ data
  const D = JSON.parse(document.getElementById('otreg-data').textContent);
  const N = D.n + D.m, DIM = D.dim, G = D.grid;
  const L = D.lams.length, M = D.margins.length;
  const [X0, X1, Y0, Y1] = D.box;
  const IndexArray = D.index_type === 'u2' ? Uint16Array : Uint32Array;

  function bytes(b64) {
    const bin = atob(b64), out = new Uint8Array(bin.length);
    for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
    return out.buffer;
  }
  const f64 = (s) => new Float64Array(bytes(s));

  const S = f64(D.samples);          // (N, DIM) row-major
  const XY = f64(D.xy);              // (N, 2) display coordinates
  const NET = D.network ? {
    grid: new Float32Array(bytes(D.network.grid)), f: f64(D.network.f),
  } : null;

  // grid nodes lifted to R^DIM: node (r, c) = center + u_c basis[:, 0] + v_r basis[:, 1]
  const GU = new Float64Array(G), GV = new Float64Array(G);
  for (let i = 0; i < G; i++) {
    GU[i] = i === G - 1 ? X1 : X0 + i * ((X1 - X0) / (G - 1));
    GV[i] = i === G - 1 ? Y1 : Y0 + i * ((Y1 - Y0) / (G - 1));
  }
  const LIFT = new Float64Array(G * G * DIM);
  for (let r = 0; r < G; r++) {
    for (let c = 0; c < G; c++) {
      for (let k = 0; k < DIM; k++) {
        LIFT[(r * G + c) * DIM + k] = D.center[k] + (GU[c] * D.basis[k][0] + GV[r] * D.basis[k][1]);
      }
    }
  }

  const cache = new Map();
  function solveAt(im, il) {
    const key = im * L + il;
    let s = cache.get(key);
    if (!s) {
      const e = D.solves[im][il];
      s = { row: e, f: f64(e.f), pi: new IndexArray(bytes(e.plan_i)),
            pj: new IndexArray(bytes(e.plan_j)), pw: f64(e.plan_w), grid: null, range: null };
      cache.set(key, s);
    }
    return s;
  }

  // ------------------------------------------------------------------ the extension
  function range(vals) {
    let lo = Infinity, hi = -Infinity;
    for (let i = 0; i < vals.length; i++) { const v = vals[i]; if (v < lo) lo = v; if (v > hi) hi = v; }
    return [lo, hi];
  }
  /** Value and gradient of F at one point of R^DIM: the compiled kernel's loop, McShane
   * branch, including its rule at a sample lying on a transport ray (tie -> the ray). */
  function extension(x, f) {
    let lo = Infinity, iLo = 0, rLo = 0;
    for (let s = 0; s < N; s++) {
      let r = 0;
      for (let c = 0; c < DIM; c++) { const t = x[c] - S[s * DIM + c]; r += t * t; }
      r = Math.sqrt(r);
      const v = f[s] + r;
      if (v < lo) { lo = v; iLo = s; rLo = r; }
      else if (rLo === 0 && r > 0 && v - lo <= 1e-12 * (Math.abs(v) + r)) { iLo = s; rLo = r; }
    }
    const g = new Float64Array(DIM);
    if (rLo > 0) for (let c = 0; c < DIM; c++) g[c] = (x[c] - S[iLo * DIM + c]) / rLo;
    return { f: lo, grad: g };
  }

  // Samples binned in cells of the plane.  A grid node x lies on the plane, so |x - s| is at
  // least the plane distance from x to the cell of s: a cell whose smallest f plus that distance
  // cannot beat the best value found is skipped (exact: only terms >= the minimum are left out).
  const PU = new Float64Array(N), PV = new Float64Array(N);
  for (let s = 0; s < N; s++) {
    let u = 0, v = 0;
    for (let k = 0; k < DIM; k++) {
      const t = S[s * DIM + k] - D.center[k];
      u += t * D.basis[k][0]; v += t * D.basis[k][1];
    }
    PU[s] = u; PV[s] = v;
  }
  const CELLS = (() => {
    const K = Math.max(1, Math.min(64, Math.round(Math.sqrt(N / 1.5))));
    const [u0, u1] = range(PU), [v0, v1] = range(PV);
    const cu = (u1 - u0) / K || 1, cv = (v1 - v0) / K || 1, cell = new Int32Array(N);
    const count = new Int32Array(K * K + 1);
    for (let s = 0; s < N; s++) {
      const i = Math.min(K - 1, Math.floor((PU[s] - u0) / cu)), j = Math.min(K - 1, Math.floor((PV[s] - v0) / cv));
      cell[s] = j * K + i; count[cell[s] + 1] += 1;
    }
    for (let c = 0; c < K * K; c++) count[c + 1] += count[c];
    const items = new Int32Array(N), fill = count.slice(0, K * K);
    for (let s = 0; s < N; s++) items[fill[cell[s]]++] = s;
    const box = new Float64Array(4 * K * K).fill(NaN);
    for (let c = 0; c < K * K; c++) {
      if (count[c + 1] === count[c]) continue;
      let a = Infinity, b = -Infinity, e = Infinity, h = -Infinity;
      for (let t = count[c]; t < count[c + 1]; t++) {
        const q = items[t];
        a = Math.min(a, PU[q]); b = Math.max(b, PU[q]); e = Math.min(e, PV[q]); h = Math.max(h, PV[q]);
      }
      box.set([a, b, e, h], 4 * c);
    }
    const used = [];
    for (let c = 0; c < K * K; c++) if (count[c + 1] > count[c]) used.push(c);
    return { start: count, items: items, box: box, used: used };
  })();

  /** F on every grid node (values only: the inner loop of the drawing). */
  function gridValues(f) {
    const { start, items, box } = CELLS;
    const minF = new Map(CELLS.used.map((c) => {
      let m = Infinity;
      for (let t = start[c]; t < start[c + 1]; t++) m = Math.min(m, f[items[t]]);
      return [c, m];
    }));
    const order = CELLS.used.slice().sort((a, b) => minF.get(a) - minF.get(b));
    const cmin = Float64Array.from(order, (c) => minF.get(c));
    const out = new Float64Array(G * G);
    let arg = 0;
    for (let q = 0; q < G * G; q++) {
      const u = GU[q % G], v = GV[Math.floor(q / G)], base = q * DIM;
      const node = (s) => {
        let r = 0;
        for (let c = 0; c < DIM; c++) { const t = LIFT[base + c] - S[s * DIM + c]; r += t * t; }
        return f[s] + Math.sqrt(r);
      };
      let lo = node(arg);  // the previous node's minimiser: a close upper bound
      for (let k = 0; k < order.length; k++) {
        if (cmin[k] >= lo) break;  // every remaining cell has f >= lo
        const c = order[k], b = 4 * c;
        const du = u < box[b] ? box[b] - u : (u > box[b + 1] ? u - box[b + 1] : 0);
        const dv = v < box[b + 2] ? box[b + 2] - v : (v > box[b + 3] ? v - box[b + 3] : 0);
        if (cmin[k] + Math.sqrt(du * du + dv * dv) >= lo) continue;
        for (let t = start[c]; t < start[c + 1]; t++) {
          const s = items[t], val = node(s);
          if (val < lo) { lo = val; arg = s; }
        }
      }
      out[q] = lo;
    }
    return out;
  }



  // ------------------------------------------------------------------ state and DOM
  const $ = (id) => document.getElementById(id);
  const state = { il: D.start.lam, im: D.start.margin, sel: -1, plan: true, levels: true,
                  heat: true, redraws: 0, lastRedrawMs: NaN, massDrawn: NaN, linksDrawn: 0 };
  const fmt = (v, k = 6) => (Number.isFinite(v) ? Number(v.toPrecision(k)).toString() : String(v));
  const lamText = (v) => (v === 0 ? '0' : fmt(v, 4));

  function toPx(cv, x, y) {
    return [(x - X0) / (X1 - X0) * cv.width, cv.height - (y - Y0) / (Y1 - Y0) * cv.height];
  }
  /** Display coordinates of a point of R^DIM (its projection on the plane). */
  function project(x) {
    let u = 0, v = 0;
    for (let k = 0; k < DIM; k++) {
      const t = x[k] - D.center[k];
      u += t * D.basis[k][0]; v += t * D.basis[k][1];
    }
    return [u, v];
  }

  // ------------------------------------------------------------------ colour and contours
  const STOPS = [[-1, [33, 102, 172]], [-0.5, [103, 169, 207]], [0, [247, 247, 247]],
                 [0.5, [239, 138, 98]], [1, [178, 24, 43]]];
  function colour(t) {
    t = Math.max(-1, Math.min(1, t));
    for (let k = 1; k < STOPS.length; k++) {
      if (t <= STOPS[k][0]) {
        const [t0, a] = STOPS[k - 1], [t1, b] = STOPS[k], w = (t - t0) / (t1 - t0);
        return [a[0] + w * (b[0] - a[0]), a[1] + w * (b[1] - a[1]), a[2] + w * (b[2] - a[2])];
      }
    }
    return STOPS[STOPS.length - 1][1];
  }

  const LUT = Array.from({ length: 512 }, (_, i) => colour(i / 255.5 - 1));
  const heatCanvas = document.createElement('canvas');
  heatCanvas.width = G; heatCanvas.height = G;
  function drawHeat(ctx, vals, scale) {
    const hctx = heatCanvas.getContext('2d'), img = hctx.createImageData(G, G);
    for (let r = 0; r < G; r++) {
      for (let c = 0; c < G; c++) {
        const t = vals[r * G + c] / scale, i = Math.round((Math.max(-1, Math.min(1, t)) + 1) * 255.5 - 0.5);
        const rgb = LUT[i], p = ((G - 1 - r) * G + c) * 4;
        img.data[p] = rgb[0]; img.data[p + 1] = rgb[1]; img.data[p + 2] = rgb[2]; img.data[p + 3] = 255;
      }
    }
    hctx.putImageData(img, 0, 0);
    const W = ctx.canvas.width, H = ctx.canvas.height, hx = W / (2 * (G - 1)), hy = H / (2 * (G - 1));
    ctx.imageSmoothingEnabled = true;
    ctx.drawImage(heatCanvas, -hx, -hy, W + 2 * hx, H + 2 * hy);   // node centres on the grid
  }

  /** Marching squares: the segments of {F = level} for every level of ``levels``, added to the
   * current path in canvas pixels. */
  function contour(ctx, vals, levels) {
    const W = ctx.canvas.width, H = ctx.canvas.height, sx = W / (G - 1), sy = H / (G - 1);
    const px = new Float64Array(8);
    for (let r = 0; r < G - 1; r++) {
      for (let c = 0; c < G - 1; c++) {
        const a = vals[r * G + c], b = vals[r * G + c + 1];
        const e = vals[(r + 1) * G + c + 1], d = vals[(r + 1) * G + c];
        const lo = Math.min(a, b, e, d), hi = Math.max(a, b, e, d);
        for (const level of levels) {
          if (level < lo || level > hi) continue;
          let k = 0;
          const cx = [c, c + 1, c + 1, c, c], cy = [r, r, r + 1, r + 1, r], v = [a, b, e, d, a];
          for (let j = 0; j < 4; j++) {
            if ((v[j] < level) !== (v[j + 1] < level)) {
              const w = (level - v[j]) / (v[j + 1] - v[j]);
              px[k++] = (cx[j] + w * (cx[j + 1] - cx[j])) * sx;
              px[k++] = H - (cy[j] + w * (cy[j + 1] - cy[j])) * sy;
            }
          }
          for (let j = 0; j + 3 < k; j += 4) { ctx.moveTo(px[j], px[j + 1]); ctx.lineTo(px[j + 2], px[j + 3]); }
        }
      }
    }
  }

  function niceStep(span, target) {
    const raw = span / target, p = Math.pow(10, Math.floor(Math.log10(raw))), m = raw / p;
    return p * (m < 1.5 ? 1 : m < 3.5 ? 2 : m < 7.5 ? 5 : 10);
  }

  function drawLevels(ctx, vals, margin) {
    const [lo, hi] = range(vals);
    if (!(hi > lo)) return;
    const step = niceStep(hi - lo, 12);
    const levels = [];
    for (let k = Math.ceil(lo / step); k <= Math.floor(hi / step); k++) if (k !== 0) levels.push(k * step);
    ctx.beginPath(); contour(ctx, vals, levels);
    ctx.strokeStyle = 'rgba(40,40,40,0.45)'; ctx.lineWidth = 0.8; ctx.setLineDash([]); ctx.stroke();
    ctx.beginPath(); contour(ctx, vals, [-margin, margin]);
    ctx.strokeStyle = '#1a7f37'; ctx.lineWidth = 1.6; ctx.setLineDash([6, 4]); ctx.stroke();
    ctx.beginPath(); contour(ctx, vals, [0]);
    ctx.strokeStyle = '#000'; ctx.lineWidth = 2.6; ctx.setLineDash([]); ctx.stroke();
  }

  // ------------------------------------------------------------------ plan and points
  function dist(i, j) {
    let r = 0;
    for (let c = 0; c < DIM; c++) { const t = S[i * DIM + c] - S[j * DIM + c]; r += t * t; }
    return Math.sqrt(r);
  }

  /** The plan's links, batched by colour and width; returns the total mass drawn. */
  function drawPlan(ctx, sol, margin) {
    const K = sol.pw.length;
    let wmax = 0, total = 0;
    for (let k = 0; k < K; k++) { wmax = Math.max(wmax, sol.pw[k]); total += sol.pw[k]; }
    const BUCKETS = 5, paths = [];
    for (let b = 0; b < 2 * BUCKETS; b++) paths.push([]);
    for (let k = 0; k < K; k++) {
      const i = sol.pi[k], j = D.n + sol.pj[k];
      const b = Math.min(BUCKETS - 1, Math.floor(BUCKETS * sol.pw[k] / wmax));
      paths[(dist(i, j) < 2 * margin ? BUCKETS : 0) + b].push(i, j);
    }
    for (let b = 0; b < 2 * BUCKETS; b++) {
      const w = ((b % BUCKETS) + 1) / BUCKETS;
      ctx.beginPath();
      for (let k = 0; k < paths[b].length; k += 2) {
        const p = toPx(ctx.canvas, XY[2 * paths[b][k]], XY[2 * paths[b][k] + 1]);
        const q = toPx(ctx.canvas, XY[2 * paths[b][k + 1]], XY[2 * paths[b][k + 1] + 1]);
        ctx.moveTo(p[0], p[1]); ctx.lineTo(q[0], q[1]);
      }
      ctx.strokeStyle = b >= BUCKETS ? `rgba(230,126,0,${0.3 + 0.6 * w})`
                                     : `rgba(50,50,50,${0.08 + 0.4 * w})`;
      ctx.lineWidth = 0.4 + 1.8 * w; ctx.setLineDash([]); ctx.stroke();
    }
    return { total: total, links: K };
  }

  let pointsLayer = null;
  function drawPoints(ctx) {
    if (!pointsLayer) {
      pointsLayer = document.createElement('canvas');
      pointsLayer.width = ctx.canvas.width; pointsLayer.height = ctx.canvas.height;
      paintPoints(pointsLayer.getContext('2d'));
    }
    ctx.drawImage(pointsLayer, 0, 0);
  }
  function paintPoints(ctx) {
    for (const [from, to, col] of [[0, D.n, '#d62728'], [D.n, N, '#1f77b4']]) {
      ctx.beginPath();
      for (let i = from; i < to; i++) {
        const p = toPx(ctx.canvas, XY[2 * i], XY[2 * i + 1]);
        ctx.moveTo(p[0] + 2.4, p[1]); ctx.arc(p[0], p[1], 2.4, 0, 2 * Math.PI);
      }
      ctx.fillStyle = col; ctx.fill();
    }
  }

  function drawArrow(ctx, p, q) {
    const dx = q[0] - p[0], dy = q[1] - p[1], len = Math.hypot(dx, dy);
    ctx.beginPath(); ctx.moveTo(p[0], p[1]); ctx.lineTo(q[0], q[1]);
    if (len > 4) {
      const ux = dx / len, uy = dy / len;
      ctx.moveTo(q[0], q[1]); ctx.lineTo(q[0] - 8 * ux + 4 * uy, q[1] - 8 * uy - 4 * ux);
      ctx.moveTo(q[0], q[1]); ctx.lineTo(q[0] - 8 * ux - 4 * uy, q[1] - 8 * uy + 4 * ux);
    }
    ctx.strokeStyle = '#000'; ctx.lineWidth = 2; ctx.setLineDash([]); ctx.stroke();
  }

  function drawSelection(ctx, info) {
    if (!info) return;
    const p = toPx(ctx.canvas, XY[2 * info.index], XY[2 * info.index + 1]);
    const e = project(info.step);
    drawArrow(ctx, p, toPx(ctx.canvas, e[0], e[1]));
    ctx.beginPath(); ctx.arc(p[0], p[1], 7, 0, 2 * Math.PI);
    ctx.strokeStyle = '#000'; ctx.lineWidth = 2; ctx.stroke();
  }

  // ------------------------------------------------------------------ inspection
  function inspect(index, sol) {
    const x = S.subarray(index * DIM, (index + 1) * DIM), y = index < D.n ? 1 : -1;
    const ext = extension(x, sol.f), fx = sol.f[index];
    const step = new Float64Array(DIM);
    for (let c = 0; c < DIM; c++) step[c] = x[c] - fx * ext.grad[c];
    let gn = 0;
    for (let c = 0; c < DIM; c++) gn += ext.grad[c] * ext.grad[c];
    return { index: index, label: y, f: fx, fExt: ext.f, radius: Math.max(y * fx, 0),
             grad: Array.from(ext.grad), step: Array.from(step), stepLength: Math.abs(fx) * Math.sqrt(gn),
             fAtStep: extension(step, sol.f).f, net: NET ? NET.f[index] : null };
  }

  function showInspect(info) {
    const box = $('inspect');
    if (!info) {
      box.innerHTML = '<p class="hint">Click a point to inspect it.</p>';
      delete box.dataset.index; return;
    }
    const cls = info.label > 0 ? 'positive (y = +1)' : 'negative (y = \u22121)';
    const num = info.index < D.n ? info.index : info.index - D.n;
    const ok = info.label * info.f > 0;
    box.innerHTML =
      `<p>point <b>${cls.split(' ')[0]} #${num}</b>, ${cls.slice(cls.indexOf('('))}</p>` +
      `<p>f(x) = <b>${fmt(info.f, 10)}</b> &mdash; ${ok ? 'correctly classified' : 'misclassified'}</p>` +
      `<p>certified radius max(y f(x), 0) = <b>${fmt(info.radius, 10)}</b></p>` +
      `<p>adversarial step x &minus; f(x) &nabla;f(x): length <b>${fmt(info.stepLength, 6)}</b>, ` +
      `f there = <b>${fmt(info.fAtStep, 4)}</b></p>` +
      (info.net !== null ? `<p>network f(x) = <b>${fmt(info.net, 6)}</b></p>` : '');
    Object.assign(box.dataset, { index: info.index, f: String(info.f), radius: String(info.radius),
                                 step: JSON.stringify(info.step), stepLength: String(info.stepLength),
                                 fAtStep: String(info.fAtStep) });
  }

  function nearest(cv, px, py) {
    let best = -1, bd = 144;  // within 12 pixels
    for (let i = 0; i < N; i++) {
      const p = toPx(cv, XY[2 * i], XY[2 * i + 1]), d2 = (p[0] - px) ** 2 + (p[1] - py) ** 2;
      if (d2 < bd) { bd = d2; best = i; }
    }
    return best;
  }

  // ------------------------------------------------------------------ the lambda axis
  const POS = D.lams.filter((v) => v > 0);
  const LOG_MIN = POS.length ? Math.log10(Math.min(...POS)) : 0;
  const LOG_MAX = POS.length ? Math.log10(Math.max(...POS)) : 1;
  const HAS_ZERO = D.lams[0] === 0;
  const ZERO_AT = LOG_MIN - Math.max(0.6, (LOG_MAX - LOG_MIN) / 12);   // 0 drawn left of a break
  const axisLo = HAS_ZERO ? ZERO_AT : LOG_MIN, axisHi = Math.max(LOG_MAX, axisLo + 1e-9);
  const lamPos = (v) => (v > 0 ? Math.log10(v) : ZERO_AT);

  function chart(cv, title, series, ylo, yhi) {
    const ctx = cv.getContext('2d'), W = cv.width, H = cv.height;
    const l = 44, r = 10, t = 20, b = 30;
    const X = (v) => l + (lamPos(v) - axisLo) / (axisHi - axisLo || 1) * (W - l - r);
    const Y = (v) => H - b - (v - ylo) / (yhi - ylo || 1) * (H - t - b);
    ctx.clearRect(0, 0, W, H);
    ctx.font = '11px sans-serif'; ctx.fillStyle = '#222'; ctx.textAlign = 'left';
    ctx.fillText(title, l, 13);
    ctx.strokeStyle = '#bbb'; ctx.lineWidth = 1;
    ctx.strokeRect(l, t, W - l - r, H - t - b);
    ctx.textAlign = 'right'; ctx.fillStyle = '#555';
    for (let k = 0; k <= 4; k++) {
      const v = ylo + (yhi - ylo) * k / 4;
      ctx.fillText(fmt(v, 3), l - 4, Y(v) + 3);
    }
    ctx.textAlign = 'center';
    for (let e = Math.ceil(LOG_MIN); e <= Math.floor(LOG_MAX); e++) {
      ctx.fillText(e === 0 ? '1' : `1e${e}`, X(Math.pow(10, e)), H - b + 14);
    }
    if (HAS_ZERO) ctx.fillText('0', X(0), H - b + 14);
    ctx.fillText('\u03bb', W - r - 6, H - 4);
    ctx.beginPath();  // the path's knots: one exact solve at each
    for (const v of D.lams) { ctx.moveTo(X(v), H - b); ctx.lineTo(X(v), H - b - 4); }
    ctx.strokeStyle = '#888'; ctx.stroke();
    for (const s of series) {
      ctx.beginPath();
      D.lams.forEach((v, k) => (k ? ctx.lineTo(X(v), Y(s.values[k])) : ctx.moveTo(X(v), Y(s.values[k]))));
      ctx.strokeStyle = s.colour; ctx.lineWidth = s.width || 1.5; ctx.setLineDash(s.dash || []); ctx.stroke();
      ctx.setLineDash([]);
    }
    const xc = X(D.lams[state.il]);
    ctx.beginPath(); ctx.moveTo(xc, t); ctx.lineTo(xc, H - b);
    ctx.strokeStyle = '#e67e00'; ctx.lineWidth = 2; ctx.stroke();
    let lx = l + 6;
    ctx.textAlign = 'left';
    for (const s of series) {
      ctx.fillStyle = s.colour; ctx.fillRect(lx, t + 5, 10, 3);
      ctx.fillStyle = '#333'; ctx.fillText(s.name, lx + 13, t + 11);
      lx += 18 + ctx.measureText(s.name).width;
    }
  }

  const CERT_COLOURS = ['#2ca02c', '#9467bd', '#8c564b', '#17becf', '#bcbd22', '#7f7f7f'];
  function drawCharts() {
    const rows = D.solves[state.im];
    const series = [{ name: 'clean', colour: '#000', width: 2, values: rows.map((r) => r.acc_clean) }];
    D.radii.forEach((eps, k) => series.push({
      name: `cert. \u03b5=${fmt(eps, 3)}`, colour: CERT_COLOURS[k % CERT_COLOURS.length],
      values: rows.map((r) => r.acc_cert[k]) }));
    let lo = 1;
    for (const s of series) for (const v of s.values) lo = Math.min(lo, v);
    chart($('acc'), `accuracy against \u03bb (margin ${fmt(D.margins[state.im], 4)})`, series,
          Math.max(0, Math.floor(lo * 10) / 10 - 0.05), 1);
    const mass = rows.map((r) => r.mass), [mlo, mhi] = range(mass);
    chart($('mass'), 'mass moved against \u03bb', [{ name: 'mass moved', colour: '#e67e00', width: 2, values: mass }],
          Math.min(1, mlo), Math.max(mhi, mlo + 1e-9) * 1.02);
  }

  function drawTicks(cv, values, current, text, decades) {
    const ctx = cv.getContext('2d'), W = cv.width, H = cv.height, K = values.length;
    const thumb = 8, X = (k) => thumb + (K > 1 ? k / (K - 1) : 0.5) * (W - 2 * thumb);
    ctx.clearRect(0, 0, W, H);
    ctx.beginPath();
    for (let k = 0; k < K; k++) { ctx.moveTo(X(k), 0); ctx.lineTo(X(k), 5); }
    ctx.strokeStyle = '#777'; ctx.lineWidth = 1; ctx.stroke();
    ctx.font = '10px sans-serif'; ctx.fillStyle = '#555'; ctx.textAlign = 'center';
    const labels = [[0, text(values[0])], [K - 1, text(values[K - 1])]];
    if (decades) {  // decades between the knots, placed by interpolating log(lambda)
      for (let k = 0; k + 1 < K; k++) {
        if (!(values[k] > 0)) continue;
        const a = Math.log10(values[k]), b = Math.log10(values[k + 1]);
        for (let e = Math.ceil(a); e <= b; e++) {
          const pos = k + (e - a) / (b - a);
          if (pos > 1e-9 && pos < K - 1 - 1e-9 && e > a - 1e-9) labels.push([pos, e === 0 ? '1' : `1e${e}`]);
        }
      }
    }
    let last = -1e9;
    labels.sort((u, w) => u[0] - w[0]).forEach(([k, label]) => {
      if (X(k) - last > 26 && W - X(k) > 20 || k === K - 1) { ctx.fillText(label, X(k), 17); last = X(k); }
    });
    ctx.beginPath(); ctx.moveTo(X(current), 0); ctx.lineTo(X(current), 7);
    ctx.strokeStyle = '#e67e00'; ctx.lineWidth = 3; ctx.stroke();
  }

  // ------------------------------------------------------------------ the stats table
  function drawStats(sol) {
    const r = sol.row, lam = D.lams[state.il], m = D.margins[state.im];
    const rows = [['\u03bb', lamText(lam)], ['margin m', fmt(m, 6)], ['min L (exact)', fmt(r.loss, 10)],
                  ['W1 (\u03bb = 0)', fmt(D.w1, 10)],
                  ['mass moved (drawn links)', fmt(state.massDrawn, 12)],
                  ['extra mass (mass \u2212 1)', fmt(state.massDrawn - 1, 6)], ['plan links', String(state.linksDrawn)],
                  ['duality gap (relative)', r.gap.toExponential(1)], ['clean accuracy', fmt(r.acc_clean, 4)]];
    D.radii.forEach((eps, k) => rows.push([`certified accuracy, \u03b5 = ${fmt(eps, 3)}`, fmt(r.acc_cert[k], 4)]));
    rows.push(['mean certified radius', fmt(r.mean_radius, 5)], ['redraw', `${state.lastRedrawMs.toFixed(1)} ms`]);
    const body = $('stats').tBodies[0];
    body.innerHTML = rows.map(([k, v]) => `<tr><td>${k}</td><td>${v}</td></tr>`).join('');
    Object.assign($('stats').dataset, { lam: String(lam), margin: String(m), mass: String(state.massDrawn),
                                        loss: String(r.loss), links: String(state.linksDrawn) });
  }

  // ------------------------------------------------------------------ redraw
  function drawPanel(cv, vals, scale, sol, info, plan, margin) {
    const ctx = cv.getContext('2d'), m = margin === undefined ? D.margins[state.im] : margin;
    ctx.clearRect(0, 0, cv.width, cv.height);
    if (state.heat) drawHeat(ctx, vals, scale); else { ctx.fillStyle = '#fff'; ctx.fillRect(0, 0, cv.width, cv.height); }
    if (state.levels) drawLevels(ctx, vals, m);
    const drawn = plan && state.plan ? drawPlan(ctx, sol, m) : null;
    drawPoints(ctx);
    drawSelection(ctx, info);
    return drawn;
  }

  function redraw(since) {
    const t0 = since === undefined ? performance.now() : since;
    const sol = solveAt(state.im, state.il);
    if (!sol.grid) { sol.grid = gridValues(sol.f); sol.range = range(sol.grid); }
    const scale = Math.max(Math.abs(sol.range[0]), Math.abs(sol.range[1]), 1e-12);
    const info = state.sel >= 0 ? inspect(state.sel, sol) : null;
    const drawn = drawPanel($('main'), sol.grid, scale, sol, info, true);
    if (drawn) { state.massDrawn = drawn.total; state.linksDrawn = drawn.links; }
    else { state.massDrawn = sol.pw.reduce((a, b) => a + b, 0); state.linksDrawn = 0; }
    if (NET) {
      if (!NET.layer) {
        NET.layer = document.createElement('canvas');
        NET.layer.width = $('net').width; NET.layer.height = $('net').height;
        const r = range(NET.grid);
        drawPanel(NET.layer, NET.grid, Math.max(Math.abs(r[0]), Math.abs(r[1]), 1e-12), sol, null, false,
                  D.network.margin);
      }
      const ctx = $('net').getContext('2d');
      ctx.drawImage(NET.layer, 0, 0);
      drawSelection(ctx, info);
    }
    $('lam-value').textContent = `\u03bb = ${lamText(D.lams[state.il])}  (${state.il + 1}/${L})`;
    $('margin-value').textContent = `m = ${fmt(D.margins[state.im], 6)}  (${state.im + 1}/${M})`;
    drawTicks($('lam-ticks'), D.lams, state.il, lamText, true);
    drawTicks($('margin-ticks'), D.margins, state.im, (v) => fmt(v, 3), false);
    drawCharts();
    showInspect(info);
    state.redraws += 1;
    state.lastRedrawMs = performance.now() - t0;
    drawStats(sol);
    return state.lastRedrawMs;
  }

  // ------------------------------------------------------------------ wiring
  function init() {
    $('subtitle').textContent = `${D.describe} \u00b7 exact solves: ${L} \u03bb \u00d7 ${M} margins` +
      (D.note ? ` \u00b7 ${D.note}` : '');
    $('about').textContent = 'Every (\u03bb, margin) position is an exact solve (otreg.hkr_transport). ' +
      'Level sets: the McShane extension min_k (f_k + |x \u2212 s_k|) of the optimal potential\'s sample values ' +
      '(the extension of HKRResult.extension()), thin lines at regular levels, bold f = 0 (the decision ' +
      'boundary), dashed f = \u00b1m. Ticks under the sliders and on the charts mark the path\'s \u03bb values. ' +
      'A click shows f(x), the certified radius max(y f(x), 0) of the 1-Lipschitz classifier and the ' +
      'adversarial step x \u2212 f(x)\u2207f(x), of length |f(x)|.';
    const lam = $('lam'), mar = $('margin');
    lam.max = String(L - 1); lam.value = String(state.il);
    mar.max = String(M - 1); mar.value = String(state.im);
    lam.addEventListener('input', (ev) => { state.il = +lam.value; redraw(ev.timeStamp); });
    mar.addEventListener('input', (ev) => { state.im = +mar.value; redraw(ev.timeStamp); });
    for (const [id, key] of [['show-plan', 'plan'], ['show-levels', 'levels'], ['show-heat', 'heat']]) {
      $(id).addEventListener('change', (ev) => {
        state[key] = ev.target.checked;
        if (NET) NET.layer = null;
        redraw();
      });
    }
    for (const id of ['main', 'net']) {
      $(id).addEventListener('click', (ev) => {
        const cv = ev.currentTarget, box = cv.getBoundingClientRect();
        const px = (ev.clientX - box.left) * cv.width / box.width, py = (ev.clientY - box.top) * cv.height / box.height;
        state.sel = nearest(cv, px, py);
        redraw(ev.timeStamp);
      });
    }
    if (NET) {
      $('net-panel').hidden = false;
      $('net-caption').textContent = `${D.network.name}: trained at \u03bb = ${lamText(D.network.lam)}, ` +
        `margin ${fmt(D.network.margin, 4)} (its own colour scale; level sets, f = 0 and f = \u00b1m as on the left)`;
    }
    redraw();
  }

  /** For scripts and tests: read what is drawn, and evaluate the page's extension. */
  window.otregExplorer = {
    data: D,
    state: () => Object.assign({}, state, { lam: D.lams[state.il], margin: D.margins[state.im] }),
    potentialAt: (points) => {
      const sol = solveAt(state.im, state.il);
      return points.map((p) => extension(Float64Array.from(p), sol.f).f);
    },
    gridNode: (r, c) => ({ point: Array.from(LIFT.subarray((r * G + c) * DIM, (r * G + c + 1) * DIM)),
                           value: solveAt(state.im, state.il).grid[r * G + c],
                           network: NET ? NET.grid[r * G + c] : null }),
    pixelOf: (i) => toPx($('main'), XY[2 * i], XY[2 * i + 1]),
    redraw: redraw,
  };
  init();
})();
