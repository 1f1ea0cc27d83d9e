// The API reference page: Swagger UI on the app's own OpenAPI document (its address is in data-document).
(function () {
  "use strict";
  var root = document.getElementById("swagger-ui");
  window.SwaggerUIBundle({
    url: root.dataset.document,
    domNode: root,
    deepLinking: true,
    persistAuthorization: false
  });
})();
