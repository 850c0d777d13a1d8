// The shared frame of the client scripts: `check(name, fn)` runs one check (fn asserts with node:assert
// and returns what the Python side should look at), `finish()` prints {name: {ok} | {error}} as JSON and
// exits 1 when any check threw. Checks run one after another, in the order written.
export const results = {};

export async function check(name, fn) {
  try {
    results[name] = { ok: (await fn()) ?? null };
  } catch (error) {
    results[name] = { error: `${error?.name ?? 'Error'}: ${error?.message ?? error}`.slice(0, 4000) };
  }
  return results[name].ok;
}

export function finish() {
  process.stdout.write(JSON.stringify(results));
  process.exitCode = Object.values(results).some((r) => 'error' in r) ? 1 : 0;
}

// A fetch that records what each request was (method, URL, headers, body) before sending it.
export function recordingFetch(log) {
  return async (input, init = {}) => {
    const url = new URL(String(input));
    const body = typeof init.body === 'string' ? init.body : init.body == null ? null : '<binary>';
    log.push({ method: init.method ?? 'GET', url: url.pathname + url.search, headers: Object.fromEntries(new Headers(init.headers)), body });
    return fetch(input, init);
  };
}
