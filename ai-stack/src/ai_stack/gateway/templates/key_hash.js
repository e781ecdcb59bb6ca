// The nginx cache key of the key verifier's answer: SHA-256 of the request's raw key headers.
// Both headers, raw: the verifier's answer is a function of exactly these two values, so a
// cached answer is reused only for a request that would get the same answer, and no key is
// ever written to the cache in the clear.
var crypto = require('crypto');

function keyHash(r) {
    var apiKey = r.headersIn['X-API-Key'] || '';
    var authorization = r.headersIn['Authorization'] || '';
    if (!apiKey && !authorization) {
        return '';
    }
    return crypto.createHash('sha256').update(apiKey + '\n' + authorization).digest('hex');
}

export default {keyHash};
