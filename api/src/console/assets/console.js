// Keeps a console page current without reloading it: a page whose <body>
// names a live source (data-live) listens there, and whenever the server
// says something changed, fetches the page again and swaps in its <main>.
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
  function refresh() {
    if (fetching) {
      again = true;
      return;
    }
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
