// Glue between the Jupyter widgets HTML manager (embed-amd.js), this site's static files and MathJax 3.
// Loaded after require.js and before embed-amd.js on pages with widgets; added by book_ext/book_html.py, which also
// fills in the two data attributes of this script's tag.
(function () {
  var script = document.currentScript;
  // 1. Assets (icon fonts) come from the folder of the vendored embed-amd.js (data-assets, relative to this script),
  //    not from a CDN. The bundles inside embed-amd.js locate them from their RequireJS module URLs, so map every
  //    module it defines (data-modules) into that folder too.
  var assets = new URL(script.getAttribute("data-assets"), script.src).href;
  window.__jupyter_widgets_assets_path__ = assets;
  var paths = {};
  JSON.parse(script.getAttribute("data-modules")).forEach(function (id) {
    paths[id] = assets + id.replace(/[^A-Za-z0-9_-]/g, "_");
  });
  window.require.config({ paths: paths });

  // 2. The widgets typeset their labels with MathJax 2's MathJax.Hub.Queue whenever window.MathJax exists
  //    (jupyter-widgets/ipywidgets#3829); the book uses MathJax 3, which has no Hub. Provide the one call they make.
  function hub() {
    return {
      Queue: function (command) {
        var mathjax = window.MathJax, element = command && command[2];
        if (mathjax && mathjax.typesetPromise && mathjax.startup && mathjax.startup.promise) {
          mathjax.startup.promise = mathjax.startup.promise.then(function () {
            return mathjax.typesetPromise(element ? [element] : undefined);
          });
        }
      }
    };
  }
  var mathjax = window.MathJax;
  if (mathjax && mathjax.version) {  // MathJax 3 has loaded already
    mathjax.Hub = mathjax.Hub || hub();
  } else {  // not yet (it is deferred, or not on this page): its configuration object, created if need be
    mathjax = window.MathJax = mathjax || {};
    mathjax.Hub = hub();  // until MathJax replaces this object when it loads: Queue does nothing
    mathjax.startup = mathjax.startup || {};
    var ready = mathjax.startup.ready;
    mathjax.startup.ready = function () {
      if (ready) { ready(); } else { window.MathJax.startup.defaultReady(); }
      window.MathJax.Hub = window.MathJax.Hub || hub();
    };
  }
})();
