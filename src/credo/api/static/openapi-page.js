// Renders /v1/openapi.json as a plain reference page (served by Credo itself: no CDN).
"use strict";
(function () {
  const main = document.getElementById("ops");
  const nav = document.getElementById("tags");
  function el(tag, attrs, children) {
    const node = document.createElement(tag);
    Object.entries(attrs || {}).forEach(([k, v]) => node.setAttribute(k, v));
    (children || []).forEach((c) => node.append(c));
    return node;
  }
  function schemaText(spec, schema) {
    if (!schema) return "";
    if (schema.$ref) {
      const name = schema.$ref.split("/").pop();
      return JSON.stringify(spec.components.schemas[name], null, 2);
    }
    return JSON.stringify(schema, null, 2);
  }
  function render(spec) {
    main.textContent = "";
    const byTag = {};
    Object.entries(spec.paths).forEach(([path, methods]) => {
      Object.entries(methods).forEach(([method, op]) => {
        const tag = (op.tags || ["other"])[0];
        (byTag[tag] = byTag[tag] || []).push([path, method, op]);
      });
    });
    Object.entries(byTag).forEach(([tag, ops]) => {
      const id = "tag-" + tag.replace(/\W+/g, "-");
      nav.append(el("a", { href: "#" + id }, [tag]));
      main.append(el("h2", { id: id }, [tag]));
      ops.forEach(([path, method, op]) => {
        const roles = el("p", { class: "roles" }, ["Roles: "]);
        (op["x-credo-roles"] || []).forEach((r) => roles.append(el("span", {}, [r])));
        const section = el("section", { class: "op" }, [
          el("div", {}, [el("span", { class: "method " + method }, [method.toUpperCase()]), el("span", { class: "path" }, [path])]),
          el("p", {}, [op.summary || ""]),
          roles,
        ]);
        if ((op.parameters || []).length) {
          const table = el("table", {}, [el("tr", {}, [el("th", {}, ["parameter"]), el("th", {}, ["in"]), el("th", {}, ["description"])])]);
          op.parameters.forEach((p) => table.append(el("tr", {}, [
            el("td", {}, [el("code", {}, [p.name + (p.required ? "" : "?")])]), el("td", {}, [p.in]), el("td", {}, [p.description || ""]),
          ])));
          section.append(table);
        }
        if (op.requestBody) {
          Object.entries(op.requestBody.content).forEach(([media, body]) => {
            section.append(el("p", {}, ["Body (" + media + "):"]), el("pre", {}, [schemaText(spec, body.schema)]));
          });
        }
        main.append(section);
      });
    });
  }
  fetch("/v1/openapi.json").then((r) => r.json()).then(render).catch((e) => { main.textContent = "Cannot load the OpenAPI document: " + e; });
})();
