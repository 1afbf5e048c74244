// Test wrapper around @20minutes/s3rver 5 (which verifies SigV4 signatures).
// usage: node s3rver.js DIR PORT BUCKET...
// - refuses anonymous requests (s3rver alone would serve them);
// - logs one JSON line per request on stdout, and "listening" when ready;
// - with S3RVER_TLS_CERT and S3RVER_TLS_KEY, serves https;
// - with S3RVER_STALL=<substring>, a request whose URL contains it is held
//   (never answered) so a test can kill the server in the middle of it.
const S3rver = require('@20minutes/s3rver');

const fs = require('node:fs');

const [dir, port, ...buckets] = process.argv.slice(2);
const stall = process.env.S3RVER_STALL || '';
const options = {
  address: '127.0.0.1',
  port: Number(port),
  directory: dir,
  silent: true,
  configureBuckets: buckets.map((name) => ({ name, configs: [] })),
};
// https with S3RVER_TLS_CERT / S3RVER_TLS_KEY (PEM files)
if (process.env.S3RVER_TLS_CERT && process.env.S3RVER_TLS_KEY) {
  options.cert = fs.readFileSync(process.env.S3RVER_TLS_CERT);
  options.key = fs.readFileSync(process.env.S3RVER_TLS_KEY);
}
const server = new S3rver(options);

server.middleware.unshift(async (ctx, next) => {
  const signed = ctx.get('authorization') || ctx.query['X-Amz-Signature'];
  const held = stall !== '' && ctx.url.includes(stall);
  console.log(JSON.stringify({ m: ctx.method, u: ctx.url, auth: !!signed, stall: held }));
  if (!signed) {
    ctx.status = 403;
    ctx.type = 'application/xml';
    ctx.body = '<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>AccessDenied</Code>' +
      '<Message>Anonymous access is not allowed</Message></Error>';
    return;
  }
  if (held) {
    await new Promise(() => {}); // until killed
  }
  await next();
});

server.run().then(({ address, port: p }) => console.log(`listening on ${address}:${p}`))
  .catch((e) => { console.error(e); process.exit(1); });
