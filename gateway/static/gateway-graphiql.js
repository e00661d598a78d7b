/*
 * Starts GraphiQL with what the gateway put in #graphiql's data-config: the example operation,
 * its variables and the headers editor's content. A served file, not an inline script, so the
 * page runs under a strict Content-Security-Policy (script-src 'self').
 */
(function () {
  "use strict";
  var root = document.getElementById("graphiql");
  var config = JSON.parse(root.getAttribute("data-config"));
  var fetcher = GraphiQL.createFetcher({ url: window.location.href.split("?")[0] });
  var plugins =
    typeof GraphiQLPluginExplorer === "undefined" ? [] : [GraphiQLPluginExplorer.explorerPlugin()];
  ReactDOM.createRoot(root).render(
    React.createElement(GraphiQL, {
      fetcher: fetcher,
      plugins: plugins,
      query: config.query,
      variables: config.variables,
      headers: config.headers,
      defaultEditorToolsVisibility: true,
      isHeadersEditorEnabled: true,
      // Keys typed into the headers editor stay in this tab, never in localStorage.
      shouldPersistHeaders: false,
      inputValueDeprecation: true,
    })
  );
})();
