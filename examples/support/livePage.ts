/**
 * The page `npm start` serves at `/`: it subscribes to the stream `orders` on `/live` and shows
 * the rate, the gaps the sink's `seq` numbers reveal, and the latest orders. No build step, no
 * dependency: one HTML string.
 */
export const LIVE_PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>fs-mediator · orders feed</title>
<style>
  body { font: 14px/1.4 system-ui, sans-serif; margin: 2rem; color: #222; }
  h1 { font-size: 1.2rem; }
  .stats span { display: inline-block; min-width: 11rem; }
  table { border-collapse: collapse; margin-top: 1rem; }
  td, th { padding: 2px 10px; border-bottom: 1px solid #eee; text-align: left; }
  td.n { text-align: right; font-variant-numeric: tabular-nums; }
  #state.down { color: #b00; }
</style>
</head>
<body>
<h1>fs-mediator · live orders</h1>
<p class="stats">
  <span id="state">connecting…</span>
  <span>received <b id="received">0</b></span>
  <span><b id="rate">0</b> orders/s</span>
  <span>missed (seq gaps) <b id="missed">0</b></span>
</p>
<table>
  <thead><tr><th>order</th><th>customer</th><th>tier</th><th>sku</th><th>qty</th><th>region</th><th>total</th><th>change</th></tr></thead>
  <tbody id="rows"></tbody>
</table>
<script>
  const $ = (id) => document.getElementById(id);
  let received = 0, missed = 0, lastSeq = 0, windowStart = performance.now(), windowCount = 0;
  const socket = new WebSocket(location.origin.replace(/^http/, 'ws') + '/live');
  socket.onopen = () => { $('state').textContent = 'live'; socket.send(JSON.stringify({ subscribe: 'orders' })); };
  socket.onclose = () => { $('state').textContent = 'disconnected'; $('state').className = 'down'; };
  socket.onmessage = (event) => {
    const frame = JSON.parse(event.data);
    if (frame.seq === undefined) return;
    if (lastSeq && frame.seq > lastSeq + 1) missed += frame.seq - lastSeq - 1;
    lastSeq = frame.seq;
    received++; windowCount++;
    const o = frame.data;
    const tr = document.createElement('tr');
    for (const [value, numeric] of [[o.orderId, 1], [o.customer], [o.tier], [o.sku], [o.quantity, 1], [o.region], [o.total.toFixed(2), 1], [o.position]]) {
      const td = document.createElement('td');
      td.textContent = value;
      if (numeric) td.className = 'n';
      tr.appendChild(td);
    }
    const rows = $('rows');
    rows.insertBefore(tr, rows.firstChild);
    while (rows.children.length > 20) rows.removeChild(rows.lastChild);
  };
  setInterval(() => {
    const now = performance.now();
    $('rate').textContent = Math.round((windowCount * 1000) / (now - windowStart));
    windowStart = now; windowCount = 0;
    $('received').textContent = received.toLocaleString('en-US');
    $('missed').textContent = missed.toLocaleString('en-US');
  }, 1000);
</script>
</body>
</html>
`;
