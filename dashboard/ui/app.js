// Guan dashboard: reads the read-only API and renders tables. All data is
// inserted as text nodes, never as HTML, so object names cannot inject markup.
(function () {
  "use strict";

  // The API lives next to /dashboard/ under the same base path.
  var base = location.pathname.replace(/\/dashboard(\/.*)?$/, "");
  var api = base + "/api";
  var REFRESH_MS = 5000;

  var views = {
    "overview": { title: "Overview", render: renderOverview },
    "http-routers": { title: "HTTP Routers", path: "/http/routers", render: renderRouters },
    "http-services": { title: "HTTP Services", path: "/http/services", render: renderServices },
    "http-middlewares": { title: "HTTP Middlewares", path: "/http/middlewares", render: renderMiddlewares },
    "tcp-routers": { title: "TCP Routers", path: "/tcp/routers", render: renderTCPRouters },
    "tcp-services": { title: "TCP Services", path: "/tcp/services", render: renderTCPServices },
    "tcp-middlewares": { title: "TCP Middlewares", path: "/tcp/middlewares", render: renderMiddlewares },
    "mqtt-routers": { title: "MQTT Routers", path: "/mqtt/routers", render: renderMQTTRouters },
    "mqtt-services": { title: "MQTT Services", path: "/mqtt/services", render: renderMQTTServices },
    "entrypoints": { title: "Entrypoints", path: "/entrypoints", render: renderEntryPoints }
  };

  var $ = function (id) { return document.getElementById(id); };
  var content = $("content"), search = $("search"), statusFilter = $("status-filter");
  var timer = null, generation = 0;

  // el builds an element; children are nodes or strings (added as text).
  function el(tag, attrs, children) {
    var e = document.createElement(tag);
    if (attrs) {
      Object.keys(attrs).forEach(function (k) {
        if (k === "class") e.className = attrs[k];
        else e.setAttribute(k, attrs[k]);
      });
    }
    (children || []).forEach(function (c) {
      if (c === null || c === undefined) return;
      e.appendChild(typeof c === "string" || typeof c === "number" ? document.createTextNode(String(c)) : c);
    });
    return e;
  }

  function badge(status) {
    var s = (status || "unknown").toLowerCase();
    return el("span", { class: "badge " + s }, [s]);
  }

  function chips(list) {
    return el("span", null, (list || []).map(function (x) { return el("span", { class: "chip" }, [x]); }));
  }

  function statusCell(item) {
    var cell = [badge(item.status)];
    if (item.error && item.error.length) {
      cell.push(el("ul", { class: "errors" }, item.error.map(function (m) { return el("li", null, [m]); })));
    }
    return el("td", null, cell);
  }

  function nameCell(item) {
    return el("td", null, [el("div", { class: "mono" }, [item.name]), el("div", { class: "provider" }, [item.provider || ""])]);
  }

  function table(headers, rows) {
    if (!rows.length) {
      return el("div", { class: "panel" }, [el("div", { class: "empty" }, ["Nothing to show."])]);
    }
    return el("div", { class: "panel" }, [
      el("table", null, [
        el("thead", null, [el("tr", null, headers.map(function (h) { return el("th", null, [h]); }))]),
        el("tbody", null, rows)
      ])
    ]);
  }

  // fetchAll follows X-Next-Page until the last page.
  function fetchAll(path) {
    var params = new URLSearchParams({ per_page: "500" });
    if (search.value) params.set("search", search.value);
    if (statusFilter.value) params.set("status", statusFilter.value);
    var items = [];
    function page(n) {
      params.set("page", String(n));
      return getJSON(path + "?" + params.toString()).then(function (r) {
        items = items.concat(r.body || []);
        var next = parseInt(r.headers.get("X-Next-Page") || "1", 10);
        return next > n ? page(next) : items;
      });
    }
    return page(1);
  }

  function getJSON(path) {
    return fetch(api + path, { headers: { Accept: "application/json" }, cache: "no-store" }).then(function (resp) {
      return resp.json().catch(function () { return null; }).then(function (body) {
        if (!resp.ok) throw new Error((body && body.message) || resp.status + " " + resp.statusText);
        return { body: body, headers: resp.headers };
      });
    });
  }

  function renderRouters(items) {
    return table(["Name", "Rule", "Entrypoints", "Service", "Middlewares", "Priority", "Status"], items.map(function (r) {
      return el("tr", null, [
        nameCell(r),
        el("td", null, [el("code", null, [r.rule || ""])]),
        el("td", null, [chips(r.using || r.entryPoints)]),
        el("td", { class: "mono" }, [r.service || ""]),
        el("td", null, [chips(r.middlewares)]),
        el("td", null, [r.priority ? String(r.priority) : ""]),
        statusCell(r)
      ]);
    }));
  }

  function serverList(urls, live) {
    return el("div", null, urls.map(function (u) {
      var state = live && live[u];
      return el("div", { class: "server" }, [
        state ? el("span", { class: "badge " + state.toLowerCase() }, [state]) : null,
        el("code", null, [u])
      ]);
    }));
  }

  function serviceDetail(s) {
    if (s.loadBalancer) {
      return serverList((s.loadBalancer.servers || []).map(function (x) { return x.url || x.address; }), s.serverStatus);
    }
    if (s.weighted || s.highestRandomWeight) {
      return chips(((s.weighted || s.highestRandomWeight).services || []).map(function (x) { return x.name + (x.weight !== undefined ? " ×" + x.weight : ""); }));
    }
    if (s.mirroring) {
      return el("div", null, [
        el("span", { class: "chip" }, ["main: " + s.mirroring.service]),
        chips((s.mirroring.mirrors || []).map(function (m) { return m.name + " " + (m.percent || 0) + "%"; }))
      ]);
    }
    if (s.failover) {
      return chips(["main: " + s.failover.service, "fallback: " + s.failover.fallback]);
    }
    return el("span", null, []);
  }

  function renderServices(items) {
    return table(["Name", "Type", "Servers / children", "Used by", "Status"], items.map(function (s) {
      return el("tr", null, [
        nameCell(s), el("td", null, [s.type || ""]), el("td", null, [serviceDetail(s)]),
        el("td", null, [chips(s.usedBy)]), statusCell(s)
      ]);
    }));
  }

  function renderMiddlewares(items) {
    return table(["Name", "Type", "Used by", "Status"], items.map(function (m) {
      return el("tr", null, [nameCell(m), el("td", null, [m.type || ""]), el("td", null, [chips(m.usedBy)]), statusCell(m)]);
    }));
  }

  function renderTCPRouters(items) {
    return table(["Name", "Rule", "Entrypoints", "Service", "TLS", "Status"], items.map(function (r) {
      var tls = r.tls ? (r.tls.passthrough ? "passthrough" : "terminate") : "";
      return el("tr", null, [
        nameCell(r), el("td", null, [el("code", null, [r.rule || ""])]),
        el("td", null, [chips(r.using || r.entryPoints)]), el("td", { class: "mono" }, [r.service || ""]),
        el("td", null, [tls]), statusCell(r)
      ]);
    }));
  }

  function renderTCPServices(items) {
    return table(["Name", "Type", "Servers / children", "Used by", "Status"], items.map(function (s) {
      return el("tr", null, [
        nameCell(s), el("td", null, [s.type || ""]), el("td", null, [serviceDetail(s)]),
        el("td", null, [chips(s.usedBy)]), statusCell(s)
      ]);
    }));
  }

  function renderMQTTRouters(items) {
    return table(["Name", "Rule", "Entrypoints", "Service", "Middlewares", "Connections", "Status"], items.map(function (r) {
      return el("tr", null, [
        nameCell(r), el("td", null, [el("code", null, [r.rule || ""])]),
        el("td", null, [chips(r.entryPoints && r.entryPoints.length ? r.entryPoints : ["WebSocket only"])]),
        el("td", { class: "mono" }, [r.service || ""]), el("td", null, [chips(r.middlewares)]),
        el("td", null, [String(r.connections || 0)]), statusCell(r)
      ]);
    }));
  }

  function renderMQTTServices(items) {
    return table(["Name", "Affinity", "Brokers", "Connections", "Used by"], items.map(function (s) {
      var brokers = el("div", null, (s.servers || []).map(function (b) {
        return el("div", { class: "server" }, [
          el("span", { class: "mono" }, [b.address]), " ",
          el("span", { class: "badge " + (b.status === "down" ? "disabled" : "enabled") }, [b.status || "up"]), " ",
          el("span", null, [(b.connections || 0) + " connected"])
        ]);
      }));
      return el("tr", null, [
        nameCell(s), el("td", null, [s.affinity || ""]), el("td", null, [brokers]),
        el("td", null, [String(s.connections || 0)]), el("td", null, [chips(s.usedBy)])
      ]);
    }));
  }

  // What an entrypoint listens for: TCP always, and on the same port over
  // UDP, HTTP/3 or MQTT over QUIC when configured.
  function protocols(e) {
    var p = ["TCP"];
    if (e.http3) p.push("HTTP/3 (UDP)");
    if (e.mqtt && e.mqtt.quic) p.push("MQTT over QUIC (UDP)");
    return p;
  }

  function renderEntryPoints(items) {
    return table(["Name", "Address", "Protocols"], items.map(function (e) {
      return el("tr", null, [el("td", { class: "mono" }, [e.name]), el("td", { class: "mono" }, [e.address]),
        el("td", null, [chips(protocols(e))])]);
    }));
  }

  function card(label, sec, view) {
    sec = sec || { total: 0, warnings: 0, errors: 0 };
    var ok = sec.total - sec.warnings - sec.errors;
    return el("div", { class: "card" }, [el("a", { href: "#" + view }, [
      el("div", { class: "label" }, [label]),
      el("div", { class: "total" }, [String(sec.total)]),
      el("div", { class: "counts" }, [
        el("span", { class: "ok" }, [ok + " ok"]),
        el("span", { class: "warn" }, [sec.warnings + " warnings"]),
        el("span", { class: "err" }, [sec.errors + " errors"])
      ])
    ])]);
  }

  function renderOverview(o, eps) {
    var http = o.http || {}, tcp = o.tcp || {};
    var f = o.features || {};
    return el("div", null, [
      el("div", { class: "cards" }, [
        card("HTTP routers", http.routers, "http-routers"),
        card("HTTP services", http.services, "http-services"),
        card("HTTP middlewares", http.middlewares, "http-middlewares"),
        card("TCP routers", tcp.routers, "tcp-routers"),
        card("TCP services", tcp.services, "tcp-services"),
        card("TCP middlewares", tcp.middlewares, "tcp-middlewares")
      ]),
      el("h2", null, ["Entrypoints"]),
      renderEntryPoints(eps),
      el("h2", null, ["Features and providers"]),
      table(["Feature", "State"], [
        el("tr", null, [el("td", null, ["Metrics"]), el("td", null, [f.metrics || "off"])]),
        el("tr", null, [el("td", null, ["Access log"]), el("td", null, [f.accessLog ? "on" : "off"])]),
        el("tr", null, [el("td", null, ["Tracing"]), el("td", null, [f.tracing || "off"])]),
        el("tr", null, [el("td", null, ["Providers"]), el("td", null, [chips(o.providers)])])
      ])
    ]);
  }

  function currentView() {
    var name = location.hash.replace(/^#/, "");
    return views[name] ? name : "overview";
  }

  function load() {
    var name = currentView(), view = views[name], gen = ++generation;
    $("title").textContent = view.title;
    document.title = view.title + " · Guan";
    Array.prototype.forEach.call(document.querySelectorAll("#tabs a"), function (a) {
      a.classList.toggle("active", a.getAttribute("data-view") === name);
    });
    var listView = name !== "overview";
    search.disabled = statusFilter.disabled = !listView;
    statusFilter.hidden = !listView || name === "entrypoints";

    var work = listView
      ? fetchAll(view.path).then(function (items) { return view.render(items); })
      : Promise.all([getJSON("/overview"), fetchAll("/entrypoints")]).then(function (r) { return view.render(r[0].body, r[1]); });
    work.then(function (node) {
      if (gen !== generation) return; // a newer load replaced this one
      content.replaceChildren(node);
      $("error").hidden = true;
      $("updated").textContent = "Updated " + new Date().toLocaleTimeString();
    }).catch(function (err) {
      if (gen !== generation) return;
      $("error").textContent = "Could not load " + view.title.toLowerCase() + ": " + err.message;
      $("error").hidden = false;
    }).then(schedule, schedule);
  }

  function schedule() {
    clearTimeout(timer);
    if ($("auto-refresh").checked) timer = setTimeout(load, REFRESH_MS);
  }

  var debounce = null;
  search.addEventListener("input", function () {
    clearTimeout(debounce);
    debounce = setTimeout(load, 250);
  });
  statusFilter.addEventListener("change", load);
  $("auto-refresh").addEventListener("change", function () { if (this.checked) load(); else clearTimeout(timer); });
  window.addEventListener("hashchange", function () { search.value = ""; statusFilter.value = ""; load(); });

  getJSON("/version").then(function (r) {
    if (r.body && r.body.Version) $("version").textContent = r.body.Version + (r.body.Codename ? " · " + r.body.Codename : "");
  }).catch(function () {});
  load();
})();
