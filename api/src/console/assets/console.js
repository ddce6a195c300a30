// Keeps a console page current without reloading it: a page whose <body>
// names a live source (data-live) listens there, and whenever the server
// says something changed, fetches the page again and swaps in its <main>,
// at most once every two seconds (a busy shop changes all the time, and a
// page fetched back to back would keep the database busy for one tab).
// Without JavaScript, or without EventSource, the page still works: reload
// it by hand.
(function () {
  "use strict";
  var source = document.body.getAttribute("data-live");
  if (!source || !window.EventSource || !window.fetch) {
    return;
  }
  var fetching = false;
  var again = false;
  var last = 0;
  var waiting = null;
  var SPACING_MS = 2000;
  function refresh() {
    if (fetching) {
      again = true;
      return;
    }
    var wait = last + SPACING_MS - Date.now();
    if (wait > 0) {
      if (waiting === null) {
        waiting = setTimeout(function () {
          waiting = null;
          refresh();
        }, wait);
      }
      return;
    }
    last = Date.now();
    fetching = true;
    fetch(window.location.href, { credentials: "same-origin", redirect: "manual" })
      .then(function (response) {
        // Signed out meanwhile (a redirect to sign in): stop listening.
        if (!response.ok) {
          changes.close();
          return null;
        }
        return response.text();
      })
      .then(function (html) {
        if (html === null) {
          return;
        }
        var fresh = new DOMParser().parseFromString(html, "text/html").querySelector("main");
        var current = document.querySelector("main");
        if (fresh && current) {
          current.replaceWith(fresh);
        }
      })
      .catch(function () {})
      .then(function () {
        fetching = false;
        if (again) {
          again = false;
          refresh();
        }
      });
  }
  var changes = new EventSource(source);
  changes.addEventListener("changed", refresh);
})();
