// The image's HEALTHCHECK: GET /healthz on the admin listener over loopback. Exit 0 when it answers 200.
// The listener's certificate is not checked: nothing is sent but the path, and only to this container's
// loopback (a wrong certificate here is no attack, and the probe must work with the operator's own CA).
import { request } from 'node:https';

const port = Number(process.env.WARDEN_ADMIN_PORT ?? 9443);
const req = request({ host: '127.0.0.1', port, path: '/healthz', method: 'GET', rejectUnauthorized: false, timeout: 2500 }, (res) => {
  res.resume();
  process.exit(res.statusCode === 200 ? 0 : 1);
});
req.on('timeout', () => req.destroy(new Error('timeout')));
req.on('error', (e) => {
  process.stderr.write(`healthcheck: ${e.message}\n`);
  process.exit(1);
});
req.end();
