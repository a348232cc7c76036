// bench/http_client.js — the Node.js side of bench/http.sh: C concurrent
// loops (keep-alive agent, maxSockets C) each doing N/C GETs and a
// JSON.parse of every body.  Usage: node http_client.js URL N C
const http = require('http');
const [url, n, c] = [process.argv[2], +process.argv[3], +process.argv[4]];
const agent = new http.Agent({ keepAlive: true, maxSockets: c });

function get() {
  return new Promise((resolve, reject) => {
    http.get(url, { agent }, (res) => {
      const chunks = [];
      res.on('data', (d) => chunks.push(d));
      res.on('end', () => {
        JSON.parse(Buffer.concat(chunks).toString());
        resolve(res.statusCode);
      });
    }).on('error', reject);
  });
}

async function worker(k) {
  for (let i = 0; i < k; i++) await get();
}

(async () => {
  await Promise.all(Array.from({ length: c }, () => get())); // open the connections
  const per = Math.floor(n / c);
  const t0 = process.hrtime.bigint();
  await Promise.all(Array.from({ length: c }, () => worker(per)));
  const s = Number(process.hrtime.bigint() - t0) / 1e9;
  console.log(`node: ${per * c} requests in ${s.toFixed(3)} s = ${(per * c / s).toFixed(0)} req/s`);
  agent.destroy();
})();
