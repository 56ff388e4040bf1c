// Amparo's GraphiQL: the endpoint is this server's /graphql; a token from
// `amparo token --data-dir DIR --user EMAIL` goes in the Headers tab.
(function () {
  var fetcher = GraphiQL.createFetcher({ url: "/graphql" });
  ReactDOM.createRoot(document.getElementById("graphiql")).render(
    React.createElement(GraphiQL, {
      fetcher: fetcher,
      defaultEditorToolbarOpen: true,
      defaultHeaders: '{\n  "Authorization": "Bearer <amparo token --user officer@pgn.demo>"\n}',
    })
  );
})();
