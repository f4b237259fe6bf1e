// The Digital Credentials Consortium's verifier, as Learner Credential Wallet and
// VerifierPlus run it: `verifyCredential` from @digitalcredentials/verifier-core.
//
//   node dcc_verify.mjs < request.json
//
// request: {"credential": {...}, "knownDIDRegistries"?: [...], "documents"?: {url: json}}
// answer (stdout, JSON): {"result": <verifier-core's result, untouched but for Error
// objects, which become {name, message, ...}>, "network": {"fetched": [url],
// "served": [url], "refused": [url]}}; on a failure of this script itself:
// {"error": {"name", "message"}} and exit 1.
//
// The network: verifier-core loads what it needs with `fetch` (did:web documents, status
// lists, JSON-LD contexts it does not bundle, issuer registries, the Open Badges JSON
// Schema it guesses from the credential's type). Here `fetch` reaches only loopback hosts
// (127.0.0.1, ::1, localhost: the Credo under test, trusted through NODE_EXTRA_CA_CERTS
// when it speaks HTTPS); a URL given in `documents` is answered with that JSON; anything
// else is refused at once (a TypeError, as a network failure would be) and listed under
// network.refused, so a test never reaches beyond the machine and can see what the
// library would have fetched. knownDIDRegistries defaults to [] (no registry: the
// registered_issuer step is then `valid: false` with no registry unchecked).

// verifier-core and its registry client log with console.log; stdout is our answer.
for (const method of ['log', 'info', 'debug', 'warn']) {
  console[method] = (...args) => console.error(...args);
}

const LOOPBACK = new Set(['127.0.0.1', '[::1]', 'localhost']);
const network = { fetched: [], served: [], refused: [] };
let documents = {};
const realFetch = globalThis.fetch;

globalThis.fetch = async function guardedFetch(input, init) {
  const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
  if (Object.prototype.hasOwnProperty.call(documents, url)) {
    network.served.push(url);
    return new Response(JSON.stringify(documents[url]), {
      status: 200,
      headers: { 'content-type': 'application/json' },
    });
  }
  let host = null;
  try {
    host = new URL(url).hostname;
  } catch {
    // not a URL: refused below
  }
  if (host !== null && LOOPBACK.has(host)) {
    network.fetched.push(url);
    return realFetch(input, init);
  }
  network.refused.push(url);
  throw new TypeError(`dcc_verify.mjs refuses to fetch ${url}: only loopback hosts are reached`);
};

function plain(value, seen = new WeakSet()) {
  if (value instanceof Error) {
    if (seen.has(value)) return { name: value.name, message: value.message, circular: true };
    seen.add(value);
    const out = { name: value.name, message: value.message };
    for (const [key, item] of Object.entries(value)) {
      if (key !== 'response' && key !== 'request') out[key] = plain(item, seen);
    }
    if (value.cause !== undefined) out.cause = plain(value.cause, seen);
    if (Array.isArray(value.errors)) out.errors = value.errors.map((e) => plain(e, seen));
    if (typeof value.stack === 'string') out.stack = value.stack.split('\n').slice(0, 8).join('\n');
    return out;
  }
  if (Array.isArray(value)) return value.map((item) => plain(item, seen));
  if (value !== null && typeof value === 'object') {
    if (seen.has(value)) return '[circular]';
    seen.add(value);
    const out = {};
    for (const [key, item] of Object.entries(value)) out[key] = plain(item, seen);
    return out;
  }
  return value;
}

async function readStdin() {
  const chunks = [];
  for await (const chunk of process.stdin) chunks.push(chunk);
  return Buffer.concat(chunks).toString('utf8');
}

function answer(object, code = 0) {
  process.stdout.write(JSON.stringify(object) + '\n', () => process.exit(code));
}

try {
  const request = JSON.parse(await readStdin());
  if (!request || typeof request.credential !== 'object') {
    throw new TypeError('the request needs a "credential" object');
  }
  documents = request.documents ?? {};
  // Imported only now, after fetch is guarded: nothing it does at load time gets past it.
  const { verifyCredential } = await import('@digitalcredentials/verifier-core');
  const result = await verifyCredential({
    credential: request.credential,
    knownDIDRegistries: request.knownDIDRegistries ?? [],
  });
  answer({ result: plain(result), network });
} catch (error) {
  answer({ error: plain(error), network }, 1);
}
