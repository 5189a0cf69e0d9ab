// Client-side routes under /ui/…: the server answers every page path with
// the same index.html and this module draws the page.

const pages = [];
let render = () => {};

export function register(list, renderFn) {
  pages.push(...list);
  render = renderFn;
}

export function findPage(path) {
  return pages.find((p) => p.path === path) || null;
}

export function allPages() { return pages; }

/** Goes to `to` ("/ui/users?role=admin") without reloading. */
export function navigate(to, { replace = false } = {}) {
  if (replace) history.replaceState(null, '', to);
  else history.pushState(null, '', to);
  render(new URL(to, location.origin));
}

export function start() {
  window.addEventListener('popstate', () => render(new URL(location.href)));
  // Same-origin links into the console navigate in place.
  document.addEventListener('click', (ev) => {
    if (ev.defaultPrevented || ev.button !== 0 || ev.metaKey || ev.ctrlKey || ev.shiftKey || ev.altKey) return;
    const a = ev.target.closest('a[href]');
    if (!a || a.target || a.hasAttribute('download')) return;
    const url = new URL(a.href, location.origin);
    if (url.origin !== location.origin || !(url.pathname === '/' || url.pathname.startsWith('/ui/'))) return;
    if (url.pathname === location.pathname && url.search === location.search && url.hash) return;
    ev.preventDefault();
    navigate(url.pathname + url.search + url.hash);
  });
  render(new URL(location.href));
}
