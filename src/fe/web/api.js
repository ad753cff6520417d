// Calls to the selected product's dashboard through codis-fe (`?forward=<product>`), and the
// dialogs that report their errors and ask for confirmation.
import { $, fill, h } from './dom.js';

export class ApiError extends Error {
  constructor(status, body, url) {
    const cause =
      body && typeof body === 'object'
        ? (body.cause ?? body.Cause ?? JSON.stringify(body))
        : String(body || '');
    super(cause || `HTTP ${status}`);
    this.status = status;
    this.body = body;
    this.url = url;
  }
}

/** `path` with `:xauth` replaced and `forward=<product>` added. */
export function productUrl(ctx, path) {
  const sep = path.includes('?') ? '&' : '?';
  return `${path.replace(':xauth', ctx.xauth)}${sep}forward=${encodeURIComponent(ctx.product)}`;
}

/** One dashboard call; resolves with the parsed JSON body, rejects with ApiError. */
export async function request(ctx, method, path) {
  const url = productUrl(ctx, path);
  let res;
  try {
    res = await fetch(url, { method, headers: { accept: 'application/json' } });
  } catch (e) {
    throw new ApiError(0, `codis-fe unreachable: ${e.message}`, url);
  }
  const text = await res.text();
  let body = text;
  try {
    body = JSON.parse(text);
  } catch {
    /* not JSON: keep the text */
  }
  if (res.status !== 200) throw new ApiError(res.status, body, url);
  return body;
}

/** A path segment from user input (addresses go through unchanged apart from escaping). */
export const seg = (v) => encodeURIComponent(String(v).trim());

/**
 * Runs a mutation the user asked for: errors are shown in the error dialog, and the page refreshes
 * afterwards either way. Resolves with the body, or undefined after an error.
 */
export async function act(ctx, title, method, path) {
  try {
    return await request(ctx, method, path);
  } catch (e) {
    showError(title, e);
    return undefined;
  } finally {
    ctx.refresh();
  }
}

/** The error dialog: the cause in plain words, the full answer below it. */
export function showError(title, err) {
  const dlg = $('error-dialog');
  const status = err.status ? `HTTP ${err.status}` : 'no answer';
  fill(
    'error-body',
    h('p', { class: 'error-cause' }, err.message),
    h('p', { class: 'muted' }, `${status}${err.url ? ` · ${err.url.replace(/\?.*$/, '')}` : ''}`),
    err.body && typeof err.body === 'object'
      ? h('details', {}, h('summary', {}, 'Full answer'), h('pre', {}, JSON.stringify(err.body, null, 2)))
      : null,
  );
  fill('error-title', title);
  if (!dlg.open) dlg.showModal();
}

/**
 * A confirmation dialog; resolves true on OK. `danger` makes it red and asks the user to type
 * nothing but read twice: the button says "JUST DO IT" (Codis' wording for risky operations).
 */
export function confirmDialog({ title, body, ok = 'OK', danger = false, cancel = true }) {
  const dlg = $('confirm-dialog');
  $('confirm-cancel').hidden = !cancel;
  dlg.classList.toggle('danger', danger);
  fill('confirm-title', title);
  fill('confirm-body', body);
  const okBtn = $('confirm-ok');
  okBtn.textContent = danger ? 'JUST DO IT' : ok;
  okBtn.className = danger ? 'btn danger' : 'btn primary';
  return new Promise((resolve) => {
    const done = () => {
      dlg.removeEventListener('close', done);
      resolve(dlg.returnValue === 'ok');
    };
    dlg.returnValue = '';
    dlg.addEventListener('close', done);
    dlg.showModal();
  });
}

/** Shows a message in the dialog: used for previews that ask nothing. */
export function infoDialog(title, body) {
  return confirmDialog({ title, body, ok: 'Close', cancel: false });
}
